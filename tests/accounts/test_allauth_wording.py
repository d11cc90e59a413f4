"""allauth's pages in Galley's layout and words (issue 28).

Every allauth page Galley's settings reach, in English and French: it answers 200
with Galley's heading, account pages carry the breadcrumb and the way back to Account
Settings, the French text has no straight apostrophe, and none of the allauth wording
Galley replaced shows. Then the messages of the main paths: a wrong current password,
passwords that differ, an address already on the account, a wrong two-factor code,
and the flash messages after each change.
"""

import re
from html.parser import HTMLParser

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client

from tests.conftest import sign_in, totp_code
from tests.factories import PASSWORD, UserFactory, enable_totp

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "fr"]


class _VisibleText(HTMLParser):
    """The text a reader sees: no tags, no attributes, no scripts or styles."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.hidden -= 1

    def handle_data(self, data):
        # Collapse the markup's spaces only: a no-break space is part of the text.
        text = re.sub(r"[ \t\r\n]+", " ", data).strip(" ")
        if not self.hidden and text:
            self.parts.append(text)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " | ".join(parser.parts)


def main_text(response) -> str:
    html = response.content.decode()
    return visible_text(re.search(r"<main.*?</main>", html, re.S).group(0))


def heading(response) -> str:
    html = response.content.decode()
    return visible_text(re.search(r"<h1[^>]*>.*?</h1>", html, re.S).group(0))


def flash(response) -> str:
    html = response.content.decode()
    found = re.search(r'<div class="messages".*?</div>', html, re.S)
    return visible_text(found.group(0)) if found else ""


# allauth's own words that Galley replaced, in English and in allauth's French.
ALLAUTH_ONLY = {
    "en": [
        r"\bemail\b",
        r"\bSign Up\b",
        r"\bUsername\b",
        r"\bLogin\b",
        "Remember Me",
        "Successfully",
        "Password Reset",
        "Bad Token",
        "Confirm Access",
        "reauthenticate",
        "Alternative options",
        "Are you sure",
        "Authenticator secret",
        "Passwordless",
        "functionality requires JavaScript",
        "Verified",
        "Started At",
        "recovery codes available",
    ],
    "fr": [
        "Courriel",
        "Identifiant",
        "Confirmer l'accès",
        "Options alternatives",
        "Êtes-vous sûr",
        "Mauvais jeton",
        "Sans mot de passe",
        "Création de compte",
        "Commencé à",
        "réauthentifier",
        "fonctionnalité nécessite",
    ],
}


@pytest.fixture
def people(db):
    alice = UserFactory(username="alice")
    carol = UserFactory(username="carol", verified=False)
    bob = UserFactory(username="bob")
    enable_totp(bob)
    RecoveryCodes.activate(bob)
    return {"alice": alice, "bob": bob, "carol": carol}


def client_for(who: str, language: str, people) -> Client:
    """A browser in `language`: signed out, signed in as alice (no second factor),
    as bob (authenticator app and recovery codes), as dana (no password), or bob
    half-way through signing in (password given, code not yet)."""
    client = Client(headers={"accept-language": language})
    client.cookies["django_language"] = language
    if who == "alice":
        sign_in(client, people["alice"])
    elif who == "bob":
        client.force_login(people["bob"])
        client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    elif who == "dana":
        dana = UserFactory(username="dana")
        dana.set_unusable_password()
        dana.save()
        client.force_login(dana)
    elif who == "bob half-way":
        client.post("/accounts/login/", {"login": "bob", "password": PASSWORD})
    return client


def reset_link(people) -> str:
    alice = people["alice"]
    token = default_token_generator.make_token(alice)
    return f"/accounts/password/reset/key/{user_pk_to_url_str(alice)}-{token}/"


def confirm_link(people) -> str:
    address = EmailAddress.objects.get(user=people["carol"])
    return f"/accounts/confirm-email/{EmailConfirmationHMAC(address).key}/"


def webauthn_key(people) -> str:
    key = Authenticator.objects.create(
        user=people["bob"],
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "YubiKey on the office laptop", "credential": {}},
    )
    return str(key.pk)


# (who, path, English heading, French heading, an account page under the breadcrumb)
PAGES = [
    ("anonymous", "/accounts/login/", "Sign In", "Connexion", False),
    ("anonymous", "/accounts/signup/", "Register", "S’inscrire", False),
    ("anonymous", "/accounts/password/reset/", "Reset Your Password",
     "Réinitialiser votre mot de passe", False),
    ("anonymous", "/accounts/password/reset/done/", "Check Your Inbox",
     "Consultez votre boîte de réception", False),
    ("anonymous", reset_link, "Choose a New Password", "Choisir un nouveau mot de passe", False),
    ("anonymous", "/accounts/password/reset/key/1-not-a-token/", "Link Not Valid",
     "Lien non valide", False),
    ("anonymous", "/accounts/password/reset/key/done/", "Password Changed",
     "Mot de passe modifié", False),
    ("anonymous", "/accounts/inactive/", "Account Deactivated", "Compte désactivé", False),
    ("anonymous", "/accounts/confirm-email/", "Confirm Your E-mail Address",
     "Confirmez votre adresse e-mail", False),
    ("anonymous", confirm_link, "Confirm E-mail Address", "Confirmer l’adresse e-mail", False),
    ("anonymous", "/accounts/confirm-email/not-a-key/", "Confirm E-mail Address",
     "Confirmer l’adresse e-mail", False),
    ("bob half-way", "/accounts/2fa/authenticate/", "Two-Factor Authentication",
     "Authentification à deux facteurs", False),
    ("alice", "/accounts/email/", "E-mail Addresses", "Adresses e-mail", True),
    ("alice", "/accounts/password/change/", "Change Password", "Modifier le mot de passe", True),
    ("dana", "/accounts/password/set/", "Set Password", "Définir le mot de passe", True),
    ("alice", "/accounts/logout/", "Sign Out", "Se déconnecter", False),
    ("alice", "/accounts/reauthenticate/", "Confirm It Is You", "Confirmez votre identité", False),
    ("bob", "/accounts/2fa/reauthenticate/", "Confirm It Is You", "Confirmez votre identité",
     False),
    ("alice", "/accounts/2fa/", "Two-Factor Authentication", "Authentification à deux facteurs",
     True),
    ("bob", "/accounts/2fa/", "Two-Factor Authentication", "Authentification à deux facteurs",
     True),
    ("alice", "/accounts/2fa/totp/activate/", "Activate an Authenticator App",
     "Activer une application d’authentification", True),
    ("bob", "/accounts/2fa/totp/deactivate/", "Deactivate the Authenticator App",
     "Désactiver l’application d’authentification", True),
    ("bob", "/accounts/2fa/recovery-codes/", "Recovery Codes", "Codes de récupération", True),
    ("bob", "/accounts/2fa/recovery-codes/generate/", "Generate New Recovery Codes",
     "Générer de nouveaux codes de récupération", True),
    ("alice", "/accounts/2fa/webauthn/", "Security Keys and Passkeys",
     "Clés de sécurité et clés d’accès", True),
    ("alice", "/accounts/2fa/webauthn/add/", "Add a Security Key",
     "Ajouter une clé de sécurité", True),
    ("bob", lambda people: f"/accounts/2fa/webauthn/keys/{webauthn_key(people)}/edit/",
     "Rename the Security Key", "Renommer la clé de sécurité", True),
    ("bob", lambda people: f"/accounts/2fa/webauthn/keys/{webauthn_key(people)}/remove/",
     "Remove the Security Key", "Retirer la clé de sécurité", True),
    ("alice", "/accounts/sessions/", "Signed-In Sessions", "Sessions connectées", True),
]  # fmt: skip


def page_id(page) -> str:
    who, path = page[0], page[1]
    return f"{who}:{path if isinstance(path, str) else path.__name__}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("page", PAGES, ids=[page_id(p) for p in PAGES])
def test_each_allauth_page_in_galley_words(people, page, language):
    who, path, english, french, account_page = page
    client = client_for(who, language, people)
    url = path if isinstance(path, str) else path(people)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [] or "set-password" in response.redirect_chain[-1][0]
    assert heading(response) == (english if language == "en" else french)
    text = main_text(response)
    back = "Back to Account Settings" if language == "en" else "Retour aux paramètres du compte"
    if account_page:
        assert 'class="profile-breadcrumb"' in response.content.decode()
        assert f"← {back}" in text
    for words in ALLAUTH_ONLY[language]:
        assert not re.search(words, text), f"{words!r} on {url}: {text}"
    if language == "fr":
        whole = visible_text(response.content.decode())
        assert "'" not in whole, whole
        assert not re.search(r"[ \w][:;?!](\s|$)", whole), whole  # a no-break space before


def test_the_page_list_covers_every_allauth_page_galley_serves():
    """A new allauth page (a setting turned on) joins the list above, or is named here."""
    from django.urls import get_resolver

    served = set()

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern, prefix + str(pattern.pattern))
            elif prefix.startswith("accounts/"):
                served.add(pattern.name)

    walk(get_resolver())
    listed = {
        "account_login", "account_signup", "account_reset_password",
        "account_reset_password_done", "account_reset_password_from_key",
        "account_reset_password_from_key_done", "account_inactive",
        "account_email_verification_sent", "account_confirm_email", "mfa_authenticate",
        "account_email", "account_change_password", "account_set_password",
        "account_logout", "account_reauthenticate", "mfa_reauthenticate",
        "mfa_index", "mfa_activate_totp",
        "mfa_deactivate_totp", "mfa_view_recovery_codes", "mfa_generate_recovery_codes",
        "mfa_list_webauthn", "mfa_add_webauthn", "mfa_edit_webauthn", "mfa_remove_webauthn",
        "usersessions_list",
    }  # fmt: skip
    # No page of their own: a file download, a sign-in code Galley does not send, and
    # the endpoint the passkey button posts to. Confirming it is you with a security
    # key needs a key the browser really registered (tests/browser/test_admin_two_factor.py
    # registers one); its page is account/base_reauthenticate.html, as the two above.
    not_pages = {
        "mfa_reauthenticate_webauthn",
        "mfa_download_recovery_codes",
        "account_confirm_login_code",
        "mfa_login_webauthn",
    }
    assert served == listed | not_pages


WORDS = {
    "en": {
        "wrong current": "This is not your current password.",
        "mismatch": "The two passwords are not the same.",
        "duplicate": "This e-mail address is already on your account.",
        "wrong code": "This code is not correct.",
        "wrong sign-in": "The user name, e-mail address or password is not correct.",
        "changed": "Your password is changed.",
        "sent": "A confirmation e-mail is on its way to alice.work@example.com.",
        "signed in": "You are signed in as alice.",
        "signed out": "You have signed out.",
        "totp on": "Two-factor authentication is on",
        "taken": "Another account uses this e-mail address.",
    },
    "fr": {
        "wrong current": "Ce n’est pas votre mot de passe actuel.",
        "mismatch": "Les deux mots de passe ne sont pas identiques.",
        "duplicate": "Cette adresse e-mail est déjà sur votre compte.",
        "wrong code": "Ce code est incorrect.",
        "wrong sign-in": "Le nom d’utilisateur, l’adresse e-mail ou le mot de passe est incorrect.",
        "changed": "Votre mot de passe est modifié.",
        "sent": "Un e-mail de confirmation est en route vers alice.work@example.com.",
        "signed in": "Vous êtes connecté en tant que alice.",
        "signed out": "Vous êtes déconnecté.",
        "totp on": "L’authentification à deux facteurs est activée",
        "taken": "Un autre compte utilise cette adresse e-mail.",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wrong_current_password_and_passwords_that_differ(people, language):
    client = client_for("alice", language, people)
    wrong = client.post(
        "/accounts/password/change/",
        {"oldpassword": "not-my-password", "password1": "a-new-passphrase-1", "password2": "x"},
    )
    assert WORDS[language]["wrong current"] in main_text(wrong)
    assert WORDS[language]["mismatch"] in main_text(wrong)

    changed = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-passphrase-1",
            "password2": "a-new-passphrase-1",
        },
        follow=True,
    )
    assert WORDS[language]["changed"] in flash(changed)


@pytest.mark.parametrize("language", LANGUAGES)
def test_registration_refuses_passwords_that_differ(people, language):
    client = client_for("anonymous", language, people)
    response = client.post(
        "/accounts/signup/",
        {
            "username": "erin",
            "email": "erin@example.com",
            "password1": "a-long-enough-passphrase",
            "password2": "another-long-passphrase",
        },
    )
    assert WORDS[language]["mismatch"] in main_text(response)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_address_already_on_the_account_and_a_new_one(people, language):
    client = client_for("alice", language, people)
    again = client.post("/accounts/email/", {"action_add": "", "email": people["alice"].email})
    assert WORDS[language]["duplicate"] in main_text(again)
    added = client.post(
        "/accounts/email/", {"action_add": "", "email": "alice.work@example.com"}, follow=True
    )
    assert WORDS[language]["sent"] in flash(added)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wrong_sign_in_a_wrong_code_and_the_messages_around_them(people, language):
    client = client_for("anonymous", language, people)
    refused = client.post("/accounts/login/", {"login": "bob", "password": "wrong"})
    assert WORDS[language]["wrong sign-in"] in main_text(refused)

    client.post("/accounts/login/", {"login": "bob", "password": PASSWORD})
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert WORDS[language]["wrong code"] in main_text(wrong)

    alice = client_for("anonymous", language, people)
    welcomed = alice.post("/accounts/login/", {"login": "alice", "password": PASSWORD}, follow=True)
    assert WORDS[language]["signed in"] in flash(welcomed)
    out = alice.post("/accounts/logout/", follow=True)
    assert WORDS[language]["signed out"] in flash(out)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wrong_code_then_the_right_one_activates_the_app(people, language):
    client = client_for("alice", language, people)
    page = client.get("/accounts/2fa/totp/activate/")
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert WORDS[language]["wrong code"] in main_text(wrong)
    secret = page.context["form"].secret
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)}, follow=True)
    assert WORDS[language]["totp on"] in flash(done)
    assert "'" not in flash(done)


MAILS = {
    "en": [
        "Reset your password",
        "No account with this e-mail address",
        "Confirm your e-mail address",
    ],
    "fr": [
        "Réinitialisez votre mot de passe",
        "Aucun compte avec cette adresse e-mail",
        "Confirmez votre adresse e-mail",
    ],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_allauth_e_mails_in_galley_words(people, language, mailoutbox):
    """The e-mails allauth sends with Galley's settings: a password reset, a reset for an
    unknown address and the confirmation of a new one. (A registration with an address
    that has an account is refused on the page: confirming addresses is optional.)"""
    client = client_for("anonymous", language, people)
    client.post("/accounts/password/reset/", {"email": people["alice"].email})
    client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    passwords = {"password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase"}
    taken = client.post(
        "/accounts/signup/", {"username": "erin", "email": people["alice"].email, **passwords}
    )
    assert WORDS[language]["taken"] in main_text(taken)
    newcomer = client_for("anonymous", language, people)
    newcomer.post("/accounts/signup/", {"username": "frank", "email": "f@example.com", **passwords})

    assert [m.subject for m in mailoutbox] == [f"[Galley] {s}" for s in MAILS[language]]
    for mail in mailoutbox:
        assert mail.body.rstrip().endswith("— Galley"), mail.body
        if language == "en":
            words = re.sub(r"\S+://\S+", "", mail.subject + mail.body)  # not the links
            assert not re.search(r"\bemail\b", words, re.I), mail.body
        else:
            assert "'" not in mail.subject + mail.body, mail.body
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    assert "/accounts/confirm-email/" in mailoutbox[2].body


MORE_FLASHES = {
    "en": {
        "primary": "Your primary e-mail address is changed.",
        "removed": "alice@example.com is removed from your account.",
        "confirmed": "You have confirmed carol@example.com.",
        "codes": "New recovery codes are ready; the old ones no longer work.",
        "app off": "Your authenticator app is deactivated: signing in no longer asks for its code.",
        "sessions": "You have signed out of all your other sessions.",
    },
    "fr": {
        "primary": "Votre adresse e-mail principale est modifiée.",
        "removed": "alice@example.com est retirée de votre compte.",
        "confirmed": "Vous avez confirmé carol@example.com.",
        "codes": "Vos nouveaux codes de récupération sont prêts ; les anciens ne fonctionnent plus.",
        "app off": "Votre application d’authentification est désactivée : la connexion ne "
        "demande plus son code.",
        "sessions": "Vous êtes déconnecté de toutes vos autres sessions.",
    },
}


def nbsp(words: dict) -> dict:
    """French typography: a no-break space before ; and :."""
    return {k: re.sub(r" ([;:])", "\u00a0\\1", v) for k, v in words.items()}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_flash_messages_of_addresses_in_galley_words(people, language):
    words = {
        k: v.replace(" ;", "\u00a0;").replace(" :", "\u00a0:")
        for k, v in MORE_FLASHES[language].items()
    }
    client = client_for("alice", language, people)
    EmailAddress.objects.create(
        user=people["alice"], email="alice.work@example.com", verified=True, primary=False
    )
    primary = client.post(
        "/accounts/email/", {"action_primary": "", "email": "alice.work@example.com"}, follow=True
    )
    assert words["primary"] in flash(primary)
    removed = client.post(
        "/accounts/email/", {"action_remove": "", "email": "alice@example.com"}, follow=True
    )
    assert words["removed"] in flash(removed)

    carol = client_for("anonymous", language, people)
    confirmed = carol.post(confirm_link(people), follow=True)
    assert words["confirmed"] in flash(confirmed)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_flash_messages_of_two_factor_and_sessions_in_galley_words(people, language):
    words = {
        k: v.replace(" ;", "\u00a0;").replace(" :", "\u00a0:")
        for k, v in MORE_FLASHES[language].items()
    }
    client = client_for("bob", language, people)
    codes = client.post("/accounts/2fa/recovery-codes/generate/", follow=True)
    assert words["codes"] in flash(codes)
    off = client.post("/accounts/2fa/totp/deactivate/", follow=True)
    assert words["app off"] in flash(off)

    elsewhere = client_for("bob", language, people)
    ended = elsewhere.post("/accounts/sessions/", follow=True)
    assert words["sessions"] in flash(ended)
