"""Who may read the feed: everyone, or (GALLEY_FEED_READ=authenticated) credentials.

Every read view is wrapped in `feed_reader`, which puts a `Reader` on the request.
On a private feed a client sends HTTP Basic credentials from its nuget.config,
as with GitHub Packages: the user name and an API key as the password.

- The user name must be the key holder's or the key's package owner's user name,
  compared ignoring case; a key pasted under someone else's name is refused, so a
  leaked key is of no use without knowing whose it is.
- Any usable key may read the service index, so a push-only key still pushes
  through /v3/index.json with its credentials in nuget.config. Everything else
  needs the "Read packages" scope (package:read).
- A read key reads the packages its package owner can see (the owner's own and,
  for a person, those of their organizations), narrowed by the key's glob
  patterns and selected packages, exactly as they narrow pushes: a key for `*`
  reads all of them. Other packages do not exist for it (404).
- A signed-in browser session counts too, so people can follow download links;
  it reads what its user can see.

Failed Basic sign-ins are counted per client address in the shared cache and
answered 429 beyond GALLEY_FEED_AUTH_FAILURES_LIMIT a minute, as allauth limits
failed sign-ins to the site; good credentials are never refused by the limit.
"""

from __future__ import annotations

import base64
import binascii
import functools
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts import access
from apikeys import globs
from apikeys.models import ApiKey, Joined, Scope
from apikeys.scopes import Action, Caller, permit, readable_by, readable_owner_ids, resolve
from audit.events import client_ip
from core.statements import Statement
from core.vary import add_vary
from packages.models import PackageRegistration, PackageVersion


class Reader:
    """Everyone (a public feed), a signed-in person, or a key's caller, resolved once
    per request by `feed_reader`; what it may read is looked up once and kept."""

    def __init__(self, *, user=None, caller: Caller | None = None, joined=None):
        self.user = user
        self.caller = caller
        self._readable: set[int] | None = None
        # (lower id, upstreams, row): the registration its key's statement found
        # (`_authenticate`), read by `registration` instead of asking again.
        self._joined = joined

    @property
    def key(self) -> ApiKey | None:
        return self.caller.key if self.caller is not None else None

    @property
    def is_everyone(self) -> bool:
        return self.user is None and self.caller is None

    def readable_owner_ids(self) -> set[int]:
        if self.caller is not None:
            return self.caller.readable_owner_ids
        if self._readable is None:
            self._readable = readable_owner_ids(self.user)
        return self._readable

    def can_read(self, registration) -> bool:
        if self.is_everyone or _upstream_only(registration):
            return True
        if self.caller is not None:
            return permit(self.caller, Action.READ, registration.package_id, registration) is None
        return readable_by(registration, self.user, self.readable_owner_ids)

    def registration(self, lower_id: str, *fields: str):
        """The registration of a package id if this reader may read it, else None.

        One query for everyone; for a key or a session, the same query says whether
        one of the package's owners is readable and whether the key selects the
        package by name, which the rules (apikeys.scopes.permit) read instead of
        asking again. Its statement is compiled once per process and shape
        (`_statement`): every feed read asks it, and building it through the ORM
        costs many times what the indexed lookup does."""
        account = None
        if not self.is_everyone:
            account = self.caller.key.owner if self.caller is not None else self.user
        upstreams = bool(settings.GALLEY_UPSTREAMS) and not self.is_everyone
        if (
            self._joined is not None
            and self._joined[:2] == (lower_id, upstreams)
            and fields == DOCUMENT_FIELDS
        ):
            statement = _document_statement(upstreams)
            registration = statement.instance_of(self._joined[2], connections[statement.alias])
        else:
            # The key's selected packages are asked only of a key that selects some by name.
            with_key = self.caller is not None and self.caller.selects_by_name
            registration = _statement(self.is_everyone, with_key, upstreams, fields).first(
                {
                    _ID: lower_id,
                    _ACCOUNT: account.pk if account is not None else None,
                    _KEY: self.caller.key.pk if self.caller is not None else None,
                }
            )
        if registration is None:
            return None
        if self.is_everyone:
            return registration
        registration.readable_for = account.pk  # what `readable` answers (scopes.readable_by)
        return registration if self.can_read(registration) else None

    def readable(self, registrations):
        """`registrations` narrowed to what this reader may see (for search)."""
        if self.is_everyone:
            return registrations
        visible = registrations.filter(owners__in=self.readable_owner_ids())
        upstream = None
        if settings.GALLEY_UPSTREAMS:
            upstream = registrations.filter(_upstream_only_condition()).values("pk")
        if self.caller is None:
            if upstream is None:
                return visible
            return registrations.filter(Q(pk__in=visible.values("pk")) | Q(pk__in=upstream))
        # Patterns are matched in Python with the same function that checks pushes
        # (apikeys.globs), not translated into SQL that could match differently.
        key = self.caller.key
        # A key that selects no package by name (`find` says so) costs no query here.
        selected = (
            set(key.packages.values_list("pk", flat=True)) if self.caller.selects_by_name else set()
        )
        candidates = visible.values_list("pk", "package_id")
        ids = [
            pk
            for pk, package_id in candidates
            if pk in selected or globs.matches_any(key.glob_patterns, package_id)
        ]
        if upstream is None:
            return registrations.filter(pk__in=ids)
        return registrations.filter(Q(pk__in=ids) | Q(pk__in=upstream))


# Stand-ins for a request's values while a statement is compiled (`_statement`):
# no package id holds a NUL, no row has a negative id.
_ID = "\x00package-id"
_ACCOUNT = -7_000_001
_KEY = -7_000_002
_STATEMENTS: dict[tuple, Statement] = {}


def _registrations(everyone: bool, with_key: bool, upstreams: bool, fields: tuple[str, ...]):
    """The registration query of Reader.registration, for the stand-in values."""
    registrations = PackageRegistration.objects.filter(normalized_id=_ID).order_by()
    if fields:
        registrations = registrations.only("pk", "package_id", *fields)
    if everyone:
        return registrations[:1]
    owners = PackageRegistration.owners.through.objects.filter(
        Q(user=_ACCOUNT) | Q(user__in=access.organization_ids_of(_ACCOUNT)),
        packageregistration=OuterRef("pk"),
    )
    registrations = registrations.annotate(readable=Exists(owners))
    if upstreams:
        registrations = registrations.annotate(upstream_only=_upstream_only_condition())
    if with_key:
        selected = ApiKey.packages.through.objects.filter(
            apikey=_KEY, packageregistration=OuterRef("pk")
        )
        registrations = registrations.annotate(selected=Exists(selected))
    return registrations[:1]


def _statement(
    everyone: bool, with_key: bool, upstreams: bool, fields: tuple[str, ...]
) -> Statement:
    """One shape of the query, compiled with its stand-in values (core/statements.py)."""
    shape = (everyone, with_key, upstreams, fields)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS[shape] = Statement(
            _registrations(everyone, with_key, upstreams, fields)
        )
    return statement


# What a feed document needs of its registration (feed.memoised_json); a view
# that reads one names its package id to `feed_reader`, and a key's reader finds
# the registration in the statement that finds the key (`_joined`).
DOCUMENT_FIELDS = ("normalized_id", "revision")
_JOINED: dict[tuple, Joined] = {}


def _document_statement(upstreams: bool) -> Statement:
    """The registration's statement whose columns `_joined` joins to the key's, and
    which reads them back (Reader.registration): a key's shape that asks whether the
    key selects the package by name, so that any key can use it."""
    return _statement(False, True, upstreams, DOCUMENT_FIELDS)


def _joined(upstreams: bool) -> Joined:
    """The registration's columns and rules (`_document_statement`) joined to the
    key's statement, the key's owner and id in place of the stand-ins: one round
    trip for both."""
    statement = _document_statement(upstreams)
    shape = (statement.alias, upstreams)
    joined = _JOINED.get(shape)
    if joined is None:
        quote = connections[statement.alias].ops.quote_name
        key = ApiKey._meta
        columns, params = statement.columns(
            {
                _ACCOUNT: f"k.{quote(key.get_field('owner').column)}",
                _KEY: f"k.{quote(key.pk.column)}",
            }
        )
        if _ID in params:  # the id is the join's, never a column's
            raise RuntimeError("the registration's columns ask for its id")
        table = quote(PackageRegistration._meta.db_table)
        column = quote(PackageRegistration._meta.get_field("normalized_id").column)
        joined = _JOINED[shape] = Joined(
            columns, tuple(params), f"LEFT JOIN {table} ON {table}.{column} = %s"
        )
    return joined


EVERYONE = Reader()


def _upstream_only_condition():
    versions = PackageVersion.objects.filter(registration=OuterRef("pk"))
    owners = PackageRegistration.owners.through.objects.filter(packageregistration=OuterRef("pk"))
    return Exists(versions) & ~Exists(versions.filter(upstream="")) & ~Exists(owners)


def _upstream_only(registration) -> bool:
    """A package whose every version was cached from an upstream source
    (packages/upstreams/) has no owner: any reader of the feed reads it, whatever
    its key's glob patterns, which narrow only owners' packages (README)."""
    if not settings.GALLEY_UPSTREAMS:
        return False
    if hasattr(registration, "upstream_only"):  # annotated by Reader.registration
        return registration.upstream_only
    if registration.owners.exists():  # an owned id stays its owners', versions or not
        return False
    versions = PackageVersion.objects.filter(registration=registration.pk)
    return versions.exists() and not versions.filter(upstream="").exists()


def feed_reader(view=None, *, any_key: bool = False, document_of: str | None = None):
    """Let a read view through for whoever may read the feed; sets request.feed_reader.

    `any_key=True` (the service index only) accepts a key without the read scope.
    `document_of` names the URL argument holding the package id of the feed
    document the view answers: a key's lookup finds that registration too.
    """
    if view is None:
        return functools.partial(feed_reader, any_key=any_key, document_of=document_of)

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if settings.GALLEY_FEED_READ == "public":
            request.feed_reader = EVERYONE
            return view(request, *args, **kwargs)
        package_id = kwargs.get(document_of) if document_of is not None else None
        reader_or_refusal = _authenticate(request, any_key=any_key, package_id=package_id)
        if isinstance(reader_or_refusal, HttpResponse):
            return reader_or_refusal
        request.feed_reader = reader_or_refusal
        response = view(request, *args, **kwargs)
        return add_vary(response, "Authorization", "Cookie")

    return wrapped


@sensitive_variables("secret", "credentials")
def _authenticate(request, *, any_key: bool, package_id: str | None) -> Reader | HttpResponse:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        if request.user.is_authenticated:
            return Reader(user=request.user)
        return _refused(401, _("This feed is private: sign in with your user name and an API key."))
    try:
        credentials = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        credentials = ""
    username, _colon, secret = credentials.partition(":")
    if package_id is not None:
        lower, upstreams = package_id.lower(), bool(settings.GALLEY_UPSTREAMS)
        key = ApiKey.objects.find(secret, _joined(upstreams), lower)
    else:
        key = ApiKey.objects.find(secret)
    caller = resolve(key) if key is not None else None
    if not isinstance(caller, Caller) or not _named(key, username):
        # Only failures are counted and limited: a valid key is never locked out by
        # someone else's guesses from the same address (one office behind a NAT),
        # and a read with good credentials costs no trip to the cache.
        address = client_ip(request) or "unknown"
        if _failures(address) >= settings.GALLEY_FEED_AUTH_FAILURES_LIMIT:
            response = _refused(
                429, _("Too many failed sign-ins from your address. Try again later.")
            )
            response["Retry-After"] = "60"
            return response
        _count_failure(address)
        return _refused(
            401, _("The user name or API key is not valid, or the key has expired or was revoked.")
        )
    if not any_key and Scope.READ not in key.scopes:
        return _refused(403, _("The API key's scopes do not allow reading packages."))
    key.record_use()
    found = (lower, upstreams, key.joined_row) if package_id is not None else None
    return Reader(caller=caller, joined=found)


def _named(key: ApiKey, username: str) -> bool:
    username = username.strip().casefold()
    return bool(username) and username in (
        key.holder.get_username().casefold(),
        key.owner.get_username().casefold(),
    )


def _failure_key(address: str) -> str:
    return f"galley:feed-basic-failures:{address}:{int(time.time() // 60)}"


def _failures(address: str) -> int:
    return cache.get(_failure_key(address), 0)


def _count_failure(address: str) -> None:
    key = _failure_key(address)
    cache.add(key, 0, timeout=120)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)


def _refused(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = f'Basic realm="{settings.GALLEY_SITE_NAME}", charset="UTF-8"'
    response["Cache-Control"] = "no-store"
    return response
