"""May this key do this action on this package? One function answers, with a reason.

The publish API calls `authorize` for every push, unlist and relist; the reasons
are specific (nuget.org answers every refusal with one vague 403, and its users
ask for better), and each carries a stable machine-readable code.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.apps import apps
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts import access
from apikeys import globs
from apikeys.models import ApiKey, Scope


class Action(StrEnum):
    PUSH = "push"
    UNLIST = "unlist"  # unlist and relist share nuget.org's package:unlist scope
    READ = "read"  # restore and search a private feed (packages/readers.py)


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: returned, never raised, and answered in one place."""

    code: str  # stable, for logs and the audit trail
    message: str  # for the person reading the client's output
    status: int = 403  # the HTTP status it is answered with
    package_id: str = ""  # the package it was about, for the log and the audit trail


def _date(value) -> str:
    return formats.date_format(timezone.localtime(value), "DATE_FORMAT")


def key_refusal(key: ApiKey, now=None) -> Refusal | None:
    """Refusals that do not depend on the package: revoked, expired, holder gone."""
    now = now or timezone.now()
    if key.is_revoked:
        return Refusal(
            "revoked", _("The API key was revoked on %(date)s.") % {"date": _date(key.revoked_at)}
        )
    if key.is_expired(now):
        return Refusal(
            "expired", _("The API key expired on %(date)s.") % {"date": _date(key.expires)}
        )
    key.load_accounts()
    if not key.holder.is_active:
        return Refusal("holder_inactive", _("The account that holds this API key is deactivated."))
    if not key.owner.is_active:
        # Deactivating an organization stops its keys, as deactivating a person does.
        return Refusal(
            "owner_inactive",
            _("The package owner %(owner)s is deactivated.") % {"owner": key.owner.get_username()},
        )
    if key.owner_id != key.holder_id and not _holder_is_member(key):
        # Checked on every request: removing a member stops their keys at once.
        return Refusal(
            "not_a_member",
            _("%(holder)s is no longer a member of %(organization)s.")
            % {"holder": key.holder.get_username(), "organization": key.owner.get_username()},
        )
    return None


def _holder_is_member(key: ApiKey) -> bool:
    known = getattr(key, "holder_is_member", None)  # read with the key by `find`
    return known if known is not None else access.is_member(key.holder_id, key.owner_id)


class Caller:
    """The key of a request, its key rules passed: made once, at the edge, by `resolve`.

    What the package rules read of it (the owners whose packages its package owner
    can see, the packages it selects) is looked up once, when first needed, and
    kept for the rest of the request.
    """

    def __init__(self, key: ApiKey):
        self.key = key
        self._readable: set[int] | None = None
        self._selected: set[int] | None = None

    @property
    def readable_owner_ids(self) -> set[int]:
        if self._readable is None:
            self._readable = readable_owner_ids(self.key.owner)
        return self._readable

    @property
    def selects_by_name(self) -> bool:
        """Does the key select any package by name? `find` reads it with the key; a key
        loaded otherwise is taken to, and its packages are asked when needed."""
        return getattr(self.key, "selects_packages", True)

    def may_select(self, package_id: str) -> bool:
        """Could the key select this id, whatever is known of the package? Answered
        without a query: False only for a key whose patterns miss the id and that
        selects no package by name."""
        return self.selects_by_name or globs.matches_any(self.key.glob_patterns, package_id)

    def selects(self, package_id: str, registration) -> bool:
        """Does the key select this package, by a glob pattern or by name?"""
        if globs.matches_any(self.key.glob_patterns, package_id):
            return True
        if registration is None or not self.selects_by_name:
            return False
        if hasattr(registration, "selected"):  # annotated by the query that found it
            return registration.selected
        if self._selected is None:
            self._selected = set(self.key.packages.values_list("pk", flat=True))
        return registration.pk in self._selected


def resolve(key: ApiKey, now=None) -> Caller | Refusal:
    """The request's caller, or why its key may not be used at all."""
    return key_refusal(key, now) or Caller(key)


def authorize(
    key: ApiKey, action: Action, package_id: str, registration, now=None
) -> Refusal | None:
    """None when `key` may do `action` on `package_id`; otherwise the first rule it breaks
    (the key rules, then `permit`'s). For one check; a request resolves its caller once
    and asks `permit`."""
    caller = resolve(key, now)
    if isinstance(caller, Refusal):
        return caller
    return permit(caller, action, package_id, registration)


def before_lookup(caller: Caller, action: Action, package_id: str) -> Refusal | None:
    """The refusals decided before anything about the package is looked up: the key's
    scopes for the action, then its own patterns when it selects no package by name.
    A key that may never touch the id is refused with no query, and learns nothing of
    it (whether it exists, who reserved it, whether an upstream source has it). The
    flows ask this first; `permit` asks the same rules, in the same order, again."""
    refusal = _scope_refusal(caller.key, action)
    if refusal is None and not caller.may_select(package_id):
        refusal = _not_selected(package_id)
    return refusal


def permit(caller: Caller, action: Action, package_id: str, registration) -> Refusal | None:
    """None when the caller may do `action` on `package_id`; otherwise the first rule it
    breaks. The key rules were passed when the caller was resolved.

    `registration` is the existing PackageRegistration for the id, or None for
    a new id. The caller loads it (with its owners prefetched) because it needs
    it anyway to store the push.
    """
    key = caller.key
    refusal = _scope_refusal(key, action)
    if refusal:
        return refusal
    # The key's own patterns next: they need no query, and a key that may not touch
    # the id learns nothing of it (new or not, who reserved it).
    if not caller.selects(package_id, registration):
        return _not_selected(package_id)

    if registration is None and action == Action.PUSH:
        if Scope.PUSH not in key.scopes:
            return Refusal(
                "scope_push_new",
                _(
                    "The API key may only push new versions of existing packages; "
                    "'%(id)s' is a new package."
                )
                % {"id": package_id},
            )
        refusal = _reservation_refusal(key, package_id)
        if refusal:
            return refusal

    if registration is not None and not (
        readable_by(registration, key.owner, lambda: caller.readable_owner_ids)
        if action == Action.READ
        else any(owner.pk == key.owner_id for owner in registration.owners.all())
    ):
        return Refusal(
            "not_owner",
            _("'%(owner)s' does not own the package '%(id)s'.")
            % {"owner": key.owner.get_username(), "id": registration.package_id},
        )
    return None


def _scope_refusal(key: ApiKey, action: Action) -> Refusal | None:
    """The key's scopes do not allow the action on any package."""
    scopes = set(key.scopes)
    if action == Action.PUSH:
        if not scopes & {Scope.PUSH, Scope.PUSH_VERSION}:
            return Refusal("scope_push", _("The API key's scopes do not allow pushing packages."))
    elif action == Action.READ:
        if Scope.READ not in scopes:
            return Refusal("scope_read", _("The API key's scopes do not allow reading packages."))
    elif Scope.UNLIST not in scopes:
        return Refusal(
            "scope_unlist",
            _("The API key's scopes do not allow unlisting or relisting packages."),
        )
    return None


def _not_selected(package_id: str) -> Refusal:
    return Refusal(
        "package_not_selected",
        _("The package id '%(id)s' does not match any glob pattern or package of the API key.")
        % {"id": package_id},
    )


def _reservation_refusal(key: ApiKey, package_id: str) -> Refusal | None:
    """A new id under a reserved prefix may only be pushed for one of its owners;
    packages that existed before keep their owners (the owner rule covers them)."""
    # Reserved prefixes are the packages app's (a layer above, whose publish API
    # asks here): reached through the app registry, as a string relation would.
    reserved_prefixes = apps.get_model("packages", "ReservedPrefix").objects
    reservations = list(reserved_prefixes.matching(package_id).select_related("owner"))
    if not reservations or any(r.owner_id == key.owner_id for r in reservations):
        return None
    return Refusal(
        "reserved_prefix",
        _(
            "The package id '%(id)s' is under the prefix %(prefix)s, reserved for %(owners)s: "
            "only they may push new packages under it."
        )
        % {
            "id": package_id,
            "prefix": reservations[0].prefix,
            "owners": ", ".join(sorted({r.owner.get_username() for r in reservations})),
        },
    )


def readable_by(registration, account, owner_ids) -> bool:
    """Does `account` see one of the package's owners (`owner_ids()`: the ids of the
    owners whose packages it sees)? A registration found by a query that already
    asked (readers.Reader.registration) carries the answer as `readable`, with the
    account it asked for as `readable_for`."""
    if getattr(registration, "readable_for", None) == account.pk:
        return registration.readable
    allowed = owner_ids()
    return any(owner.pk in allowed for owner in registration.owners.all())


def readable_owner_ids(account) -> set[int]:
    """Package owners whose packages `account` can see (what Manage packages shows
    them). A read key reads what its package owner can see, narrowed by its
    patterns and packages."""
    return access.owner_ids(account)
