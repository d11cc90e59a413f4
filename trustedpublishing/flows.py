"""Trusted Publishing: a verified CI token in, a one-hour key out; and a policy's life.

Every path that changes a policy (the page, a member leaving an organization,
an exchange that finds the creator gone) goes through here, so each leaves the
same audit trail and revokes the same keys.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from apikeys import issuing
from apikeys.flows import revoke_key
from apikeys.models import ApiKey, RevocationSource, Scope
from apikeys.scopes import Refusal
from audit.events import Kind, record
from trustedpublishing import oidc
from trustedpublishing.models import (
    KEY_LIFETIME_SECONDS,
    DisabledReason,
    Policy,
    Provider,
    UsedToken,
)

Refused = oidc.TokenRefused

KEY_SCOPES = [Scope.PUSH.value, Scope.UNLIST.value]


# Matching ---------------------------------------------------------------------


def _same(a: str, b) -> bool:
    return isinstance(b, str) and a.lower() == b.lower()


def _github_mismatch(policy: Policy, claims: dict) -> str | None:
    """Why the GitHub Actions token does not match the policy, or None."""
    repository = f"{policy.repository_owner}/{policy.repository}"
    if not _same(repository, claims.get("repository")):
        return _("the repository differs (the token's is %(actual)s)") % {
            "actual": str(claims.get("repository"))[:200],
        }
    # workflow_ref: "owner/repo/.github/workflows/release.yml@refs/heads/main",
    # the workflow the run started from, in the token's own repository.
    workflow_ref = str(claims.get("workflow_ref", ""))
    path = workflow_ref.rpartition("@")[0]
    expected_path = f"{repository}/.github/workflows/{policy.workflow}"
    if path.lower() != expected_path.lower():
        return _("the workflow differs (the token's is %(actual)s)") % {
            "actual": path.rpartition("/")[2][:200] or "-",
        }
    return _environment_mismatch(policy, claims)


def _gitlab_mismatch(policy: Policy, claims: dict) -> str | None:
    if not _same(policy.project_path, claims.get("project_path")):
        return _("the project differs (the token's is %(actual)s)") % {
            "actual": str(claims.get("project_path"))[:200],
        }
    if policy.ref_type and claims.get("ref_type") != policy.ref_type:
        return _("the ref type differs (the token's is %(actual)s)") % {
            "actual": str(claims.get("ref_type"))[:50],
        }
    if policy.ref and claims.get("ref") != policy.ref:
        return _("the ref differs (the token's is %(actual)s)") % {
            "actual": str(claims.get("ref"))[:200],
        }
    return _environment_mismatch(policy, claims)


def _environment_mismatch(policy: Policy, claims: dict) -> str | None:
    if policy.environment and not _same(policy.environment, claims.get("environment")):
        return _("the environment differs (the token's is %(actual)s)") % {
            "actual": str(claims.get("environment") or _("none"))[:200],
        }
    return None


def _pinned_ids(provider: str, claims: dict) -> tuple[str, str]:
    if provider == Provider.GITHUB:
        return str(claims.get("repository_owner_id", "")), str(claims.get("repository_id", ""))
    return str(claims.get("namespace_id", "")), str(claims.get("project_id", ""))


def _pin_mismatch(policy: Policy, claims: dict) -> str | None:
    if not policy.is_pinned:
        return None
    if _pinned_ids(policy.provider, claims) != (
        policy.pinned_owner_id,
        policy.pinned_repository_id,
    ):
        return _(
            "the repository has another id than at this policy's first use: it was deleted "
            "and re-created, or renamed. Delete the policy and create a new one if this "
            "repository is the right one"
        )
    return None


def _match(user, provider: str, claims: dict) -> Policy:
    """The policy of `user` that this token matches (the oldest, if several), or Refused."""
    policies = list(
        Policy.objects.created_by(user).filter(provider=provider).order_by("created", "pk")
    )
    check = _github_mismatch if provider == Provider.GITHUB else _gitlab_mismatch
    reasons = []
    for policy in policies:
        reason = check(policy, claims) or _pin_mismatch(policy, claims)
        if reason is None and not policy.enabled:
            reason = _("the policy is disabled")
            if policy.disabled_reason:
                reason += f" ({policy.get_disabled_reason_display()})"
        if reason is None and policy.is_expired_unused():
            reason = _(
                "the policy was not used within %(days)d days of its creation or renewal; "
                "its creator may renew it on the Trusted Publishing page"
            ) % {"days": settings.GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS}
        if reason is None:
            return policy
        # Which claim differed, and the token's own value: never the policy's
        # name or expected values, which the caller may have no right to see.
        reasons.append(reason)
    if not reasons:
        raise Refused(
            403,
            "no_policy",
            _("%(user)s has no Trusted Publishing policy for %(provider)s.")
            % {"user": user.get_username(), "provider": Provider(provider).label},
        )
    raise Refused(
        403,
        "no_matching_policy",
        _("No Trusted Publishing policy of %(user)s matches this token: %(reasons)s.")
        % {"user": user.get_username(), "reasons": "; ".join(reasons[:5])},
    )


# The exchange -------------------------------------------------------------------


# A used token's row outlives the token's own life (exp plus the leeway) by this
# much before it is pruned: an exchange whose token verified just before that
# moment still finds it.
USED_TOKEN_PRUNE_MARGIN = timedelta(hours=1)


def _replayed() -> Refused:
    return Refused(401, "replayed", _("This token was used already: each token is accepted once."))


def _was_used(issuer: str, claims: dict) -> bool:
    return UsedToken.objects.filter(issuer=issuer, jti=claims["jti"]).exists()


def _consume(issuer: str, claims: dict, now) -> None:
    """Accept each token once: called in the transaction that mints its key, so a
    token is used up only when a key is made, and of two exchanges of one token
    at once the unique constraint lets one through (the other waits for it, then
    fails here, and its transaction rolls back)."""
    expires = datetime.fromtimestamp(claims["exp"] + oidc.LEEWAY_SECONDS, tz=UTC)
    try:
        with transaction.atomic():
            UsedToken.objects.create(issuer=issuer, jti=claims["jti"], expires=expires, used=now)
    except IntegrityError:
        raise _replayed() from None


def prune_used_tokens(now=None) -> int:
    """Forget used tokens that can no longer verify (one indexed DELETE)."""
    cutoff = (now or timezone.now()) - USED_TOKEN_PRUNE_MARGIN
    deleted, _by_model = UsedToken.objects.filter(expires__lt=cutoff).delete()
    return deleted


def _creator(username: str):
    # A deactivated account is found, and refused by the issuing rule with its reason.
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        raise Refused(
            403,
            "unknown_user",
            _("There is no active user named %(user)s.") % {"user": username[:150]},
        )
    if user.is_organization:
        raise Refused(
            403,
            "organization_user",
            _(
                "%(user)s is an organization: send the user name of the person who "
                "created the policy, not the package owner's."
            )
            % {"user": user.get_username()},
        )
    return user


def _claims_for_audit(claims: dict) -> dict:
    names = (
        "repository",
        "workflow_ref",
        "run_id",
        "run_attempt",
        "actor",
        "environment",
        "ref",
        "sha",
        "project_path",
        "pipeline_id",
        "job_id",
        "user_login",
    )
    return {name: str(claims[name])[:300] for name in names if claims.get(name) not in (None, "")}


@sensitive_variables("token", "secret")
def exchange(request, token: str, username: str) -> tuple[ApiKey, str]:
    """Verify the token, find the policy, and create its one-hour key: (key, secret)."""
    claims = oidc.verify(token)
    issuer = claims["iss"].rstrip("/")
    provider = oidc.issuers()[issuer]
    if _was_used(issuer, claims):  # answered early; _consume decides for good
        raise _replayed()
    user = _creator(username)
    try:
        policy = _match(user, provider, claims)
        key, secret = _create_key(policy, user, issuer, claims)
    except Refused as refusal:
        _record_refusal(request, user, refusal, claims)
        raise
    prune_used_tokens()
    record(
        Kind.TRUSTED_PUBLISHING_EXCHANGED,
        request=request,
        key=key,
        actor=user,
        policy=policy.name,
        owner=policy.owner.get_username(),
        provider=provider,
        claims=_claims_for_audit(claims),
    )
    return key, secret


def _record_refusal(request, user, refusal: Refused, claims: dict) -> None:
    """Into the named user's security log, once a minute per rule: anyone with
    a CI token can name any user, and must not be able to fill the log."""
    digest = hashlib.sha256(f"{user.pk}:{refusal.code}".encode()).hexdigest()[:32]
    if cache.add(f"trustedpublishing:refused:{digest}", 1, timeout=60):
        record(
            Kind.TRUSTED_PUBLISHING_REFUSED,
            request=request,
            user=user,
            actor=None,
            rule=refusal.code,
            reason=refusal.message,
            claims=_claims_for_audit(claims),
        )


@sensitive_variables("secret", "issued")
def _create_key(policy: Policy, creator, issuer: str, claims: dict) -> tuple[ApiKey, str]:
    now = timezone.now()
    with transaction.atomic():
        # The lock serialises exchanges of one policy, so that two first uses
        # at once pin the same ids, and the count stays exact.
        locked = Policy.objects.select_for_update().get(pk=policy.pk)
        refusal = _pin_mismatch(locked, claims)
        if refusal:
            raise Refused(403, "repository_recreated", refusal)
        issued = issuing.issue(creator, policy.owner, lambda: _mint(locked, issuer, claims, now))
    if isinstance(issued, Refusal):
        if issued.code == "not_a_member":
            disable(policy, reason=DisabledReason.CREATOR_LEFT)
        raise Refused(issued.status, issued.code, issued.message)
    return issued


@sensitive_variables("secret")
def _mint(locked: Policy, issuer: str, claims: dict, now) -> tuple[ApiKey, str]:
    """In the exchange's transaction: use the token up, pin the ids, make the key."""
    _consume(issuer, claims, now)
    if not locked.is_pinned:
        locked.pinned_owner_id, locked.pinned_repository_id = _pinned_ids(locked.provider, claims)
    locked.exchange_count += 1
    locked.last_exchange = now
    locked.save(
        update_fields=["pinned_owner_id", "pinned_repository_id", "exchange_count", "last_exchange"]
    )
    name = f"{locked.name} #{locked.exchange_count}"
    try:
        with transaction.atomic():
            return _new_key(locked, name, now)
    except IntegrityError:  # the holder named a key of their own like this
        return _new_key(locked, f"{name} {secrets.token_hex(3)}", now)


@sensitive_variables("secret")
def _new_key(policy: Policy, name: str, now) -> tuple[ApiKey, str]:
    return ApiKey.objects.create_key(
        holder=policy.creator,
        owner=policy.owner,
        name=name,
        scopes=KEY_SCOPES,
        glob_patterns=["*"],
        packages=[],
        expires_in_days=1,
        expires=now + timedelta(seconds=KEY_LIFETIME_SECONDS),
        trusted_publishing_policy=policy,
    )


# A policy's life ---------------------------------------------------------------


def _policy_details(policy: Policy) -> dict:
    return {
        "policy": policy.name,
        "owner": policy.owner.get_username(),
        "provider": policy.provider,
        "subject": policy.subject,
    }


def _policy_refusal(creator, owner) -> Refusal | None:
    """A policy is a standing right to keys: whoever may not be given a key for
    `owner` may not create, enable or renew one either."""
    refusal = issuing.refusal(creator, owner)
    if refusal is not None and refusal.code == "unconfirmed":
        return Refusal(
            refusal.code,
            _(
                "Confirm your e-mail address before using Trusted Publishing: follow the link "
                "in the confirmation e-mail, or send it again from Account Settings."
            ),
        )
    return refusal


def create_policy(request, form) -> Policy | Refusal:
    """The policy of a valid form, or why its creator may not have it."""
    refusal = _policy_refusal(form.creator, form.cleaned_data["owner"])
    if refusal is not None:
        return refusal
    policy = form.save()
    record(
        Kind.TRUSTED_PUBLISHING_CREATED,
        request=request,
        user=policy.creator,
        **_policy_details(policy),
    )
    return policy


def edit_policy(request, form) -> Policy:
    policy = form.save()
    record(
        Kind.TRUSTED_PUBLISHING_EDITED,
        request=request,
        user=policy.creator,
        **_policy_details(policy),
    )
    return policy


def _revoke_keys(policy: Policy, *, by, request=None) -> int:
    keys = ApiKey.objects.filter(trusted_publishing_policy=policy).active()
    return sum(
        revoke_key(key, by=by, source=RevocationSource.HOLDER, request=request)
        for key in keys.select_related("holder", "owner")
    )


def disable(policy: Policy, *, reason: str, by=None, request=None) -> bool:
    """Disable the policy and revoke its keys; False if it was disabled already."""
    updated = Policy.objects.filter(pk=policy.pk, enabled=True).update(
        enabled=False, disabled_reason=reason
    )
    policy.enabled, policy.disabled_reason = False, reason
    if not updated:
        return False
    _revoke_keys(policy, by=by, request=request)
    record(
        Kind.TRUSTED_PUBLISHING_DISABLED,
        request=request,
        user=policy.creator,
        actor=by,
        reason=reason,
        **_policy_details(policy),
    )
    return True


def enable(request, policy: Policy) -> Refusal | None:
    refusal = _policy_refusal(policy.creator, policy.owner)
    if refusal is not None:
        return refusal
    Policy.objects.filter(pk=policy.pk).update(enabled=True, disabled_reason="")
    policy.enabled, policy.disabled_reason = True, ""
    record(
        Kind.TRUSTED_PUBLISHING_ENABLED,
        request=request,
        user=policy.creator,
        **_policy_details(policy),
    )
    return None


def renew(request, policy: Policy) -> Refusal | None:
    """Give a policy that was never used another GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS
    for its first exchange (audited as an edit). A used (pinned) policy never expires,
    so renewing it changes nothing."""
    refusal = _policy_refusal(policy.creator, policy.owner)
    if refusal is not None:
        return refusal
    now = timezone.now()
    if Policy.objects.filter(pk=policy.pk, pinned_repository_id="").update(
        awaiting_first_use_since=now
    ):
        policy.awaiting_first_use_since = now
        record(
            Kind.TRUSTED_PUBLISHING_EDITED,
            request=request,
            user=policy.creator,
            renewed=True,
            **_policy_details(policy),
        )
    return None


def delete_policy(request, policy: Policy) -> None:
    """Revoke the policy's keys (each revocation audited), then delete it and them."""
    _revoke_keys(policy, by=request.user, request=request)
    record(
        Kind.TRUSTED_PUBLISHING_DELETED,
        request=request,
        user=policy.creator,
        **_policy_details(policy),
    )
    policy.delete()


def creator_left(member_id: int, organization_id: int) -> None:
    """A member left or was removed: their policies for the organization stop."""
    policies = Policy.objects.filter(creator_id=member_id, owner_id=organization_id, enabled=True)
    for policy in policies.select_related("creator", "owner"):
        disable(policy, reason=DisabledReason.CREATOR_LEFT)


def purge_expired_keys(now=None) -> int:
    """Delete Trusted Publishing keys that expired (they cannot be regenerated)."""
    now = now or timezone.now()
    expired = ApiKey.objects.filter(trusted_publishing_policy__isnull=False, expires__lte=now)
    count = expired.count()
    expired.delete()
    return count
