"""The French catalogue is complete, compiled and used everywhere."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, User
from tests.conftest import required
from tests.factories import PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import push

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def entries(catalogue):
    result = set()
    for entry in catalogue:
        if entry.obsolete or not entry.msgid:
            continue
        strings = tuple(sorted(entry.msgstr_plural.items())) if entry.msgid_plural else entry.msgstr
        result.add((entry.msgctxt, entry.msgid, entry.msgid_plural, strings))
    return result


def test_every_french_entry_is_translated_and_not_fuzzy():
    po = polib.pofile(str(PO))
    assert len(po) > 300
    untranslated = [e.msgid for e in po if not e.obsolete and not e.translated()]
    fuzzy = [e.msgid for e in po if "fuzzy" in e.flags]
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy
    for entry in po:
        strings = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        assert all(s.strip() for s in strings), entry.msgid


def test_the_compiled_catalogue_matches_the_source():
    assert entries(polib.mofile(str(MO))) == entries(polib.pofile(str(PO))), "run `make messages`"


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    """Extract the messages afresh: a new string without a French entry fails here."""
    if shutil.which("xgettext") is None:
        if required("gettext"):
            pytest.fail("gettext is missing (CI installs it)")
        pytest.skip("gettext's xgettext is not installed")
    copy = tmp_path / "galley"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv",
            "node_modules",
            "var",
            ".git",
            "tests",
            "bench",
            "test-artifacts",
            "staticfiles",
            "*.pyc",
        ),
    )
    (copy / "locale" / "fr" / "LC_MESSAGES" / "django.po").unlink()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete"],
        cwd=copy,
        env={"DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    fresh = {
        (e.msgctxt, e.msgid)
        for e in polib.pofile(str(copy / "locale/fr/LC_MESSAGES/django.po"))
        if e.msgid
    }
    committed = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if e.msgid and not e.obsolete}
    assert not fresh - committed, (
        f"run `make messages` and translate: {sorted(fresh - committed)[:10]}"
    )


ENGLISH = [
    "API Keys",
    "Account Settings",
    "Manage Packages",
    "Organizations",
    "Sign Out",
    "Key Name",
    "Expires In",
    "Package Owner",
    "Select Scopes",
    "Glob Pattern",
    "Push new packages and package versions",
    "Regenerate",
    "Revoke",
    "Delete",
    "Last Used",
    "Never",
    "Expires in",
    "Two-Factor Authentication",
    "Delete Account",
    "Published Packages",
    "Unlisted Packages",
    "Latest Version",
    "Contact E-mail Address",
    "Pushed with Key",
    "Members",
    "Add a Member",
    "Security Log",
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/account",
        "/account/apikeys",
        "/account/Packages",
        "/account/Organizations/Contoso",
        "/account/security-log",
    ],
)
def test_pages_in_french_have_no_english_left(url):
    alice = UserFactory(username="alice")
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=UserFactory(username="bob"))
    PackageRegistrationFactory(package_id="Alice.Tools", owners=[alice])
    make_key(alice, name="ci")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    client.force_login(alice)
    content = client.get(url).content.decode()
    assert '<html lang="fr">' in content
    left = [
        text
        for text in ENGLISH
        if f">{text}<" in content or f">{text} " in content or f"{text}:" in content
    ]
    assert not left, left


@pytest.mark.django_db
def test_the_chosen_language_is_remembered_on_the_account():
    alice = UserFactory(username="alice")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    client.post(reverse("set_language"), {"language": "fr", "next": "/account"})
    alice.refresh_from_db()
    assert alice.language == "fr"
    other_device = Client(HTTP_ACCEPT_LANGUAGE="en")
    other_device.force_login(alice)
    assert "Paramètres du compte" in other_device.get("/account").content.decode()


@pytest.mark.django_db
def test_publish_refusals_follow_accept_language(package_dir):
    alice = UserFactory(username="alice")
    _, secret = make_key(alice, glob_patterns=["Fabrikam.*"])
    english = push(Client(), secret)
    french = push(Client(HTTP_ACCEPT_LANGUAGE="fr"), secret)
    assert english["X-Galley-Reason"] == french["X-Galley-Reason"] == "package_not_selected"
    assert english.content != french.content
    assert "Contoso.Core" in french.content.decode()
    french.reason_phrase.encode("latin-1")  # a status line must stay Latin-1


@pytest.mark.django_db
def test_emails_use_the_holders_language(mailoutbox):
    alice = UserFactory(username="alice", language="fr")
    key, _ = make_key(alice)
    from apikeys import flows

    flows.revoke_key(key, by=None, source="admin", reason="Fuite")
    assert "révoquée" in mailoutbox[0].subject.lower() or "révoqué" in mailoutbox[0].subject.lower()
