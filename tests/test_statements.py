"""core/statements.py: a query compiled once reads its row as the ORM does."""

import pytest
from django.db.models import Exists, OuterRef

from core.statements import PACKAGE_ID, Statement, compiled, prefetched
from packages.models import PackageRegistration, PackageVersion
from tests.factories import PackageRegistrationFactory

pytestmark = pytest.mark.django_db

STAND_IN = -7_000_003


def _versions(pk, only=()):
    owned = PackageRegistration.owners.through.objects.filter(
        packageregistration=OuterRef("registration")
    )
    versions = PackageVersion.objects.filter(pk=pk).annotate(owned=Exists(owned)).order_by()
    return versions.only("pk", *only) if only else versions


@pytest.fixture
def version(alice):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    return PackageVersion.objects.create(
        registration=registration,
        version="1.0.0",
        normalized_version="1.0.0",
        original_version="1.0.0",
        size=12,
        sha512="x" * 88,
        file="contoso.core/1.0.0.nupkg",
        dependency_groups=[{"targetFramework": "net8.0", "dependencies": []}],
    )


def test_a_row_comes_back_with_the_orms_values_and_types(version):
    statement = Statement(_versions(STAND_IN))
    mine = statement.first({STAND_IN: version.pk})
    theirs = _versions(version.pk).get()
    for field in PackageVersion._meta.concrete_fields:
        values = getattr(mine, field.attname), getattr(theirs, field.attname)
        assert (values[0], type(values[0])) == (values[1], type(values[1])), field.name
    assert (mine.owned, type(mine.owned)) == (theirs.owned, type(theirs.owned)) == (True, bool)
    assert statement.first({STAND_IN: version.pk + 1}) is None


def test_fields_left_out_are_deferred_as_with_only(version):
    mine = Statement(_versions(STAND_IN, only=("version",))).first({STAND_IN: version.pk})
    assert mine.version == "1.0.0"
    theirs = _versions(version.pk, ("version",)).get()
    assert mine.get_deferred_fields() == theirs.get_deferred_fields()


def test_what_it_select_related_comes_attached_with_the_orms_values(
    version, django_assert_num_queries
):
    versions = PackageVersion.objects.filter(registration__normalized_id=PACKAGE_ID)
    statement = Statement(versions.select_related("registration").order_by()[:1])
    with django_assert_num_queries(1):
        mine = statement.first({PACKAGE_ID: "contoso.core"})
        registration = mine.registration
    theirs = PackageVersion.objects.select_related("registration").get(pk=version.pk)
    assert mine.pk == theirs.pk
    for field in PackageRegistration._meta.concrete_fields:
        values = getattr(registration, field.attname), getattr(theirs.registration, field.attname)
        assert (values[0], type(values[0])) == (values[1], type(values[1])), field.name
    assert statement.first({PACKAGE_ID: "contoso.other"}) is None


def test_every_row_comes_back_as_an_instance_and_can_stand_as_prefetched(
    version, alice, bob, django_assert_num_queries
):
    registration = version.registration
    registration.owners.add(bob)
    owners = PackageRegistration.owners.through.objects.filter(packageregistration=STAND_IN).values(
        "user"
    )
    statement = Statement(type(alice).objects.filter(pk__in=owners).order_by("pk"))
    mine = statement.all({STAND_IN: registration.pk})
    assert [(user.pk, user.username) for user in mine] == [
        (user.pk, user.username) for user in registration.owners.order_by("pk")
    ]
    assert statement.all({STAND_IN: -1}) == []
    fresh = PackageRegistration.objects.get(pk=registration.pk)
    prefetched(fresh, "owners", mine)
    with django_assert_num_queries(0):
        assert list(fresh.owners.all()) == mine
        assert fresh.owners.count() == 2


def test_a_compiled_statement_builds_its_queryset_once(version):
    built = []

    def queryset():
        built.append(1)
        return _versions(STAND_IN)

    first = compiled("tests.versions", queryset)
    assert compiled("tests.versions", queryset) is first and len(built) == 1
    assert first.first({STAND_IN: version.pk}).pk == version.pk
    assert compiled("tests.other", queryset) is not first and len(built) == 2


def test_postgresql_prepares_a_statement_a_connection_runs_often(version):
    """DATABASE_PREPARED_STATEMENTS (on by default): bound on the server, and
    prepared there once a connection has run it five times."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    statement = Statement(_versions(STAND_IN))
    for _ in range(6):
        assert statement.first({STAND_IN: version.pk}).pk == version.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"packages_packageversion"' in text for text in prepared), prepared


def test_its_columns_read_another_statements_row_with_the_stand_ins_as_its_columns(
    version, alice, bob
):
    """Statement.columns and instance_of (what apikeys.models.Joined is made of): the
    registration's columns, whose stand-in is a column of an enclosing query on the
    users, read from that query's row as `first` reads them."""
    from django.db import connection

    owners = PackageRegistration.owners.through.objects.filter(
        packageregistration=OuterRef("pk"), user=STAND_IN
    )
    registrations = PackageRegistration.objects.filter(normalized_id=PACKAGE_ID)
    statement = Statement(registrations.annotate(owned=Exists(owners)).order_by()[:1])
    quote = connection.ops.quote_name
    columns, params = statement.columns({STAND_IN: f"u.{quote('id')}"})
    assert str(STAND_IN) not in columns and STAND_IN not in params
    table = quote(PackageRegistration._meta.db_table)
    sql = (
        f"SELECT u.{quote('id')}, {columns} FROM {quote(type(alice)._meta.db_table)} u"  # noqa: S608 - names from the models
        f" LEFT JOIN {table} ON {table}.{quote('normalized_id')} = %s WHERE u.{quote('id')} = %s"
    )

    def read(lower, user):
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, lower, user.pk])
            row = cursor.fetchone()
        assert row[0] == user.pk
        return statement.instance_of(row[1:], connection)

    mine = read("contoso.core", alice)
    theirs = statement.first({PACKAGE_ID: "contoso.core", STAND_IN: alice.pk})
    assert (mine.pk, mine.package_id, mine.owned) == (theirs.pk, theirs.package_id, True)
    assert read("contoso.core", bob).owned is False
    assert read("contoso.other", alice) is None


def test_columns_refuse_sql_they_cannot_rewrite(version):
    """A column whose SQL holds a literal percent sign (escaped as %%, which splitting
    on the placeholders would cut) is refused, not rewritten wrongly."""
    from django.db.models import BooleanField, ExpressionWrapper, F, Q

    inside = ExpressionWrapper(Q(package_id__contains=F("normalized_id")), BooleanField())
    statement = Statement(PackageRegistration.objects.annotate(inside=inside).order_by()[:1])
    assert any("%%" in sql for sql, _params in statement.select)
    with pytest.raises(ValueError):
        statement.columns({})
