"""Galley's e-mails: one way to send them all, out of the request that causes them.

`send` renders a message from templates in the recipient's language while the
request (or command) runs, and `queue` hands it to a task (django-tasks) once the
transaction that caused it commits: a rolled-back action sends nothing, and a slow
or failing mail server never slows or undoes the action. allauth's own mails
(confirmation, password reset, two-factor notices) come through the same queue
(accounts/adapter.py), and so do invitations.

The task's arguments are stored in the database with the database backend, so the
message is sealed (encrypted and authenticated under a key derived from
DJANGO_SECRET_KEY): a confirmation or invitation link in a queued mail is not
readable from the table. A failed send is logged and tried again later, a bounded
number of times with growing delays (`RETRY_MINUTES`).
"""

import json
import logging
import re
from base64 import urlsafe_b64encode
from datetime import timedelta
from functools import partial

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django_tasks import task

log = logging.getLogger("galley.mail")

# A send that fails is tried again after these many minutes (then given up, logged):
# five attempts over about an hour and a half.
RETRY_MINUTES = (1, 4, 16, 64)


def send(
    user, template: str, context: dict, to: str | None = None, reply_to: str | None = None
) -> bool:
    """One e-mail with plain-text and HTML parts from templates/<template>_{subject,message},
    to `user`, or to the address `to`, in `user`'s language; queued to be sent once the
    current transaction commits. False when there is nobody to send it to. `reply_to`:
    whoever answers the mail reaches that address (and only the recipient sees it)."""
    to = to or user.email
    if not to or not user.is_active:
        return False
    context = {"user": user, "site_name": settings.GALLEY_SITE_NAME, **context}
    # In the language the user chose, whatever language the request that
    # caused the e-mail (an administrator's, a cron job's) was in.
    with translation.override(user.language or settings.LANGUAGE_CODE):
        # One line; ASCII whitespace only, so French no-break spaces stay.
        subject = re.sub(
            r"[ \t\r\n]+", " ", render_to_string(f"{template}_subject.txt", context)
        ).strip()
        body = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=body,
        to=[to],
        reply_to=[reply_to] if reply_to else None,
    )
    message.attach_alternative(html, "text/html")
    queue(message, label=f"{template} to user {user.pk}")
    return True


def queue(message: EmailMessage, *, label: str) -> None:
    """Send `message` out of the request: enqueued once the current transaction commits
    (at once outside one). `label` names it in the log, never its content or address."""
    sealed = seal(message)
    transaction.on_commit(partial(deliver.enqueue, sealed, label), robust=True)


@task()
def deliver(sealed: str, label: str, attempt: int = 1) -> None:
    """The task: send one sealed message; on failure, log it and try again later."""
    message = unseal(sealed)
    try:
        message.send()
    except Exception:
        # A notice must never undo or hide what it reports: the action is done,
        # whether or not the mail server answers.
        if attempt > len(RETRY_MINUTES) or not deliver.get_backend().supports_defer:
            log.exception("could not send the e-mail %s (attempt %d, given up)", label, attempt)
            raise
        delay = RETRY_MINUTES[attempt - 1]
        log.exception(
            "could not send the e-mail %s (attempt %d, again in %d min)", label, attempt, delay
        )
        later = deliver.using(run_after=timezone.now() + timedelta(minutes=delay))
        later.enqueue(sealed, label, attempt + 1)
        raise


# Sealing: what the queue stores ------------------------------------------------------------


def _fernet() -> MultiFernet:
    """Keys derived from DJANGO_SECRET_KEY and its fallbacks: rotating the secret
    keeps queued mails readable while the old one is a fallback."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [
            Fernet(
                urlsafe_b64encode(
                    salted_hmac("galley.mail.queue", "", secret=key, algorithm="sha256").digest()
                )
            )
            for key in keys
        ]
    )


def seal(message: EmailMessage) -> str:
    if message.attachments:
        raise ValueError("queued e-mails carry no attachments")
    fields = {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": message.to,
        "cc": message.cc,
        "bcc": message.bcc,
        "reply_to": message.reply_to,
        "headers": message.extra_headers,
        "alternatives": [list(a) for a in getattr(message, "alternatives", [])],
    }
    return _fernet().encrypt(json.dumps(fields).encode()).decode()


def unseal(sealed: str) -> EmailMultiAlternatives:
    try:
        fields = json.loads(_fernet().decrypt(force_bytes(sealed)))
    except InvalidToken:
        raise ValueError("a queued e-mail sealed under another secret key") from None
    alternatives = fields.pop("alternatives")
    message = EmailMultiAlternatives(**fields)
    for content, mimetype in alternatives:
        message.attach_alternative(content, mimetype)
    return message


def send_contact_confirmation(organization, link: str, actor, expire_days: int) -> bool:
    """To an organization's new contact address, in the language of the administrator
    who set it: the link that confirms it."""
    return send(
        actor,
        "accounts/email/organization_contact_confirmation",
        {"organization": organization, "link": link, "actor": actor, "expire_days": expire_days},
        to=organization.contact_email,
    )


def send_removed_from_organization(user, organization) -> bool:
    return send(user, "accounts/email/removed_from_organization", {"organization": organization})


# Consent and the changes it leads to (accounts/flows.py, packages/flows/owners.py) ----------

# What changed, for the templates, which word it in the recipient's language.
MEMBER_ADDED = "added"
MEMBER_REMOVED = "removed"
MEMBER_ROLE_CHANGED = "role"
OWNER_ADDED = "added"
OWNER_REMOVED = "removed"


def send_organization_invitation(member, invitation, link: str) -> bool:
    return send(
        member,
        "accounts/email/organization_invitation",
        {
            "invitation": invitation,
            "organization": invitation.organization,
            "link": link,
            "consent_days": settings.GALLEY_CONSENT_DAYS,
        },
    )


def send_members_changed(recipient, membership, change: str, actor) -> bool:
    """To an administrator (or the member concerned): a member joined, left or changed role."""
    return send(
        recipient,
        "accounts/email/members_changed",
        {
            "membership": membership,
            "organization": membership.organization,
            "change": change,
            "actor": actor,
        },
    )


def send_ownership_request(recipient, ownership_request, link: str) -> bool:
    """To the invited person, or to each administrator of the invited organization."""
    return send(
        recipient,
        "packages/email/ownership_request",
        {
            "ownership": ownership_request,
            "registration": ownership_request.registration,
            "link": link,
            "consent_days": settings.GALLEY_CONSENT_DAYS,
        },
    )


def send_owners_changed(recipient, registration, account, change: str, actor) -> bool:
    """To each person who manages the package: an owner was added or removed."""
    return send(
        recipient,
        "packages/email/owners_changed",
        {"registration": registration, "account": account, "change": change, "actor": actor},
    )


def send_contact_owners(recipient, context: dict, reply_to: str) -> bool:
    """To one person who manages a package (packages/flows/contact.py): a signed-in
    person's message, answered by replying, which reaches the sender's confirmed address."""
    return send(recipient, "packages/email/contact_owners", context, reply_to=reply_to)


def send_contact_owners_copy(sender, context: dict, to: str) -> bool:
    """The sender's own copy of a message to a package's owners ("Send me a copy"): it
    names the owners by account, never by address."""
    return send(sender, "packages/email/contact_owners_copy", context, to=to)
