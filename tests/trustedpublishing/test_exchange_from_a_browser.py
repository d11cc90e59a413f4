"""POST /api/v2/token reads no session: a signed-in browser posting a token (a page
elsewhere submitting a form to it) is not the actor of the refusal nor of the
exchange: the named creator's Security log never shows the browser's account."""

import pytest

from audit.models import AuditEvent
from tests.trustedpublishing.conftest import exchange, make_policy
from tests.trustedpublishing.issuer import github_claims

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trusted_publishing")]


def test_a_refusal_posted_from_a_signed_in_browser_is_nobody_s_act(client, alice, charlie, issuer):
    client.force_login(charlie)
    response = exchange(client, issuer.token(github_claims()))  # alice has no policy
    assert response.status_code == 403
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_REFUSED)
    assert event.user == alice
    assert event.actor is None and event.actor_name == ""
    assert not AuditEvent.objects.shown_to(charlie).exists()
    client.force_login(alice)
    log = client.get("/account/security-log").content.decode()
    assert "Trusted Publishing" in log and "charlie" not in log


def test_an_exchange_posted_from_a_signed_in_browser_is_the_creator_s(
    client, alice, charlie, issuer
):
    make_policy(alice)
    client.force_login(charlie)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_EXCHANGED)
    assert event.actor == alice
    assert not AuditEvent.objects.shown_to(charlie).exists()
