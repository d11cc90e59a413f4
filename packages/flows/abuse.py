"""Abuse reports: the page the service index's ReportAbuseUriTemplate points to.

NuGet's clients link "Report abuse" to that template; without it they fall back
to nuget.org's page and would send a private package's id there. Here a report
is recorded and e-mailed to the site's administrators: the addresses in
GALLEY_ABUSE_EMAIL, or every active staff member's confirmed addresses.

Who may report a version is who may read it: on a private feed, a package its
reader may not read does not exist for them (404, as for an unknown id).
Reports are limited per client address (GALLEY_ABUSE_REPORTS_PER_HOUR), since
each one sends mail.
"""

import logging
import re
import time

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts import emails
from accounts.models import User
from apikeys.scopes import Refusal
from audit.events import client_ip
from packages.models import AbuseReport, PackageVersion
from packages.nupkg import NuGetVersion
from packages.readers import EVERYONE, Reader

log = logging.getLogger("galley.abuse")


def reportable_version(user, package_id: str, version_text: str) -> PackageVersion | None:
    """The version a report is about (any case, any spelling of the version), or
    None when it does not exist or `user` may not read it."""
    try:
        identity = NuGetVersion.parse(version_text).identity_key
    except ValueError:
        return None
    version = (
        PackageVersion.objects.filter(
            registration__normalized_id=package_id.lower(), normalized_version=identity
        )
        .select_related("registration")
        .first()
    )
    if version is None:
        return None
    reader = EVERYONE if settings.GALLEY_FEED_READ == "public" else Reader(user=user)
    if not user.is_authenticated and not reader.is_everyone:
        return None
    return version if reader.can_read(version.registration) else None


def over_hourly_limit(scope: str, who: str, limit: int) -> bool:
    """Count one more mail-sending action of `scope` by `who` (a client address, an
    account) this clock hour; True past `limit`. Shared by every form that mails
    people on a visitor's word (reports here, messages to owners in contact.py)."""
    key = f"galley:{scope}:{who}:{int(time.time() // 3600)}"
    cache.add(key, 0, timeout=2 * 3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=2 * 3600)
        count = 1
    return count > limit


def report(request, version: PackageVersion, *, reason: str, message: str, email: str):
    """Record a report about `version` and e-mail it to the administrators.

    The AbuseReport, or a Refusal (429) past the hourly limit of the client's address.
    """
    address = client_ip(request)
    if over_hourly_limit(
        "abuse-reports", address or "unknown", settings.GALLEY_ABUSE_REPORTS_PER_HOUR
    ):
        return Refusal(
            "abuse_reports_limited",
            _("You have sent too many reports. Try again in an hour."),
            status=429,
            package_id=version.registration.package_id,
        )
    user = request.user if request.user.is_authenticated else None
    abuse_report = AbuseReport.objects.create(
        package_id=version.registration.package_id,
        version=version.version,
        package_version=version,
        reason=reason,
        message=message,
        reporter=user,
        reporter_email=user.email if user and user.email else email,
        ip_address=address,
    )
    package_url = request.build_absolute_uri(
        reverse("package_version_detail", args=[version.registration.package_id, version.version])
    )
    for recipient, language in recipients():
        _send(recipient, language, {"report": abuse_report, "package_url": package_url})
    return abuse_report


def recipients() -> list[tuple[str, str]]:
    """(address, language) of whoever reads abuse reports: GALLEY_ABUSE_EMAIL, else
    every active staff member's confirmed addresses, each in their language."""
    if settings.GALLEY_ABUSE_EMAIL:
        return [(address, settings.LANGUAGE_CODE) for address in settings.GALLEY_ABUSE_EMAIL]
    staff = User.objects.filter(is_staff=True, is_active=True)
    confirmed = (
        EmailAddress.objects.filter(user__in=staff, verified=True)
        .select_related("user")
        .order_by("email")
    )
    return [
        (address.email, address.user.language or settings.LANGUAGE_CODE) for address in confirmed
    ]


def _send(to: str, language: str, context: dict) -> None:
    context = {"site_name": settings.GALLEY_SITE_NAME, **context}
    with translation.override(language):
        subject = re.sub(
            r"[ \t\r\n]+", " ", render_to_string("packages/email/abuse_report_subject.txt", context)
        ).strip()
        body = render_to_string("packages/email/abuse_report.txt", context)
        html = render_to_string("packages/email/abuse_report.html", context)
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=body,
        to=[to],
        # The administrator answers the reporter directly.
        reply_to=[context["report"].reporter_email],
    )
    message.attach_alternative(html, "text/html")
    # Out of the request, retried; the report is recorded whatever the mail server does.
    emails.queue(message, label=f"abuse report {context['report'].pk}")
