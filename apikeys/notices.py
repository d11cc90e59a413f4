"""E-mails about API keys. None of them ever contains a secret."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails
from apikeys.models import ApiKey, ExpiryNotice

CREATED = "created"
REGENERATED = "regenerated"
REVOKED = "revoked"
DELETED = "deleted"
EXPIRING = "expiring"
EXPIRED = "expired"

# Sent whatever the holder's preference: a key stopped working (by someone
# else's hand, or by the holder's: nuget.org mails both, so that a stolen
# session cannot quietly remove a key).
SECURITY_NOTICES = {REVOKED, DELETED}


def send(key: ApiKey, notice: str, **context) -> bool:
    if key.trusted_publishing_policy_id:
        # A one-hour key of a CI run: it lives and goes with its policy, whose
        # changes are the policy's own page and audit trail; one e-mail per run
        # would bury the holder.
        return False
    holder = key.holder
    if notice not in SECURITY_NOTICES and not holder.notify_key_events:
        return False
    return emails.send(holder, f"apikeys/email/{notice}", {"key": key, "holder": holder, **context})


def send_expiry_notices(now=None) -> int:
    """E-mail holders whose keys expire soon or have expired; each notice once.

    For each threshold (10 and 1 days by default) a key gets one "expires in N
    days" notice once it is that close; a run that comes late sends only the
    nearest one. An expired key gets one "expired" notice.
    """
    now = now or timezone.now()
    thresholds = settings.GALLEY_KEY_EXPIRY_NOTICE_DAYS
    horizon = now + timedelta(days=max(thresholds))
    # Trusted Publishing's one-hour keys expire by design; nobody is told.
    candidates = ApiKey.objects.filter(
        revoked_at__isnull=True, expires__lte=horizon, trusted_publishing_policy__isnull=True
    )
    already = set(
        ExpiryNotice.objects.filter(key__in=candidates).values_list(
            "key_id", "expires", "days_before"
        )
    )
    sent = 0
    for key in candidates.select_related("holder"):
        if key.is_expired(now):
            due = [0]
        else:
            days = key.days_left(now)
            due = [t for t in thresholds if days <= t]
        due = [t for t in due if (key.pk, key.expires, t) not in already]
        if not due:
            continue
        # All thresholds already passed are marked; one mail says the nearest.
        claimed = [t for t in due if _claim(key, t)]
        if not claimed:
            continue
        if 0 in claimed:
            sent += send(key, EXPIRED)
        else:
            sent += send(key, EXPIRING, days=key.days_left(now))
    return sent


def _claim(key: ApiKey, days_before: int) -> bool:
    try:
        with transaction.atomic():
            ExpiryNotice.objects.create(key=key, expires=key.expires, days_before=days_before)
    except IntegrityError:
        return False
    return True
