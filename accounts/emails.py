import logging
import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

log = logging.getLogger("galley.mail")


def send(user, template: str, context: dict, to: str | None = None) -> bool:
    """One e-mail with plain-text and HTML parts from templates/<template>_{subject,message};
    to `user`, or to the address `to` in `user`'s language."""
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
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body=body, to=[to]
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        # A notice must never undo or hide what it reports: the key was
        # created, regenerated or revoked whether or not the mail server answered.
        log.exception("could not send the e-mail %s to user %s", template, user.pk)
        return False
    return True


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
