"""Contact Owners: a signed-in person writes to the owners of a package (nuget.org's
ContactOwners page).

The message is e-mailed, one mail each, to the people who manage the package
(permissions.people_managing: its owners who are people, and the administrators of
its owners that are organizations), through the owners that allow it (the account
setting "Allow others to contact me about my packages", nuget.org's EmailAllowed).
Each mail's Reply-To is the sender's confirmed address: the owners answer by
e-mail, and no address is shown on the site, neither the sender's to anyone else
nor the owners' to the sender. The sender may ask for a copy, which names the
owners by account only.

Who may write about a version is who may read it (abuse.reportable_version: a
package its reader may not read does not exist for them), and only with a
confirmed address. Messages are limited per account
(GALLEY_CONTACT_OWNERS_PER_HOUR), since each one sends mail, with the report
form's counter (abuse.over_hourly_limit).
"""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import emails
from apikeys.scopes import Refusal
from packages import permissions
from packages.flows.abuse import over_hourly_limit
from packages.models import PackageVersion


def contactable_owners(registration) -> list:
    """The owners (accounts) whose people receive messages, by name: the page's "To"."""
    return sorted(
        (owner for owner in registration.owners.all() if owner.allow_contact),
        key=lambda owner: owner.username.lower(),
    )


def recipients(registration) -> list:
    """The people a message about `registration` is e-mailed to."""
    return list(permissions.people_managing(registration, contactable=True).order_by("pk"))


def sender_address(user) -> str | None:
    """The address the owners answer: the sender's confirmed one (the primary first)."""
    address = (
        EmailAddress.objects.filter(user=user, verified=True).order_by("-primary", "pk").first()
    )
    return address.email if address else None


def send(request, version: PackageVersion, *, message: str, copy_sender: bool):
    """E-mail `message` about `version` to its owners' people (and a copy to the sender
    if asked). The number of owners' mails, or a Refusal: 403 without a confirmed
    address or without an owner who allows contact, 429 past the hourly limit."""
    registration = version.registration
    sender = request.user
    reply_to = sender_address(sender)
    if reply_to is None:
        return Refusal(
            "contact_unconfirmed",
            _("Confirm your e-mail address before you contact the owners of a package."),
            status=403,
            package_id=registration.package_id,
        )
    people = recipients(registration)
    if not people:
        return Refusal(
            "contact_not_allowed",
            _("Sorry, the owners of this package do not allow contacting them through this form."),
            status=403,
            package_id=registration.package_id,
        )
    if over_hourly_limit("contact-owners", str(sender.pk), settings.GALLEY_CONTACT_OWNERS_PER_HOUR):
        return Refusal(
            "contact_limited",
            _("You have sent too many messages to package owners. Try again in an hour."),
            status=429,
            package_id=registration.package_id,
        )
    context = {
        "sender": sender,
        "sender_email": reply_to,
        "registration": registration,
        "version": version,
        "message": message,
        "owners": [owner.username for owner in contactable_owners(registration)],
        "package_url": request.build_absolute_uri(
            reverse("package_version_detail", args=[registration.package_id, version.version])
        ),
        "settings_url": request.build_absolute_uri(reverse("account_settings")),
    }
    sent = sum(emails.send_contact_owners(person, context, reply_to) for person in people)
    if copy_sender:
        emails.send_contact_owners_copy(sender, context, reply_to)
    return sent
