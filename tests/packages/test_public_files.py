"""packages/public_files.py: the folder of links nginx sends public packages from.

A link exists for a version exactly when Galley itself would send that version to
anyone: made once a push commits, gone before a deletion commits, never for a
version cached from an upstream, never on a private feed.
"""

import os

import pytest
from django.core.management import call_command

from packages import lifecycle, public_files
from packages.models import PackageVersion
from tests.factories import make_key
from tests.helpers import manage, push, unlist
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db
LINK = "v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"


@pytest.fixture
def public(settings, fresh_feed, tmp_path):
    settings.GALLEY_PUBLIC_FILES = tmp_path / "public"
    return tmp_path / "public"


@pytest.fixture
def secret(alice):
    return make_key(alice, scopes=("package:push", "package:unlist"))[1]


def links(folder) -> dict[str, str]:
    """{address: target} for every entry under the folder."""
    found = {}
    for directory, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            target = os.readlink(path) if os.path.islink(path) else "(not a link)"
            found[os.path.relpath(path, folder)] = target
    return found


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_a_push_links_the_package_at_its_download_address(client, public, secret, fresh_feed):
    package = nupkg(version="1.0.0")
    assert push(client, secret, package).status_code == 201
    version = PackageVersion.objects.get()
    assert links(public) == {LINK: str(fresh_feed / version.file.name)}
    assert (public / LINK).read_bytes() == package
    # The same bytes at the same address as Galley's own answer.
    answer = client.get(f"/{LINK}")
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == package


def test_the_address_is_the_normalised_version_in_lower_case(client, public, secret):
    assert push(client, secret, nupkg("Contoso.Core", "1.0.0-Beta.1+Build.7")).status_code == 201
    address = "v3-flatcontainer/contoso.core/1.0.0-beta.1/contoso.core.1.0.0-beta.1.nupkg"
    assert list(links(public)) == [address]
    assert client.get(f"/{address}").status_code == 200


def test_an_unlisted_version_keeps_its_link_as_galley_keeps_serving_it(client, public, secret):
    assert push(client, secret).status_code == 201
    assert unlist(client, secret).status_code == 200
    assert not PackageVersion.objects.get().listed
    assert list(links(public)) == [LINK]
    assert client.get(f"/{LINK}").status_code == 200


def test_a_deletion_removes_the_link(client, public, secret, alice):
    assert push(client, secret).status_code == 201
    assert push(client, secret, nupkg(version="2.0.0")).status_code == 201
    version = PackageVersion.objects.get(normalized_version="1.0.0")
    assert lifecycle.delete_version(
        lifecycle.Actor(alice, lifecycle.Channel.ADMIN), version, "leak"
    )
    assert list(links(public)) == [LINK.replace("1.0.0", "2.0.0")]
    assert client.get(f"/{LINK}").status_code == 404


def test_the_link_goes_before_the_deletion_commits(client, public, secret, alice, monkeypatch):
    """Should the deletion fail after the link went, the version is only sent by Galley
    (the safe side): the link is never there once the row is gone."""
    assert push(client, secret).status_code == 201
    version = PackageVersion.objects.get()

    def broken(kind, *args, **kwargs):
        assert not (public / LINK).exists()  # gone before the deletion is recorded
        raise RuntimeError("the audit record failed")

    monkeypatch.setattr(lifecycle, "_record", broken)
    with pytest.raises(RuntimeError):
        lifecycle.delete_version(lifecycle.Actor(alice, lifecycle.Channel.ADMIN), version, "x")
    assert PackageVersion.objects.filter(pk=version.pk).exists()
    assert links(public) == {}
    assert client.get(f"/{LINK}").status_code == 200  # still Galley's to send


def test_a_push_that_fails_leaves_no_link(client, public, secret, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the audit record failed")

    monkeypatch.setattr(lifecycle, "_record", broken)
    with pytest.raises(RuntimeError):
        push(client, secret)
    assert not PackageVersion.objects.exists()
    assert links(public) == {}


def test_a_version_cached_from_an_upstream_gets_no_link(public, secret, client, capsys):
    """Galley checks the upstream rules and notes the use of such a version on every
    download (prune_upstream_cache): those downloads keep going through Galley."""
    assert push(client, secret).status_code == 201
    version = PackageVersion.objects.get()
    PackageVersion.objects.filter(pk=version.pk).update(upstream="https://upstream.test/index.json")
    (public / LINK).unlink()
    version.refresh_from_db()
    public_files.publish(version)
    assert links(public) == {}
    call_command("public_files")
    assert "Links made: 0." in capsys.readouterr().out
    assert links(public) == {}


def test_no_folder_on_a_private_feed(client, public, secret, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    assert push(client, secret).status_code == 201
    assert not public.exists()


def test_no_folder_when_unset(client, settings, secret, fresh_feed):
    settings.GALLEY_PUBLIC_FILES = None
    assert push(client, secret).status_code == 201
    assert PackageVersion.objects.exists()
    assert public_files.rebuild() == (0, 0, [])


def test_the_command_makes_the_folder_agree_with_the_rows(client, public, secret, capsys):
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        assert push(client, secret, nupkg(version=version)).status_code == 201
    one, two = (public / LINK), (public / LINK.replace("1.0.0", "2.0.0"))
    three = public / LINK.replace("1.0.0", "3.0.0")
    three.unlink()  # missing
    two.unlink()
    two.symlink_to(one.resolve())  # pointing at another version's file
    stray = public / "v3-flatcontainer/contoso.gone/1.0.0/contoso.gone.1.0.0.nupkg"
    stray.parent.mkdir(parents=True)
    stray.symlink_to(one.resolve())  # a version that is no more
    planted = public / "v3-flatcontainer/contoso.core/secret.txt"
    planted.write_text("not Galley's")  # anything nobody made
    (public / "v3-flatcontainer/empty/1.0.0").mkdir(parents=True)

    call_command("public_files")
    output = capsys.readouterr()
    assert "Links made: 2. Entries removed: 6." in output.out
    assert f"Left alone, not a link Galley made: {planted}" in output.err
    assert planted.read_text() == "not Galley's"  # never removed: Galley did not make it
    by_version = {v.normalized_version: v for v in PackageVersion.objects.all()}
    expected = {
        LINK.replace("1.0.0", number): str(public_files.package_storage().path(v.file.name))
        for number, v in by_version.items()
    }
    assert links(public) == {**expected, os.path.relpath(planted, public): "(not a link)"}
    assert not (public / "v3-flatcontainer/empty").exists()
    assert not (public / "v3-flatcontainer/contoso.gone").exists()
    call_command("public_files")
    assert "Links made: 0. Entries removed: 0." in capsys.readouterr().out
    planted.unlink()


def test_the_command_leaves_alone_what_is_not_below_the_feed_address(public, capsys, db):
    (public / "index.html").parent.mkdir(parents=True)
    (public / "index.html").write_text("the operator's")
    call_command("public_files")
    assert (public / "index.html").read_text() == "the operator's"


def test_the_command_says_when_the_folder_is_off(settings, capsys, db):
    settings.GALLEY_PUBLIC_FILES = None
    call_command("public_files")
    assert "GALLEY_PUBLIC_FILES is not set" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("lower_id", "lower_version"),
    [
        ("..", "1.0.0"),
        ("a/b", "1.0.0"),
        ("contoso", "../../etc"),
        (".hidden", "1.0.0"),
        ("", "1"),
        ("-x", "1.0.0"),
    ],
)
def test_an_address_is_never_outside_the_folder(lower_id, lower_version):
    with pytest.raises(ValueError, match="not a package id and version"):
        public_files.address(lower_id, lower_version)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GALLEY_FEED_READ": "authenticated"}, "on a private feed, unset it"),
        ({"GALLEY_PACKAGE_STORAGE": "s3://galley-packages"}, "unset it with S3 storage"),
        ({}, "must be an absolute path"),
    ],
)
def test_start_up_refuses_the_folder_where_it_cannot_be_right(env, message, tmp_path):
    folder = str(tmp_path / "public") if env else "relative/public"
    result = manage("check", DJANGO_DEBUG="1", GALLEY_PUBLIC_FILES=folder, **env)
    assert result.returncode != 0
    assert message in result.stderr
    if "GALLEY_FEED_READ" in env:
        assert f"delete {folder}." in result.stderr  # the folder nginx would go on sending


@pytest.mark.parametrize("inside", [True, False])
def test_start_up_refuses_a_folder_that_shares_galleys_data(inside, tmp_path):
    """rebuild() removes what it finds in the folder: never Galley's data."""
    data = tmp_path / "data"
    public = data / "public" if inside else tmp_path
    result = manage(
        "check", DJANGO_DEBUG="1", GALLEY_DATA_DIR=str(data), GALLEY_PUBLIC_FILES=str(public)
    )
    assert result.returncode != 0
    assert "GALLEY_PUBLIC_FILES must be a folder of its own" in result.stderr
    assert (
        manage("check", DJANGO_DEBUG="1", GALLEY_PUBLIC_FILES=str(tmp_path / "public")).returncode
        == 0
    )


def test_the_folder_is_off_with_s3_storage(public, settings):
    assert public_files.root() == public
    settings.STORAGES = {
        **settings.STORAGES,
        "packages": {
            "BACKEND": "packages.s3.SharedSessionS3Storage",
            "OPTIONS": {"bucket_name": "galley-packages"},
        },
    }
    assert public_files.root() is None


def test_a_link_that_cannot_be_made_leaves_the_push_done_and_says_so(
    client, public, secret, caplog
):
    # A folder where the link should be: the rename onto it fails.
    (public / LINK).mkdir(parents=True)
    (public / LINK / "x").write_text("")
    assert push(client, secret).status_code == 201
    version = PackageVersion.objects.get()
    assert f"no public link for {version}: its downloads go through Galley" in messages(caplog)
    assert (public / LINK).is_dir()
    assert not [name for name in os.listdir(public / LINK) if name.startswith(".link-")]
    assert not [n for n in os.listdir((public / LINK).parent) if n.startswith(".link-")]
    assert client.get(f"/{LINK}").status_code == 200


def test_a_link_that_cannot_be_removed_leaves_the_deletion_done_and_says_so(
    client, public, secret, alice, caplog
):
    assert push(client, secret).status_code == 201
    version = PackageVersion.objects.get()
    (public / LINK).unlink()
    (public / LINK).mkdir()  # unlink() fails on a folder
    assert lifecycle.delete_version(lifecycle.Actor(alice, lifecycle.Channel.ADMIN), version, "x")
    assert f"could not remove the public link of {version}" in messages(caplog)
    assert not PackageVersion.objects.exists()


def test_deleting_a_version_whose_link_is_gone_already_is_quiet(
    client, public, secret, alice, caplog
):
    assert push(client, secret).status_code == 201
    (public / LINK).unlink()
    version = PackageVersion.objects.get()
    assert lifecycle.delete_version(lifecycle.Actor(alice, lifecycle.Channel.ADMIN), version, "x")
    assert "public link" not in caplog.text


def test_the_command_skips_and_names_a_version_with_no_feed_address(public, alice, caplog):
    from tests.factories import PackageRegistrationFactory
    from tests.packages.builders import add_version

    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    add_version(registration, "1.0.0")
    PackageVersion.objects.update(normalized_version="../1.0.0")  # never written by a push
    call_command("public_files")
    assert "no public link for contoso.core ../1.0.0: not a feed address" in messages(caplog)
    assert links(public) == {}


def test_the_command_removes_a_linked_folder(client, public, secret, tmp_path, capsys):
    assert push(client, secret).status_code == 201
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (public / "v3-flatcontainer/contoso.other").symlink_to(elsewhere)
    call_command("public_files")
    assert "Links made: 0. Entries removed: 1." in capsys.readouterr().out
    assert list(links(public)) == [LINK]
    assert elsewhere.exists()


def test_a_push_that_fails_after_its_link_leaves_it_dangling(client, public, secret, monkeypatch):
    """The link is made in the push's transaction; a push failing after it removes its
    file, so nginx finds nothing there and asks Galley, which has no such version."""
    made = public_files.publish

    def then_broken(version):
        made(version)
        assert (public / LINK).is_symlink()
        raise RuntimeError("the commit failed")

    monkeypatch.setattr(public_files, "publish", then_broken)
    with pytest.raises(RuntimeError):
        push(client, secret)
    assert not PackageVersion.objects.exists()
    assert (public / LINK).is_symlink() and not (public / LINK).exists()  # dangling
    assert client.get(f"/{LINK}").status_code == 404
    monkeypatch.setattr(public_files, "publish", made)
    assert public_files.rebuild()[:2] == (0, 3)  # the link and its two folders
    assert links(public) == {}


def test_an_id_given_to_the_upstreams_loses_its_links(client, public, secret, settings, admin_user):
    """Galley answers the versions of an id with an upstream allowance through the
    upstream rules (blocked versions): nginx must not send them."""
    # Never asked here: a loopback port nothing listens on.
    settings.GALLEY_UPSTREAMS = [
        {
            "url": "http://127.0.0.1:9/v3/index.json",
            "username": None,
            "password": None,
            "header": None,
        }
    ]
    assert push(client, secret).status_code == 201
    assert list(links(public)) == [LINK]
    client.force_login(admin_user)
    added = client.post(
        "/admin/packages/upstreamallowance/add/",
        {"package_id": "Contoso.Core", "reason": "take versions from upstream"},
    )
    assert added.status_code == 302
    assert links(public) == {}
    client.logout()
    assert push(client, secret, nupkg(version="2.0.0")).status_code == 201
    assert links(public) == {}  # none for a new version either
    call_command("public_files")
    assert links(public) == {}


def test_the_command_keeps_a_link_made_since_it_read_the_rows(
    client, public, secret, monkeypatch, capsys
):
    """A push while the command runs: its link is not in the rows the command read, and
    stays if the rows read again say so; links the rows do not name go."""
    for version in ("1.0.0", "2.0.0"):
        assert push(client, secret, nupkg(version=version)).status_code == 201
    one, two = public / LINK, public / LINK.replace("1.0.0", "2.0.0")
    cached = public / "v3-flatcontainer/contoso.cached/1.0.0/contoso.cached.1.0.0.nupkg"
    misnamed = public / "v3-flatcontainer/contoso.core/1.0.0/other.1.0.0.nupkg"
    deeper = public / "v3-flatcontainer/contoso.core/1.0.0/x/contoso.core.1.0.0.nupkg"
    for path in (cached, misnamed, deeper):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(os.readlink(one))
    from tests.factories import PackageRegistrationFactory
    from tests.packages.builders import add_version

    upstream = add_version(PackageRegistrationFactory(package_id="Contoso.Cached"), "1.0.0")
    PackageVersion.objects.filter(pk=upstream.pk).update(
        upstream="http://127.0.0.1:9/v3/index.json",
        file=PackageVersion.objects.get(
            normalized_version="1.0.0", registration__normalized_id="contoso.core"
        ).file.name,
    )
    monkeypatch.setattr(public_files, "_wanted", lambda folder: {})  # read before the pushes
    call_command("public_files")
    assert "Links made: 0. Entries removed: 6." in capsys.readouterr().out  # 3 links, 3 folders
    assert sorted(links(public)) == sorted(os.path.relpath(path, public) for path in (one, two))


def test_the_command_makes_no_link_for_a_version_deleted_since_it_read_the_rows(
    client, public, secret, alice, monkeypatch, capsys
):
    assert push(client, secret).status_code == 201
    version = PackageVersion.objects.get()
    read_before = public_files._wanted(public)
    lifecycle.delete_version(lifecycle.Actor(alice, lifecycle.Channel.ADMIN), version, "x")
    monkeypatch.setattr(public_files, "_wanted", lambda folder: read_before)
    call_command("public_files")
    assert "Links made: 0." in capsys.readouterr().out
    assert links(public) == {}


def test_the_command_removes_every_empty_folder_past_one_that_is_not(public, db, capsys):
    tree = public / "v3-flatcontainer"
    for name in [f"a{n:02}" for n in range(10)] + ["keep"] + [f"z{n:02}" for n in range(10)]:
        (tree / name / "1.0.0").mkdir(parents=True)
    (tree / "keep" / "1.0.0" / "notes.txt").write_text("the operator's")
    call_command("public_files")
    assert sorted(os.listdir(tree)) == ["keep"]


def test_removing_an_ids_links_says_when_it_cannot(public, caplog, db):
    public_files.withdraw_id("contoso.core")  # nothing there: quiet
    assert messages(caplog) == []
    (public / "v3-flatcontainer").mkdir(parents=True)
    (public / "v3-flatcontainer/contoso.core").write_text("")  # not a folder
    public_files.withdraw_id("contoso.core")
    assert messages(caplog) == ["could not remove the public links of contoso.core"]
    with pytest.raises(ValueError, match="not a package id: '..'"):
        public_files._segment("..")
