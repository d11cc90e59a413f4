"""Every e-mail leaves the request (accounts/emails.py): rendered in the request, in the
recipient's language, queued once the action commits, sent by the worker, retried a
bounded number of times when the mail server fails; never undoing or blocking the action."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import emails
from apikeys.models import ApiKey
from tests.conftest import create_key_on_page, sign_in
from tests.helpers import KEY_RE, PRODUCTION, manage
from tests.mail_backends import FailingBackend

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def failing_mail(settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.FailingBackend"
    FailingBackend.failing, FailingBackend.attempts = True, 0
    yield FailingBackend
    FailingBackend.failing = True


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS


def run_worker():
    """One batch of the production worker: every task that is due, then it stops."""
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


def notice(user):
    emails.send(user, "apikeys/email/created", {"key": {"name": "CI"}, "holder": user})


# In the request: the action is done whatever the mail server does ------------------------


@pytest.mark.django_db
def test_a_key_is_created_and_shown_while_the_mail_server_fails(
    client, alice, failing_mail, caplog, mailoutbox
):
    sign_in(client, alice)
    response = create_key_on_page(client)
    assert response.status_code == 200
    secret = KEY_RE.search(response.content.decode()).group(0)
    assert ApiKey.objects.find(secret).holder == alice
    assert failing_mail.attempts == 1 and mailoutbox == []
    assert "could not send the e-mail apikeys/email/created" in caplog.text
    assert secret not in caplog.text


@pytest.mark.django_db
def test_a_mail_waits_for_the_commit_and_a_rollback_sends_nothing(alice, mailoutbox):
    with transaction.atomic():
        notice(alice)
        assert mailoutbox == []  # not before the action is committed
    assert len(mailoutbox) == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        notice(alice)
        raise RuntimeError("the action fails after asking for its mail")
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_allauths_own_mails_go_through_the_queue(client, alice, failing_mail, caplog):
    response = client.post(reverse("account_reset_password"), {"email": alice.email})
    assert response.status_code == 302
    assert failing_mail.attempts == 1
    assert "could not send the e-mail account/email/password_reset_key" in caplog.text


# The worker: sends later, retries with backoff, gives up -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_the_mail_after_the_server_comes_back(
    client, alice, failing_mail, database_tasks, caplog, mailoutbox
):
    alice.language = "fr"
    alice.save(update_fields=["language"])
    sign_in(client, alice)
    response = create_key_on_page(client)
    secret = KEY_RE.search(response.content.decode()).group(0)
    assert response.status_code == 200 and ApiKey.objects.find(secret) is not None
    # Nothing was sent in the request: the mail waits in the queue.
    assert failing_mail.attempts == 0
    assert DBTaskResult.objects.ready().count() == 1

    run_worker()  # the server is down: logged, tried again in a minute
    assert failing_mail.attempts == 1 and mailoutbox == []
    assert "could not send the e-mail apikeys/email/created" in caplog.text
    assert "(attempt 1, again in 1 min)" in caplog.text
    run_worker()  # not due yet
    assert failing_mail.attempts == 1

    failing_mail.failing = False
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        run_worker()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [alice.email]
    assert mailoutbox[0].subject.endswith("Clé API «\u00a0CI\u00a0» créée")  # her language
    assert secret not in mailoutbox[0].body
    assert DBTaskResult.objects.ready().count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_worker_gives_up_after_five_attempts(alice, failing_mail, database_tasks, caplog):
    notice(alice)
    now = timezone.now()
    for minutes in (0, *emails.RETRY_MINUTES):
        now += timedelta(minutes=minutes, seconds=1)
        with time_machine.travel(now):
            run_worker()
    assert failing_mail.attempts == 5
    assert "(attempt 5, given up)" in caplog.text
    with time_machine.travel(now + timedelta(days=1)):
        run_worker()
    assert failing_mail.attempts == 5
    assert DBTaskResult.objects.ready().count() == 0
    assert DBTaskResult.objects.filter(status="FAILED").count() == 5


# What the queue stores ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_queue_stores_no_readable_message(alice, database_tasks):
    emails.send(
        alice,
        "accounts/email/organization_contact_confirmation",
        {
            "organization": alice,
            "link": "https://galley.example/confirm/secret-token",
            "actor": alice,
            "expire_days": 3,
        },
    )
    stored = str(DBTaskResult.objects.get().args_kwargs)
    # Only the label is readable: the template and the user's id, for the log.
    assert "organization_contact_confirmation to user" in stored
    for readable in ("secret-token", alice.email, "alice", "galley.example"):
        assert readable not in stored


def test_a_sealed_mail_opens_after_the_secret_key_is_rotated(settings):
    message = emails.EmailMultiAlternatives(subject="Hello", body="Body", to=["a@example.com"])
    message.attach_alternative("<p>Body</p>", "text/html")
    sealed = emails.seal(message)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    opened = emails.unseal(sealed)
    assert (opened.subject, opened.body, opened.to) == ("Hello", "Body", ["a@example.com"])
    assert list(opened.alternatives[0]) == ["<p>Body</p>", "text/html"]
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ValueError, match="sealed under another secret key"):
        emails.unseal(sealed)


# Which backend -----------------------------------------------------------------------------

SHOW_BACKEND = "from django.conf import settings; print(settings.TASKS['default']['BACKEND'])"


@pytest.mark.parametrize(
    "env, backend",
    [
        (PRODUCTION, "django_tasks_db.DatabaseBackend"),
        (
            {**PRODUCTION, "GALLEY_TASKS_BACKEND": "immediate"},
            "django_tasks.backends.immediate.ImmediateBackend",
        ),
        ({"DJANGO_DEBUG": "1"}, "django_tasks.backends.immediate.ImmediateBackend"),
    ],
)
def test_production_queues_in_the_database_and_development_sends_at_once(env, backend):
    result = manage("shell", "-c", SHOW_BACKEND, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == backend


def test_an_unknown_tasks_backend_stops_start_up():
    result = manage("check", **{**PRODUCTION, "GALLEY_TASKS_BACKEND": "celery"})
    assert result.returncode != 0
    assert "GALLEY_TASKS_BACKEND must be one of database, immediate, not 'celery'" in result.stderr
