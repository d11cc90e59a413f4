"""What happens around a key's life: the change itself, the audit trail, the e-mail.

Views and the admin call these, so that every path (the holder's page, an
administrator, a leak report) leaves the same trail.
"""

from django.views.decorators.debug import sensitive_variables

from apikeys import issuing, notices
from apikeys.models import ApiKey
from apikeys.scopes import Refusal
from audit.events import Kind, record


@sensitive_variables("secret", "issued")
def create_key(request, form) -> tuple[ApiKey, str] | Refusal:
    """The key of a valid Create form, or why its holder may not have it."""
    issued = issuing.issue(form.holder, form.cleaned_data["owner"], form.save)
    if isinstance(issued, Refusal):
        return issued
    key, secret = issued
    record(
        Kind.KEY_CREATED, request=request, key=key, scopes=key.scopes, patterns=key.glob_patterns
    )
    notices.send(key, notices.CREATED)
    return key, secret


@sensitive_variables("secret")
def regenerate_key(request, key: ApiKey) -> str | Refusal:
    """A new secret for `key`, or why its holder may not have one. Raises
    KeyConflict when another request changed the key since it was loaded."""
    key.load_accounts()
    secret = issuing.issue(key.holder, key.owner, key.regenerate, replacing=key)
    if isinstance(secret, Refusal):
        return secret
    record(Kind.KEY_REGENERATED, request=request, key=key)
    notices.send(key, notices.REGENERATED)
    return secret


def edit_key(request, form) -> ApiKey:
    key = form.save()
    record(
        Kind.KEY_EDITED,
        request=request,
        key=key,
        patterns=key.glob_patterns,
        packages=[p.package_id for p in key.packages.all()],
    )
    return key


def revoke_key(
    key: ApiKey, *, by, source: str, reason: str = "", url: str = "", request=None
) -> bool:
    """Revoke and tell the holder; False (and nothing more) if it was revoked already."""
    if not key.revoke(by=by, source=source, reason=reason, url=url):
        return False
    record(
        Kind.KEY_REVOKED,
        request=request,
        key=key,
        actor=by,
        source=source,
        reason=reason,
        url=url,
    )
    notices.send(key, notices.REVOKED)
    return True


def delete_key(request, key: ApiKey) -> None:
    record(Kind.KEY_DELETED, request=request, key=key)
    key.delete()
    notices.send(key, notices.DELETED)  # the instance keeps its fields after delete()
