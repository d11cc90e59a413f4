"""Issue 15: a newcomer's first steps — where the confirmation mail went, the
browser's language kept at sign-up, and readable reasons in the security log."""

import pytest
from django.urls import reverse

from accounts.models import User
from audit.events import Kind, record
from tests.conftest import sign_in
from tests.factories import UserFactory, make_key

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "dana",
    "email": "dana@example.com",
    "password1": "a-long-enough-passphrase",
    "password2": "a-long-enough-passphrase",
}


@pytest.mark.parametrize(
    "backend, words",
    [
        ("django.core.mail.backends.console.EmailBackend", "printed in the terminal"),
        ("django.core.mail.backends.filebased.EmailBackend", "written as a file in"),
    ],
)
def test_development_pages_say_where_the_confirmation_mail_went(
    client, settings, tmp_path, backend, words
):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = backend
    settings.EMAIL_FILE_PATH = str(tmp_path)
    client.post(reverse("account_signup"), SIGNUP)
    sign_in(client, User.objects.get(username="dana"), "a-long-enough-passphrase")
    page = client.get(reverse("apikeys")).content.decode()
    assert words in page
    # allauth's "verify your address" page says it too.
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from accounts.context_processors import galley

    request = RequestFactory().get("/")
    request.user = User.objects.get(username="dana")
    html = render_to_string("account/verification_sent.html", galley(request), request=request)
    assert words in html


def test_no_such_words_in_production_or_with_smtp(client, settings):
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    eve = UserFactory(username="eve", verified=False)
    sign_in(client, eve)
    assert b"data-mail-hint" not in client.get(reverse("apikeys")).content
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert b"data-mail-hint" not in client.get(reverse("apikeys")).content


def test_a_new_account_keeps_the_language_its_browser_asked_for(client, mailoutbox):
    client.post(reverse("account_signup"), SIGNUP, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    dana = User.objects.get(username="dana")
    assert dana.language == "fr"
    assert "Confirmez votre adresse e-mail" in mailoutbox[0].subject
    # and so are the key notices that follow, from any request.
    key, _ = make_key(dana, name="CI")
    from apikeys import notices

    notices.send(key, notices.CREATED)
    assert "créée" in mailoutbox[-1].subject


def test_an_english_browser_gives_an_english_account(client):
    client.post(reverse("account_signup"), SIGNUP, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert User.objects.get(username="dana").language == "en"


def test_the_security_log_shows_reasons_in_words(client, alice):
    key, _ = make_key(alice)
    record(Kind.PUBLISH_REFUSED, key=key, actor=alice, package_id="Contoso.Core", rule="scope_push")
    sign_in(client, alice)
    page = client.get(reverse("security_log")).content.decode()
    assert "The key&#x27;s scopes do not allow pushing" in page
    assert ">scope_push<" not in page
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    page = client.get(reverse("security_log")).content.decode()
    assert "Les étendues de la clé ne permettent pas l’envoi (push)" in page
