"""A query compiled once per process, its row read as the ORM reads it.

The lookups every request makes (the feed's registration, by id) cost more to build
through the ORM (compiling the query, working out its columns and their converters)
than the indexed lookup itself. A `Statement` is made once from a queryset written
with stand-in values, and each request runs it with its own values on a cursor, then
reads the row with the converters and the model fields the ORM itself chose: the
same values and Python types as the queryset would give.
"""

from collections.abc import Callable

from django.db import connection, connections
from django.db.models.query import get_related_populators


def converters_of(connection, expressions) -> list:
    """(position, functions, expression) for each of a row's columns that the ORM
    converts on reading (SQLite's datetimes and booleans, JSON), with its functions."""
    found = []
    for position, expression in enumerate(expressions):
        functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if functions:
            found.append((position, functions, expression))
    return found


def converted(row, converters, connection) -> list:
    """A row's values as the ORM reads them."""
    values = list(row)
    for position, functions, expression in converters:
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return values


class Statement:
    """One queryset's SQL, parameters and row layout, for one database: a queryset of
    model instances (`first`, with what it select_related attached as the ORM
    attaches it) or of `values_list` tuples (`rows`)."""

    def __init__(self, queryset):
        connection = connections[queryset.db]
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        self.sql, self.params, self.alias = sql, tuple(params), connection.alias
        self.model = queryset.model
        select, klass_info = compiler.select, compiler.klass_info
        self.related = []
        if klass_info is not None:
            positions = klass_info["select_fields"]
            self.model_slice = slice(positions[0], positions[-1] + 1)
            self.names = [column.target.attname for column, *_ in select[self.model_slice]]
            # select_related: the ORM's own populators, which build each related
            # instance from its columns and cache it on the parent.
            self.related = get_related_populators(klass_info, select, connection.alias)
        self.annotations = dict(compiler.annotation_col_map)
        self.converters = converters_of(connection, [column for column, *_ in select])
        self.select = [compiled for _column, compiled, _alias in select]

    def _execute(self, cursor, values: dict) -> None:
        cursor.execute(self.sql, [values.get(param, param) for param in self.params])

    def rows(self, values: dict) -> list[tuple]:
        """Every row, as the `values_list` queryset it was made from gives them."""
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            self._execute(cursor, values)
            rows = cursor.fetchall()
        if not self.converters:
            return rows
        return [tuple(converted(row, self.converters, connection)) for row in rows]

    def first(self, values: dict):
        """The first row as a model instance with its annotations, or None. `values`
        maps each stand-in parameter to the request's value."""
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            self._execute(cursor, values)
            row = cursor.fetchone()
        return None if row is None else self._instance(row, connection)

    def all(self, values: dict) -> list:
        """Every row as a model instance with its annotations."""
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            self._execute(cursor, values)
            rows = cursor.fetchall()
        return [self._instance(row, connection) for row in rows]

    def columns(self, outer: dict) -> tuple[str, list]:
        """The select list as SQL and its parameters, for a larger statement that reads
        the same columns (apikeys.models.Joined): each stand-in parameter in `outer`
        becomes the SQL it maps to, a column of the enclosing query."""
        columns, params = [], []
        for sql, column_params in self.select:
            if "%%" in sql:  # a literal percent sign would be split like a placeholder
                raise ValueError(f"cannot rewrite {sql!r}")
            pieces = sql.split("%s")
            written = [pieces[0]]
            for param, piece in zip(column_params, pieces[1:], strict=True):
                if param in outer:
                    written.append(outer[param])
                else:
                    written.append("%s")
                    params.append(param)
                written.append(piece)
            columns.append("".join(written))
        return ", ".join(columns), params

    def instance_of(self, row, connection):
        """A model instance from this statement's columns (`columns`) in someone else's
        row, or None if the row found none (a LEFT JOIN without a match)."""
        if row[self.model_slice.start] is None:
            return None
        return self._instance(row, connection)

    def _instance(self, row, connection):
        row = converted(row, self.converters, connection)
        instance = self.model.from_db(self.alias, self.names, row[self.model_slice])
        for populator in self.related:
            populator.populate(row, instance)
        for name, position in self.annotations.items():
            setattr(instance, name, row[position])
        return instance


# Stand-ins for a request's package id and version while a statement is compiled
# (no id or version holds a NUL), for the statements that look a package up by them.
PACKAGE_ID = "\x00package-id"
VERSION = "\x00version"

_COMPILED: dict[tuple, Statement] = {}


def compiled(name: str, queryset: Callable[[], object]) -> Statement:
    """The Statement of the queryset `queryset()` builds, made once per process and
    database and kept under `name` (unique across modules): the queryset is built
    only the first time."""
    key = (connection.alias, name)
    statement = _COMPILED.get(key)
    if statement is None:
        statement = _COMPILED[key] = Statement(queryset())
    return statement


def prefetched(instance, relation: str, objects: list) -> None:
    """Hold `objects` as `instance`'s many-to-many `relation`, as
    prefetch_related_objects leaves it: `instance.<relation>.all()` gives them
    without a query."""
    queryset = getattr(instance, relation).get_queryset()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[relation] = queryset


def prefetched_objects(instance, relation: str) -> list | None:
    """The objects held as `instance`'s prefetched `relation`, or None if it is not."""
    queryset = getattr(instance, "_prefetched_objects_cache", {}).get(relation)
    return None if queryset is None else list(queryset)
