"""Tests for packages.nupkg: safe .nupkg reading, ids, versions and stream helpers.

No database is needed; error messages are built with Django's translation and
number-formatting functions, so they use the settings pytest-django configures.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from django.utils import translation

from packages.nupkg import (
    NuGetVersion,
    PackageError,
    PackageManifest,
    read_package,
    sha512_of,
    validate_package_id,
)

NS_2013_05 = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"


def nuspec(
    *,
    id: str | None = "Contoso.Core",
    version: str | None = "1.2.3",
    description: str = "Core utilities.",
    namespace: str | None = NS_2013_05,
) -> str:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    id_xml = f"<id>{id}</id>" if id is not None else ""
    version_xml = f"<version>{version}</version>" if version is not None else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<package{xmlns}><metadata>"
        f"{id_xml}{version_xml}"
        f"<authors>Contoso</authors><description>{description}</description>"
        "</metadata></package>"
    )


def make_zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def read(path: Path, **limits: int) -> PackageManifest:
    with path.open("rb") as fileobj:
        return read_package(fileobj, **limits)


@pytest.fixture
def package(tmp_path: Path):
    """Build a .nupkg from {name: content} and read it."""

    def build(entries: dict[str, bytes | str], **limits: int) -> PackageManifest:
        return read(make_zip(tmp_path / "test.nupkg", entries), **limits)

    return build


# ------------------------------------------------------------------ valid packages


def test_valid_package_with_namespaced_nuspec_round_trips_identity(package):
    manifest = package(
        {
            "Contoso.Core.nuspec": nuspec(
                id=" Contoso.Core ", version=" 1.2.3-Beta+build.5 ", description="Core utils."
            ),
            "lib/net8.0/Contoso.Core.dll": b"MZ" + b"\0" * 100,
            "[Content_Types].xml": "<Types/>",
        }
    )

    assert manifest.id == "Contoso.Core"
    assert manifest.version == NuGetVersion.parse("1.2.3-beta")
    assert manifest.version.normalized == "1.2.3-Beta"
    assert manifest.original_version == "1.2.3-Beta+build.5"
    assert manifest.description == "Core utils."
    assert manifest.authors == "Contoso"
    assert manifest.title == ""


@pytest.mark.parametrize(
    "namespace",
    [
        "http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd",
        "http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd",
        "http://schemas.microsoft.com/packaging/2012/06/nuspec.xsd",
        "http://schemas.microsoft.com/packaging/2013/01/nuspec.xsd",
        NS_2013_05,
        None,
    ],
)
def test_nuspec_is_read_in_every_known_namespace_and_none(package, namespace):
    manifest = package({"a.nuspec": nuspec(id="A", version="2.0", namespace=namespace)})

    assert (manifest.id, manifest.version.normalized) == ("A", "2.0.0")


def test_metadata_namespace_may_differ_from_package_namespace(package):
    # Older tools wrote <package> without a namespace and put it on <metadata>.
    xml = (
        "<package><metadata "
        'xmlns="http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd">'
        "<id>Old.Style</id><version>1.0</version><title>Old</title></metadata></package>"
    )

    manifest = package({"Old.Style.nuspec": xml})

    assert (manifest.id, manifest.title) == ("Old.Style", "Old")


def test_non_ascii_description_survives(package):
    manifest = package({"a.nuspec": nuspec(description="Caf\u00e9 \u2603")})

    assert manifest.description == "Caf\u00e9 \u2603"


def test_nuspec_extension_is_matched_case_insensitively(package):
    manifest = package({"Contoso.Core.NUSPEC": nuspec()})

    assert manifest.id == "Contoso.Core"


# --------------------------------------------------------------- archive problems


def test_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "not.nupkg"
    path.write_bytes(b"this is plain text, not a zip archive" * 10)

    with pytest.raises(PackageError, match="not a valid zip file"):
        read(path)


def test_zip_without_nuspec_is_refused(package):
    with pytest.raises(PackageError, match=r"exactly one \.nuspec file at its root; found 0"):
        package({"lib/a.dll": b"MZ"})


def test_zip_with_two_root_nuspecs_is_refused(package):
    with pytest.raises(PackageError, match=r"exactly one \.nuspec file at its root; found 2"):
        package({"a.nuspec": nuspec(), "b.nuspec": nuspec()})


def test_nuspec_only_in_a_subfolder_is_refused(package):
    with pytest.raises(PackageError, match=r"exactly one \.nuspec file at its root; found 0"):
        package({"content/a.nuspec": nuspec()})


def test_too_many_entries_are_refused(package):
    entries = {"a.nuspec": nuspec()} | {f"content/{i}.txt": "x" for i in range(5)}

    assert package(entries, max_entries=6).id == "Contoso.Core"
    with pytest.raises(PackageError, match="more than 5 entries"):
        package(entries, max_entries=5)


def test_total_declared_uncompressed_size_over_limit_is_refused(package):
    entries = {"a.nuspec": nuspec(), "content/a.bin": os.urandom(3000)}

    assert package(entries, max_uncompressed=10_000).id == "Contoso.Core"
    with pytest.raises(PackageError, match="expands to more than 3,000 bytes"):
        package(entries, max_uncompressed=3000)


def test_highly_compressed_entry_is_refused_as_zip_bomb_without_inflating_it(package):
    entries = {"a.nuspec": nuspec(), "content/zeros.bin": bytes(10_000_000)}
    opened = []
    real_open = zipfile.ZipFile.open

    def open_and_note(archive, name, mode="r", *args, **kwargs):
        if mode == "r":
            opened.append(getattr(name, "filename", name))
        return real_open(archive, name, mode, *args, **kwargs)

    with (
        mock.patch.object(zipfile.ZipFile, "open", open_and_note),
        pytest.raises(PackageError, match=r"'content/zeros\.bin' is compressed more than 100:1"),
    ):
        package(entries, max_ratio=100)
    # Refused from the sizes the archive declares: the bomb is never inflated.
    assert "content/zeros.bin" not in opened


@pytest.mark.parametrize(
    "name", ["../evil.txt", "lib/../../evil.txt", "/etc/evil", "..\\evil.txt", "C:/evil.txt"]
)
def test_entry_names_escaping_the_package_are_refused(package, name):
    with pytest.raises(PackageError, match="unsafe path"):
        package({"a.nuspec": nuspec(), name: "boom"})


@pytest.mark.parametrize(
    "name",
    [
        # NuGet clients percent-decode entry names before writing them (nuget pack escapes them).
        "%2e%2e/%2e%2e/evil.dll",
        "lib/..%5c..%5cevil.dll",
        "lib/%2E%2E%2Fevil.dll",
        "%2fetc/evil",
        "C%3a/evil.dll",
        "%252e%252e/evil.dll",  # escaped twice
        "lib/.. /evil.dll",  # Windows drops the trailing space
        "lib/%2e%2e%20/evil.dll",
        # Control characters, as sent or once decoded.
        "lib/evil\x01.dll",
        "lib/evil%00.dll",
        "lib/evil%0a.dll",
        "lib/evil%7f.dll",
        "lib/evil%c2%85.dll",  # NEL, a C1 control
    ],
)
def test_entry_names_that_escape_once_unescaped_are_refused(package, name):
    with pytest.raises(PackageError, match="unsafe path"):
        package({"a.nuspec": nuspec(), name: "boom"})


@pytest.mark.parametrize(
    "name",
    ["content/100%.txt", "content/50%off/readme.txt", "content/%zz.txt", "lib/net8.0/a%20b.dll"],
)
def test_a_percent_sign_that_hides_no_path_is_allowed(package, name):
    manifest = package({"a.nuspec": nuspec(), name: "fine"})
    assert manifest.id == "Contoso.Core"


def test_oversized_nuspec_is_refused(package):
    xml = nuspec(description="x" * 5000)

    with pytest.raises(PackageError, match=r"\.nuspec is larger than 1,000 bytes"):
        package({"a.nuspec": xml}, max_nuspec_bytes=1000)


def test_nuspec_whose_declared_size_lies_is_refused(tmp_path):
    xml = nuspec(description="x" * 5000).encode()
    path = make_zip(tmp_path / "liar.nupkg", {"a.nuspec": xml})
    # Shrink the declared size in the central directory only; the data stays big.
    raw = bytearray(path.read_bytes())
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(raw))

    with pytest.raises(PackageError, match="corrupt"):
        read(path, max_nuspec_bytes=1000)


# ------------------------------------------------------------------ XML problems


def test_nuspec_with_internal_entities_billion_laughs_is_refused(package):
    xml = (
        '<?xml version="1.0"?>\n'
        "<!DOCTYPE package [\n"
        ' <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
        ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
        "]>\n"
        "<package><metadata><id>A</id><version>1.0</version>"
        "<description>&lol3;</description></metadata></package>"
    )

    with pytest.raises(PackageError, match="contains a DTD or entity declaration"):
        package({"a.nuspec": xml})


def test_nuspec_with_external_entity_is_refused(package):
    xml = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        "<package><metadata><id>A</id><version>1.0</version>"
        "<description>&xxe;</description></metadata></package>"
    )

    with pytest.raises(PackageError, match="contains a DTD or entity declaration"):
        package({"a.nuspec": xml})


def test_malformed_nuspec_is_refused(package):
    with pytest.raises(PackageError, match="not well-formed XML"):
        package({"a.nuspec": "<package><metadata><id>A</id></package>"})


def test_nuspec_with_wrong_root_element_is_refused(package):
    with pytest.raises(PackageError, match="root element must be <package>"):
        package({"a.nuspec": "<metadata><id>A</id><version>1.0</version></metadata>"})


def test_nuspec_without_metadata_is_refused(package):
    with pytest.raises(PackageError, match="no <metadata> element"):
        package({"a.nuspec": "<package><files/></package>"})


def test_nuspec_without_id_is_refused(package):
    with pytest.raises(PackageError, match="metadata has no <id>"):
        package({"a.nuspec": nuspec(id=None)})


def test_nuspec_with_blank_id_is_refused(package):
    with pytest.raises(PackageError, match="metadata has no <id>"):
        package({"a.nuspec": nuspec(id="   ")})


def test_nuspec_without_version_is_refused(package):
    with pytest.raises(PackageError, match="metadata has no <version>"):
        package({"a.nuspec": nuspec(version=None)})


def test_id_in_a_foreign_namespace_is_not_taken_as_the_package_id(package):
    xml = (
        f'<package xmlns="{NS_2013_05}" xmlns:x="urn:other"><metadata>'
        "<x:id>Sneaky</x:id><version>1.0</version></metadata></package>"
    )

    with pytest.raises(PackageError, match="metadata has no <id>"):
        package({"a.nuspec": xml})


def test_invalid_id_in_nuspec_is_refused_with_the_value(package):
    with pytest.raises(PackageError, match=r"Package id 'a b' is not valid"):
        package({"a.nuspec": nuspec(id="a b")})


def test_invalid_version_in_nuspec_is_refused_with_the_value(package):
    with pytest.raises(PackageError, match=r"Version '1\.0\.x' is not a valid NuGet version"):
        package({"a.nuspec": nuspec(version="1.0.x")})


def test_long_invalid_values_are_truncated_in_the_reason(package):
    with pytest.raises(PackageError) as info:
        package({"a.nuspec": nuspec(id="a b" * 200)})

    assert len(info.value.reason) < 250
    assert info.value.reason == str(info.value)


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "must not be empty"),
        ("a b", "not valid"),
        ("a..b", "not valid"),
        (".a", "not valid"),
        ("a.", "not valid"),
        ("a-", "not valid"),
        ("a" * 101, "longer than 100 characters"),
        ("h\u00e9llo", "not valid"),
        ("abc\n", "not valid"),
    ],
)
def test_invalid_package_ids_are_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        validate_package_id(text)


@pytest.mark.parametrize("text", ["A", "Contoso.Core", "my-pkg_2.x", "a" * 100])
def test_valid_package_ids_are_returned_unchanged(text):
    assert validate_package_id(text) == text


# ---------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("1", "1.0.0"),
        ("1.0", "1.0.0"),
        ("1.0.0.0", "1.0.0"),
        ("1.0.0.5", "1.0.0.5"),
        ("1.2.3.4", "1.2.3.4"),
        ("01.002.03", "1.2.3"),
        ("1.0.0-Beta", "1.0.0-Beta"),
        ("1.0.0+build", "1.0.0"),
        ("1.0.0-beta.1+sha.abc", "1.0.0-beta.1"),
        ("1.0-rc-1", "1.0.0-rc-1"),
        ("2147483647.0", "2147483647.0.0"),
    ],
)
def test_versions_are_normalized_like_nuget(text, normalized):
    assert NuGetVersion.parse(text).normalized == normalized


@pytest.mark.parametrize(
    ("left", "right"),
    [("1.0", "1.0.0"), ("1.0.0", "1.0.0.0"), ("1.0.0-BETA", "1.0.0-beta"), ("1.0+a", "1.0+b")],
)
def test_equal_version_identities(left, right):
    a, b = NuGetVersion.parse(left), NuGetVersion.parse(right)

    assert a == b
    assert hash(a) == hash(b)
    assert a.identity_key == b.identity_key
    assert len({a, b}) == 1


@pytest.mark.parametrize(
    ("left", "right"), [("1.0.0", "1.0.0-beta"), ("1.0.0", "1.0.0.1"), ("1.0.0-a", "1.0.0-a.1")]
)
def test_different_version_identities(left, right):
    a, b = NuGetVersion.parse(left), NuGetVersion.parse(right)

    assert a != b
    assert a.identity_key != b.identity_key


def test_identity_key_is_lowercase_normalized():
    assert NuGetVersion.parse("01.0-BETA.2+Build").identity_key == "1.0.0-beta.2"


def test_versions_sort_by_nuget_precedence():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-BETA",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.0.1",
        "1.0.1",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = [NuGetVersion.parse(v) for v in reversed(ordered)]

    assert [v.normalized for v in sorted(shuffled)] == ordered
    assert NuGetVersion.parse("1.0.0-beta") <= NuGetVersion.parse("1.0.0-BETA")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "it is empty"),
        ("1.", "empty numeric part"),
        ("a.b.c", "only contain the digits"),
        ("1.0.x", "only contain the digits"),
        ("1.2.3.4.5", "more than 4 numeric parts"),
        ("-1.0", "must start with a number"),
        ("v1.0", "only contain the digits"),
        ("1.0.0-", "pre-release label is empty"),
        ("1.0.0-be ta", "whitespace"),
        (" 1.0.0", "whitespace"),
        ("1.0.0-beta..1", "pre-release label has an empty identifier"),
        ("1.0.0-beta_1", "may only contain ASCII letters"),
        ("1.0.0-beta.01", "leading zeros"),
        ("1.0.0+", "build metadata is empty"),
        ("99999999999.0", "must not exceed 2147483647"),
        ("2147483648", "must not exceed 2147483647"),
        ("\u0661.0", "only contain the digits"),
        ("1.0.0-" + "a" * 60, "longer than 64 characters"),
    ],
)
def test_invalid_versions_are_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        NuGetVersion.parse(text)


def test_build_metadata_may_have_leading_zeros():
    assert NuGetVersion.parse("1.0.0+001").metadata == "001"


def test_version_constructor_rejects_out_of_range_parts():
    with pytest.raises(ValueError, match="out of range"):
        NuGetVersion(-1)


# ----------------------------------------------------------------------- streams


def test_limits_in_messages_use_the_active_languages_thousands_separator():
    from tests.packages.builders import nupkg

    data = nupkg(extra={"content/blob.bin": os.urandom(2000)})
    with translation.override("fr"), pytest.raises(PackageError) as info:
        read_package(io.BytesIO(data), max_uncompressed=1500)

    assert "1\xa0500" in info.value.reason


def test_sha512_of_matches_hashlib_and_rewinds(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)  # spans several read chunks
    path = tmp_path / "blob.nupkg"
    path.write_bytes(data)
    expected = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")

    with path.open("rb") as fileobj:
        fileobj.seek(5)
        assert sha512_of(fileobj) == expected
        assert fileobj.tell() == 0
