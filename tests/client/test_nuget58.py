"""The current NuGet client (nuget.exe 5.8 on mono) against Galley under gunicorn.

nuget.exe 5.8 streams a push as a chunked multipart body, finds the push and
symbol endpoints in /v3/index.json, and prints the reason phrase of a refusal
(not its body): what a user of a current client sees, in English and French.
"""

import os
import zipfile

import pytest
import time_machine

from packages.models import PackageRegistration, PackageVersion, SymbolPackage
from tests.client.conftest import stored_files
from tests.factories import make_key

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]


def index(server) -> str:
    return f"{server.url}/v3/index.json"


def push(nuget58, package, server, secret=None, *options, lang="en_US.UTF-8"):
    key = ["-ApiKey", secret] if secret is not None else []
    return nuget58.run("push", str(package), "-Source", index(server), *key, *options, lang=lang)


def delete(nuget58, package_id, version, server, secret, lang="en_US.UTF-8"):
    return nuget58.run(
        "delete", package_id, version, "-Source", index(server), "-ApiKey", secret, lang=lang
    )


def said(result) -> str:
    """What the client printed, on either stream."""
    return result.stdout + result.stderr


def explain(result, server) -> str:
    return f"exit {result.returncode}\n{said(result)}\n--- server log ---\n{server.log_tail()}"


@pytest.fixture(params=["make serve", "make run"])
def any_server(request):
    """Production settings (config/gunicorn.py) and `make run` (config/gunicorn_dev.py)."""
    name = "galley_server" if request.param == "make serve" else "galley_dev_server"
    return request.getfixturevalue(name)


def test_push_skip_duplicate_symbols_and_unlist(nuget58, any_server, alice):
    """The whole life of a SemVer 2.0.0 version through /v3/index.json, as a user runs it."""
    server = any_server
    package = nuget58.pack("Contoso.Lib", "2.0.0-beta.1+build.5", symbols=True)
    symbols = package.with_suffix(".snupkg")
    assert symbols.exists()
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])

    pushed = push(nuget58, package, server, secret)
    assert pushed.returncode == 0, explain(pushed, server)
    assert "Your package was pushed." in said(pushed), explain(pushed, server)
    # The client finds SymbolPackagePublish in the service index and pushes the
    # .snupkg beside the .nupkg; it says "Your package was pushed." for each.
    assert f"Pushing {symbols.name} to '" in said(pushed), explain(pushed, server)
    assert said(pushed).count("Your package was pushed.") == 2, explain(pushed, server)
    version = PackageVersion.objects.get(registration__normalized_id="contoso.lib")
    assert version.version == "2.0.0-beta.1"
    assert version.original_version == "2.0.0-beta.1+build.5"
    assert list(version.registration.owners.all()) == [alice]
    assert (server.packages_dir / version.file.name).read_bytes() == package.read_bytes()
    stored_symbols = SymbolPackage.objects.get(version=version)
    assert (server.packages_dir / stored_symbols.file.name).read_bytes() == symbols.read_bytes()

    again = push(nuget58, package, server, secret)
    assert again.returncode != 0, explain(again, server)
    assert "409" in said(again), explain(again, server)
    assert "Contoso.Lib 2.0.0-beta.1 already exists and cannot be modified." in said(again)

    skipped = push(nuget58, package, server, secret, "-SkipDuplicate")
    assert skipped.returncode == 0, explain(skipped, server)
    assert PackageVersion.objects.count() == 1

    unlisted = delete(nuget58, "Contoso.Lib", "2.0.0-beta.1+build.5", server, secret)
    assert unlisted.returncode == 0, explain(unlisted, server)
    # The client's own sentence, with the version as the user typed it.
    assert "Contoso.Lib 2.0.0-beta.1+build.5 was deleted successfully." in said(unlisted), explain(
        unlisted, server
    )
    version.refresh_from_db()
    assert not version.listed
    for result in (pushed, again, skipped, unlisted):
        assert secret not in said(result)


def test_push_without_symbols_stores_no_symbol_package(nuget58, galley_server, alice):
    package = nuget58.pack("Contoso.Lib", "1.0.0")
    _, secret = make_key(alice)
    result = push(nuget58, package, galley_server, secret)
    assert result.returncode == 0, explain(result, galley_server)
    assert "symbol" not in said(result).lower()
    assert not SymbolPackage.objects.exists()
    assert not [name for name in stored_files(galley_server) if name.endswith(".snupkg")]


@pytest.mark.parametrize(
    ("lang", "warning"),
    [
        (
            "en_US.UTF-8",
            "WARNING: Your API key 'Soon' expires in 5 days. Visit {url}/account/apikeys "
            "to regenerate it or create a new one.",
        ),
        # Plain ASCII in a header too: the French text with its accents folded.
        ("fr_FR.UTF-8", "expire dans 5 jours"),
    ],
)
def test_a_soon_expiring_key_warns_with_the_api_keys_page(
    nuget58, galley_server, alice, lang, warning
):
    package = nuget58.pack("Contoso.Lib", "1.0.0")
    _, secret = make_key(alice, name="Soon", expires_in_days=5)
    result = push(nuget58, package, galley_server, secret, lang=lang)
    assert result.returncode == 0, explain(result, galley_server)
    assert warning.format(url=galley_server.url) in said(result), explain(result, galley_server)
    assert f"{galley_server.url}/account/apikeys" in said(result)
    assert "?" not in said(result) and "\ufffd" not in said(result), said(result)
    assert secret not in said(result)
    assert PackageVersion.objects.get().version == "1.0.0"


# Each refusal: how the key is made, what the client runs, what it must print.


def _unknown_key(alice):
    key, secret = make_key(alice)
    key.delete()
    return secret


def _revoked_key(alice):
    with time_machine.travel("2025-03-04 12:00Z"):
        key, secret = make_key(alice)
        key.revoke(by=alice, source="holder")
    return secret


def _expired_key(alice):
    with time_machine.travel("2025-01-01 00:00Z"):
        _, secret = make_key(alice, expires_in_days=1)
    return secret


PUSH_REFUSALS = {
    "no key": (
        lambda alice: None,
        "401",
        "An API key is required: send it in the X-NuGet-ApiKey header.",
    ),
    "malformed key": (
        lambda alice: "gly_not-a-key",
        "403",
        "The API key is malformed: check that it was copied whole.",
    ),
    "unknown key": (
        _unknown_key,
        "403",
        "The API key is not valid: it was deleted or regenerated.",
    ),
    "revoked key": (_revoked_key, "403", "The API key was revoked on March 4, 2025."),
    "expired key": (_expired_key, "403", "The API key expired on Jan. 2, 2025."),
    "pattern mismatch": (
        lambda alice: make_key(alice, glob_patterns=["Fabrikam.*"])[1],
        "403",
        "The package id 'Contoso.Lib' does not match any glob pattern or package of the API key.",
    ),
    "unlist-only key": (
        lambda alice: make_key(alice, scopes=["package:unlist"])[1],
        "403",
        "The API key's scopes do not allow pushing packages.",
    ),
}


@pytest.mark.parametrize("case", PUSH_REFUSALS)
def test_a_refused_push_prints_galleys_reason(nuget58, galley_server, alice, case):
    make_secret, status, message = PUSH_REFUSALS[case]
    secret = make_secret(alice)
    package = nuget58.pack("Contoso.Lib", "1.0.0", symbols=True)
    result = push(nuget58, package, galley_server, secret)
    assert result.returncode != 0, explain(result, galley_server)
    assert status in said(result), explain(result, galley_server)
    assert message in said(result), explain(result, galley_server)
    assert secret is None or secret not in said(result)
    assert not PackageRegistration.objects.exists()
    assert stored_files(galley_server) == []


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en_US.UTF-8", "The API key expired on Jan. 2, 2025."),
        # The status line is plain ASCII (accents folded), so mono prints it whole.
        ("fr_FR.UTF-8", "La cle API a expire le 2 janvier 2025."),
    ],
)
def test_a_refusal_reads_cleanly_in_each_language(nuget58, galley_server, alice, lang, message):
    secret = _expired_key(alice)
    package = nuget58.pack("Contoso.Lib", "1.0.0")
    result = push(nuget58, package, galley_server, secret, lang=lang)
    assert result.returncode != 0, explain(result, galley_server)
    assert message in said(result), explain(result, galley_server)
    # No replacement characters anywhere: neither '?' nor U+FFFD.
    assert "?" not in said(result) and "\ufffd" not in said(result), said(result)
    assert secret not in said(result)
    assert not PackageRegistration.objects.exists()


def test_a_push_key_cannot_unlist(nuget58, galley_server, alice):
    package = nuget58.pack("Contoso.Lib", "1.0.0")
    _, secret = make_key(alice)
    assert push(nuget58, package, galley_server, secret).returncode == 0
    result = delete(nuget58, "Contoso.Lib", "1.0.0", galley_server, secret)
    assert result.returncode != 0, explain(result, galley_server)
    assert "403" in said(result), explain(result, galley_server)
    assert "The API key's scopes do not allow unlisting or relisting packages." in said(result)
    assert secret not in said(result)
    assert PackageVersion.objects.get().listed


def test_an_organization_key_cannot_push_a_package_it_does_not_own(
    nuget58, galley_server, alice, bob
):
    from accounts.models import Membership, User

    alices = nuget58.pack("Contoso.Lib", "1.0.0")
    _, alice_secret = make_key(alice)
    assert push(nuget58, alices, galley_server, alice_secret).returncode == 0
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=bob)
    _, secret = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])

    result = push(nuget58, nuget58.pack("Contoso.Lib", "1.0.1"), galley_server, secret)
    assert result.returncode != 0, explain(result, galley_server)
    assert "403" in said(result), explain(result, galley_server)
    assert "'Contoso' does not own the package 'Contoso.Lib'." in said(result)
    assert secret not in said(result)
    assert list(PackageVersion.objects.values_list("version", flat=True)) == ["1.0.0"]
    assert not [name for name in stored_files(galley_server) if "1.0.1" in name]


def test_a_package_over_the_size_limit_is_refused(nuget58, start_galley, alice):
    server = start_galley(GALLEY_MAX_PACKAGE_SIZE=str(1024 * 1024))
    package = nuget58.pack("Contoso.Lib", "1.0.0")
    # Random bytes do not compress: the package grows past 1 MiB.
    with zipfile.ZipFile(package, "a") as archive:
        archive.writestr("content/noise.bin", os.urandom(2 * 1024 * 1024))
    _, secret = make_key(alice)
    result = push(nuget58, package, server, secret)
    assert result.returncode != 0, explain(result, server)
    assert "413" in said(result), explain(result, server)
    assert "The package is larger than 1 MB." in said(result)
    assert secret not in said(result)
    assert not PackageRegistration.objects.exists()
    assert stored_files(server) == []


def test_an_unlisted_version_can_be_pushed_to_no_more(nuget58, galley_server, alice):
    """Unlisting keeps the version: pushing it again is still a duplicate."""
    package = nuget58.pack("Contoso.Lib", "1.0.0")
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    assert push(nuget58, package, galley_server, secret).returncode == 0
    assert delete(nuget58, "Contoso.Lib", "1.0.0", galley_server, secret).returncode == 0
    result = push(nuget58, package, galley_server, secret)
    assert result.returncode != 0, explain(result, galley_server)
    assert "already exists and cannot be modified." in said(result), explain(result, galley_server)
    assert not PackageVersion.objects.get().listed
