"""The old NuGet client (Debian's NuGet 2.8.7 on mono) against Galley under gunicorn.

It sends a sized multipart body to /api/v2/package (it cannot read /v3/index.json).
"""

import pytest
import time_machine

from packages.models import PackageRegistration, PackageVersion
from tests.client.conftest import stored_files
from tests.factories import make_key

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]


def source(server):
    return f"{server.url}/api/v2/package"


def test_push_with_a_push_key(nuget, galley_server, alice):
    package = nuget.pack("Contoso.Client", "1.2.0")
    _, secret = make_key(alice, scopes=["package:push"], glob_patterns=["Contoso.*"])
    result = nuget.run("push", str(package), "-ApiKey", secret, "-Source", source(galley_server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Your package was pushed." in result.stdout
    registration = PackageRegistration.objects.get(normalized_id="contoso.client")
    assert list(registration.owners.all()) == [alice]
    assert registration.versions.get().version == "1.2.0"
    assert (galley_server.packages_dir / "contoso.client/1.2.0.nupkg").read_bytes() == (
        nuget.home / package
    ).read_bytes()
    assert secret not in result.stdout + result.stderr


def test_an_id_outside_the_patterns_fails_with_galleys_reason(nuget, galley_server, alice):
    package = nuget.pack("Fabrikam.Client", "1.0.0")
    _, secret = make_key(alice, glob_patterns=["Contoso.*"])
    result = nuget.run("push", str(package), "-ApiKey", secret, "-Source", source(galley_server))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "'Fabrikam.Client' does not match any glob pattern or package of the API key." in output
    assert not PackageRegistration.objects.exists()
    assert stored_files(galley_server) == []


def test_delete_unlists_with_an_unlist_key(nuget, galley_server, alice):
    package = nuget.pack("Contoso.Client", "2.0.0")
    _, push_secret = make_key(alice)
    _, unlist_secret = make_key(alice, scopes=["package:unlist"])
    assert (
        nuget.run(
            "push", str(package), "-ApiKey", push_secret, "-Source", source(galley_server)
        ).returncode
        == 0
    )
    result = nuget.run(
        "delete",
        "Contoso.Client",
        "2.0.0",
        "-ApiKey",
        unlist_secret,
        "-Source",
        source(galley_server),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not PackageVersion.objects.get().listed


def test_a_push_key_cannot_delete(nuget, galley_server, alice):
    package = nuget.pack("Contoso.Client", "2.0.0")
    _, secret = make_key(alice)
    nuget.run("push", str(package), "-ApiKey", secret, "-Source", source(galley_server))
    result = nuget.run(
        "delete", "Contoso.Client", "2.0.0", "-ApiKey", secret, "-Source", source(galley_server)
    )
    assert result.returncode != 0
    assert "do not allow unlisting" in result.stdout + result.stderr
    assert PackageVersion.objects.get().listed


def test_an_expired_key_fails(nuget, galley_server, alice):
    package = nuget.pack("Contoso.Client", "1.0.0")
    with time_machine.travel("2025-01-01 00:00Z"):
        _, secret = make_key(alice, expires_in_days=1)
    result = nuget.run("push", str(package), "-ApiKey", secret, "-Source", source(galley_server))
    assert result.returncode != 0
    assert "The API key expired on Jan. 2, 2025." in result.stdout + result.stderr
    assert not PackageVersion.objects.exists()
    assert stored_files(galley_server) == []


def test_push_with_an_organization_key(nuget, galley_server, alice, bob):
    from accounts.models import Membership, User

    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=bob)
    package = nuget.pack("Contoso.Shared", "1.0.0")
    _, secret = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])
    result = nuget.run("push", str(package), "-ApiKey", secret, "-Source", source(galley_server))
    assert result.returncode == 0, result.stdout + result.stderr
    registration = PackageRegistration.objects.get(normalized_id="contoso.shared")
    assert list(registration.owners.all()) == [contoso]

    Membership.objects.filter(member=bob).delete()
    again = nuget.run(
        "push",
        str(nuget.pack("Contoso.Shared", "1.0.1")),
        "-ApiKey",
        secret,
        "-Source",
        source(galley_server),
    )
    assert again.returncode != 0
    assert "bob is no longer a member of Contoso." in again.stdout + again.stderr
