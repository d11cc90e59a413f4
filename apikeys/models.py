from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from apikeys import tokens
from core.statements import converted, converters_of

# last_used is written at most this often per key, so a busy CI pushing many
# packages does not turn every request into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


class Scope(models.TextChoices):
    """nuget.org's scopes, with its words."""

    PUSH = "package:push", _("Push new packages and package versions")
    PUSH_VERSION = "package:pushversion", _("Push only new package versions")
    UNLIST = "package:unlist", _("Unlist or relist package versions")
    # For private feeds (GALLEY_FEED_READ=authenticated): restore and search.
    READ = "package:read", _("Read packages")


class RevocationSource(models.TextChoices):
    HOLDER = "holder", _("Its holder")
    ADMIN = "admin", _("An administrator")
    LEAK = "leak", _("Leaked-key report")
    ENDPOINT = "endpoint", _("Secret scanning")
    ORGANIZATION = "organization", _("An organization administrator")


# Revocations only their source may lift: a holder cannot undo what an
# administrator or an organization administrator decided by regenerating the
# key (they may create a new one under the permissions they have now). A key
# revoked by its holder, or as leaked, may be regenerated: the new secret
# replaces the leaked one, as on nuget.org.
STICKY_REVOCATIONS = frozenset({RevocationSource.ADMIN, RevocationSource.ORGANIZATION})


class KeyConflict(Exception):
    """The key changed (another regenerate won) between loading and writing it."""


class RevokedForGood(Exception):
    """The key was revoked by an administrator: it cannot be regenerated."""


def _hash(secret: str) -> str:
    return tokens.hash_key(secret, settings.GALLEY_KEY_HASH_SECRET)


# What the key rules read of the holder and the package owner (the rest of an
# account is loaded if something else asks for it).
ACCOUNT_FIELDS = ("id", "username", "is_active", "is_organization")


@dataclass(frozen=True)
class Joined:
    """Another table's row, found by the statement that finds a key (`find`), so that
    a request whose key and subject are both looked up pays one round trip.

    `columns`: SQL select items, which may name the key's columns (`k."owner_id"`)
    and take `params`; `join`: a LEFT JOIN clause that takes one parameter, the
    value passed to `find`. A value made once per process (it keys the statement).
    """

    columns: str
    params: tuple
    join: str


class _FindStatement:
    """The statement `find` runs, and how to read its row: worked out once per process
    and database (every request with a key asks it; compiling a query, or reading a
    raw() one's columns and converters, cost more than the indexed lookup itself).

    One row: the key's own columns, then what the key rules read of the holder and
    the package owner (ACCOUNT_FIELDS each), whether the holder is still an accepted
    member of the owner, and whether the key selects any package by name (a key that
    selects none is refused on its patterns alone, before any package is looked up).
    """

    where = " WHERE k.hashed_key = %s"

    def __init__(self, connection):
        from django.apps import apps

        user_model = apps.get_model(settings.AUTH_USER_MODEL)
        membership = apps.get_model("accounts", "Membership")._meta.db_table
        through = ApiKey.packages.through._meta
        selected, selected_key = through.db_table, through.get_field("apikey").column
        key_table, user_table = ApiKey._meta.db_table, user_model._meta.db_table
        quote = connection.ops.quote_name
        self.key_fields = ApiKey._meta.concrete_fields
        self.account_fields = [user_model._meta.get_field(name) for name in ACCOUNT_FIELDS]
        columns = [f"k.{quote(field.column)}" for field in self.key_fields]
        columns += [
            f"{alias}.{quote(field.column)}"
            for alias in ("h", "o")
            for field in self.account_fields
        ]
        self.select = (
            f"SELECT {', '.join(columns)},"  # noqa: S608 - names from the models
            f" EXISTS (SELECT 1 FROM {membership} m"
            " WHERE m.organization_id = k.owner_id AND m.member_id = k.holder_id"
            " AND m.accepted),"
            f" EXISTS (SELECT 1 FROM {selected} s WHERE s.{selected_key} = k.id)"
        )
        self.tables = (
            f" FROM {key_table} k JOIN {user_table} h ON h.id = k.holder_id"
            f" JOIN {user_table} o ON o.id = k.owner_id"
        )
        self.sql = self.select + self.tables + self.where
        self.joined_sql: dict[Joined, str] = {}
        # What the ORM would apply to each column (SQLite's datetimes and booleans,
        # JSON), the same functions it applies.
        fields = [*self.key_fields, *self.account_fields, *self.account_fields]
        self.converters = converters_of(
            connection, [field.get_col(field.model._meta.db_table) for field in fields]
        )
        self.key_names = [field.attname for field in self.key_fields]
        self.width = len(fields) + 2  # and the two EXISTS: where a joined row begins (`read`)

    def read(self, connection, hashed: str, joined: Joined | None = None, value=None):
        """The key with its accounts attached, or None; with `joined`, the row's
        columns after the key's are kept, unconverted, as `key.joined_row`."""
        sql, params = self.sql, [hashed]
        if joined is not None:
            sql = self.joined_sql.get(joined)
            if sql is None:
                sql = self.joined_sql[joined] = (
                    f"{self.select}, {joined.columns}{self.tables} {joined.join}{self.where}"
                )
            params = [*joined.params, value, hashed]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = converted(row[: self.width], self.converters, connection)
        keys, accounts = len(self.key_fields), len(self.account_fields)
        key = ApiKey.from_db(connection.alias, self.key_names, values[:keys])
        model = type(key).holder.field.related_model

        def account(start):
            return model.from_db(connection.alias, list(ACCOUNT_FIELDS), values[start:][:accounts])

        key.holder = account(keys)
        key.owner = key.holder if key.owner_id == key.holder_id else account(keys + accounts)
        key.holder_is_member = bool(values[-2])
        key.selects_packages = bool(values[-1])
        if joined is not None:
            key.joined_row = row[self.width :]
        return key


_FIND_STATEMENTS: dict[str, _FindStatement] = {}


class ApiKeyQuerySet(models.QuerySet):
    def held_by(self, holder):
        return self.filter(holder=holder)

    def active(self, now=None):
        return self.filter(revoked_at__isnull=True, expires__gt=now or timezone.now())

    @method_decorator(sensitive_variables("secret"))
    def find(self, secret: object, joined: Joined | None = None, value=None):
        """The key whose secret this is, or None; with `joined`, that row too (Joined).

        Malformed input (wrong prefix, length or checksum) is turned away without
        a database query; a well-formed one costs one indexed lookup on the hash,
        which also brings what the key rules read of the holder and the package
        owner, and whether the holder is still a member of the owner: a request
        resolves its caller in this one query (apikeys/scopes.py `resolve`).
        """
        if not tokens.is_well_formed(secret, settings.GALLEY_KEY_PREFIX):
            return None
        # A fixed statement run on a cursor, its columns read with the converters
        # the ORM would use: nothing is compiled or worked out per request
        # (docs/benchmarks.md). tests/apikeys/test_lookup.py compares the result
        # with the ORM's, field by field.
        connection = connections[self.db]
        statement = _FIND_STATEMENTS.get(connection.alias)
        if statement is None:
            statement = _FIND_STATEMENTS[connection.alias] = _FindStatement(connection)
        return statement.read(connection, _hash(secret), joined, value)

    @method_decorator(sensitive_variables("secrets", "secret", "hashes"))
    def find_many(self, secrets) -> dict:
        """{secret: key} for the well-formed secrets that belong to a key, in one query."""
        hashes = {
            _hash(secret): secret
            for secret in secrets
            if tokens.is_well_formed(secret, settings.GALLEY_KEY_PREFIX)
        }
        if not hashes:
            return {}
        keys = self.select_related("holder", "owner").filter(hashed_key__in=list(hashes))
        return {hashes[key.hashed_key]: key for key in keys}

    @method_decorator(sensitive_variables("secret"))
    def create_key(
        self,
        *,
        holder,
        owner,
        name,
        scopes,
        glob_patterns,
        packages,
        expires_in_days,
        expires=None,
        trusted_publishing_policy=None,
    ):
        """Create a key and return (key, secret). The secret exists only in the return value.

        `expires` overrides the expiry counted from `expires_in_days` (Trusted
        Publishing's keys live one hour)."""
        secret = tokens.generate(settings.GALLEY_KEY_PREFIX)
        with transaction.atomic():
            key = self.create(
                holder=holder,
                owner=owner,
                name=name,
                scopes=list(scopes),
                glob_patterns=list(glob_patterns),
                hint=tokens.hint(secret, settings.GALLEY_KEY_PREFIX),
                hashed_key=_hash(secret),
                expires=expires or timezone.now() + timedelta(days=expires_in_days),
                expires_in_days=expires_in_days,
                trusted_publishing_policy=trusted_publishing_policy,
            )
            key.packages.set(packages)
        return key, secret


class ApiKey(models.Model):
    """A scoped API key. Only a keyed hash of its secret is stored."""

    # A key this close to expiry is "expiring soon": the publish API warns its
    # holder (X-NuGet-Warning, as nuget.org) and the admin filters on it.
    EXPIRY_WARNING_DAYS = 10

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("holder"),
    )
    # The package owner the key acts for: the holder, or an organization the
    # holder belongs to. Fixed at creation, as on nuget.org.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="owner_api_keys",
        verbose_name=_("package owner"),
    )
    name = models.CharField(_("key name"), max_length=256)
    hint = models.CharField(_("hint"), max_length=32, editable=False)
    hashed_key = models.CharField(_("hash"), max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    glob_patterns = models.JSONField(_("glob patterns"), default=list, blank=True)
    packages = models.ManyToManyField(
        "packages.PackageRegistration",
        blank=True,
        related_name="api_keys",
        verbose_name=_("packages"),
    )
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires = models.DateTimeField(_("expires"))
    # Remembered so that Regenerate can count the same lifetime again from now.
    expires_in_days = models.PositiveSmallIntegerField(_("expires in (days)"))
    last_used = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
        editable=False,
    )
    revocation_reason = models.CharField(
        _("revocation reason"), max_length=500, blank=True, editable=False
    )
    revocation_source = models.CharField(
        _("revoked through"),
        max_length=16,
        choices=RevocationSource.choices,
        blank=True,
        editable=False,
    )
    revocation_url = models.URLField(
        _("where it leaked"), max_length=1000, blank=True, editable=False
    )
    # Set for the one-hour keys a Trusted Publishing exchange creates: they are
    # listed under their policy, cannot be edited or regenerated, and go with it.
    trusted_publishing_policy = models.ForeignKey(
        "trustedpublishing.Policy",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        verbose_name=_("Trusted Publishing policy"),
        editable=False,
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            # Names are unique per holder ignoring case, in the database too, so two
            # creates racing with "CI" and "ci" cannot both pass the form's check.
            models.UniqueConstraint(
                Lower("name"), "holder", name="unique_key_name_per_holder_any_case"
            ),
        ]
        indexes = [models.Index(fields=["holder", "-created"])]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    # State -----------------------------------------------------------------

    def load_accounts(self) -> None:
        """Load the holder and the package owner in one query (the same account for
        a personal key), for the rules that look at both on every request; nothing
        when `find` brought them."""
        cached = self._state.fields_cache
        if "holder" in cached and "owner" in cached:
            return
        accounts = {
            account.pk: account
            for account in type(self).holder.field.related_model.objects.filter(
                pk__in={self.holder_id, self.owner_id}
            )
        }
        self.holder = accounts[self.holder_id]
        self.owner = accounts[self.owner_id]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires <= (now or timezone.now())

    def days_left(self, now=None) -> int:
        """Whole days until expiry, rounded up: a key expiring in 3 hours has 1 day left."""
        remaining = self.expires - (now or timezone.now())
        return max(0, -(-remaining // timedelta(days=1)))

    def status(self, now=None) -> str:
        if self.is_revoked:
            return _("Revoked")
        if self.is_expired(now):
            return _("Expired")
        days = self.days_left(now)
        return ngettext("Expires in %(days)d day", "Expires in %(days)d days", days) % {
            "days": days
        }

    @property
    def status_code(self) -> str:
        """Stable, untranslated status for CSS classes and filters."""
        if self.is_revoked:
            return "revoked"
        return "expired" if self.is_expired() else "active"

    @property
    def can_regenerate(self) -> bool:
        return not (self.is_revoked and self.revocation_source in STICKY_REVOCATIONS)

    def scope_labels(self) -> list[str]:
        return [Scope(scope).label for scope in self.scopes if scope in Scope.values]

    # Actions ---------------------------------------------------------------

    @method_decorator(sensitive_variables("secret"))
    def regenerate(self) -> str:
        """Give the key a new secret and return it; the old one stops working at once.

        Name, owner, scopes and packages stay; expiry is counted again from now
        and a revocation is lifted (a regenerated secret is a fresh start).

        Concurrency: the write is a compare-and-swap on the hash this instance
        was loaded with, in a single UPDATE. Two regenerates racing on one key
        both target the old hash; the database serialises the two UPDATEs on the
        row (PostgreSQL re-checks the WHERE after the first commits), so exactly
        one matches and the other raises KeyConflict. No user is ever shown a
        secret that does not work.
        """
        if not self.can_regenerate:
            raise RevokedForGood
        secret = tokens.generate(settings.GALLEY_KEY_PREFIX)
        now = timezone.now()
        changes = {
            "hashed_key": _hash(secret),
            "hint": tokens.hint(secret, settings.GALLEY_KEY_PREFIX),
            # An administrator may have shortened the longest life since.
            "expires": now
            + timedelta(days=min(self.expires_in_days, max(settings.GALLEY_KEY_EXPIRY_DAYS))),
            "revoked_at": None,
            "revoked_by": None,
            "revocation_reason": "",
            "revocation_source": "",
            "revocation_url": "",
        }
        # An administrator's revocation that lands after this instance was
        # loaded is not lifted either: the row no longer matches.
        updated = (
            ApiKey.objects.filter(pk=self.pk, hashed_key=self.hashed_key)
            .exclude(revocation_source__in=STICKY_REVOCATIONS)
            .update(**changes)
        )
        if not updated:
            raise KeyConflict
        for field, value in changes.items():
            setattr(self, field, value)
        return secret

    def revoke(self, *, by, source: str, reason: str = "", url: str = "") -> bool:
        """Revoke the key; False if it already was (the first revocation is kept,
        so a replayed leak report or a double click changes nothing)."""
        changes = {
            "revoked_at": timezone.now(),
            "revoked_by": by,
            "revocation_reason": reason[:500],
            "revocation_source": source,
            "revocation_url": url[:1000],
        }
        updated = ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(**changes)
        if updated:
            for field, value in changes.items():
                setattr(self, field, value)
        return bool(updated)

    def record_use(self, now=None) -> None:
        """Note that the key was used, writing at most once a minute per key."""
        now = now or timezone.now()
        if self.last_used and now - self.last_used < LAST_USED_PRECISION:
            return
        # The condition makes concurrent requests from several processes write once.
        ApiKey.objects.filter(pk=self.pk).filter(
            Q(last_used__isnull=True) | Q(last_used__lt=now - LAST_USED_PRECISION)
        ).update(last_used=now)
        self.last_used = now


class ExpiryNotice(models.Model):
    """An expiry e-mail that was sent, so that cron can run as often as it likes.

    Unique per key, expiry date and threshold: a regenerated key (new expiry)
    gets its notices again; a second run, or two at once, sends nothing twice.
    """

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="expiry_notices")
    expires = models.DateTimeField()
    days_before = models.PositiveSmallIntegerField()  # 0: the "expired" notice
    sent = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "expires", "days_before"], name="one_expiry_notice_per_threshold"
            )
        ]

    def __str__(self):
        return f"{self.key_id}: {self.days_before} days before {self.expires:%Y-%m-%d}"
