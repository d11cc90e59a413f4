"""Writing the audit trail: one function, called where things happen."""

import ipaddress

from django.conf import settings

from audit.models import AuditEvent

Kind = AuditEvent.Kind


def client_ip(request) -> str | None:
    """The client's address, trusting only as many X-Forwarded-For hops as there
    are proxies the operator declared (GALLEY_TRUSTED_PROXY_COUNT)."""
    address = request.META.get("REMOTE_ADDR")
    count = settings.GALLEY_TRUSTED_PROXY_COUNT
    if count:
        hops = [
            hop.strip()
            for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if hop.strip()
        ]
        # Each trusted proxy appends the address it saw; the one the outermost
        # trusted proxy appended is the client. Anything left of it is the
        # client's own claim and proves nothing.
        if len(hops) >= count:
            address = hops[-count]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def record(
    kind: str,
    *,
    request=None,
    user=None,
    actor=None,
    key=None,
    package_id="",
    package_version="",
    subjects=(),
    **details,
):
    """Append one event. `user` is whose log shows it (defaults to the key's holder);
    `subjects`, every other account whose log shows it too (package_subjects), as
    accounts or their ids."""
    if user is None and key is not None:
        user = key.holder
    if (
        actor is None
        and request is not None
        and getattr(request, "user", None)
        and request.user.is_authenticated
    ):
        actor = request.user
    event = AuditEvent.objects.create(
        kind=kind,
        user=user,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        ip_address=client_ip(request) if request is not None else None,
        user_agent=request.headers.get("User-Agent", "")[:300] if request is not None else "",
        key_name=key.name if key else "",
        key_hint=key.hint if key else "",
        package_id=package_id[:100],
        package_version=package_version[:64],
        details={k: v for k, v in details.items() if v not in (None, "")},
    )
    subjects = {getattr(account, "pk", account) for account in subjects if account is not None} - {
        user.pk if user else None
    }
    if subjects:
        event.subjects.add(*subjects)
    return event
