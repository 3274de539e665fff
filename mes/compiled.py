"""Querysets of the production path, compiled to SQL once and run again with each call's values.

Building a queryset and compiling it to SQL costs far more Python than running the statement:
a completion's lock of its operation (with the order, product, line and site) spent most of its
time in Django's compiler, and that on every tap. `Compiled` keeps the query written once, as a
queryset, and compiles it once per database: the builder is called with stand-ins for the values
that change (a primary key, a line, a time), the ORM's SQL and its parameters are kept, and each
call runs that same SQL with its own values in the stand-ins' places, prepared as the ORM
prepared the stand-ins. Rows come back as the queryset would give them: model instances with
their `select_related` rows and annotations, the dicts of `values()` or the tuples (or single
values) of `values_list()`, each column through the ORM's converters.

An argument is a whole number, a timezone-aware datetime or a list of whole numbers, each
standing in for parameters of the statement as the builder passes it, unchanged: a number or a
time for one parameter (SQLite's text of a time is recognised as the time), a list for the
values of an `__in` (`pk__in=ids`). A list is read as a set (as `__in` reads it) and compiled
once per size, rounded up to a power of two, its last value repeated to fill it. A builder must
depend on its arguments only (no clock, no settings read per call, no value computed from an
argument, as `end + slack`: pass that as an argument of its own): the SQL and every other
parameter are fixed at the first call, and a builder whose statement differs otherwise from one
set of stand-ins to another is refused. The queryset runs as written: a read of one row by its
key clears the model's ordering (`.order_by()`), as `get()` would, or the statement sorts (and
may join) for nothing.

Writes have the same shortcuts: `update_row` (an UPDATE by key) and `insert_row` (the INSERT of
a new row, as `save()` writes it). On PostgreSQL these statements are prepared on each connection
once they have run twice (`statement_cursor`), so the database stops planning them at every tap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import NOT_PROVIDED, Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    NamedValuesListIterable,
    ValuesIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.signals import post_save, pre_save
from django.db.models.utils import create_namedtuple_class
from django.db.transaction import TransactionManagementError

# Two sets of stand-ins, far from any key and any time the plant records, so that a stand-in found
# among the parameters is the stand-in (the arguments' numbers a million apart, a list's values
# just below its own); the second set checks that the statement takes them as given.
_STAND_INS = (-7_340_000_000, -7_350_000_000)
_MOMENTS = (datetime(1001, 1, 1, tzinfo=UTC), datetime(1002, 1, 1, tzinfo=UTC))
# The values whose equality between the two compilations tells that the builder passed its
# arguments as they are (the others, adapters of JSON and the like, are not compared).
_PLAIN = (int, float, str, bytes, bool, Decimal, datetime, date, time, timedelta, type(None))


def _shape(value: Any) -> Any:
    """What of an argument the statement depends on: its kind, and a list's size (see the module)."""
    if type(value) is int:
        return int
    if type(value) is datetime:
        if value.utcoffset() is None:
            raise TypeError("a datetime argument must be timezone-aware")
        return datetime
    if isinstance(value, list | tuple | set | frozenset):
        if not all(type(v) is int for v in value):
            raise TypeError("a list argument holds whole numbers only")
        return ("list", len(padded_ids(value)))
    raise TypeError(f"an argument is an int, an aware datetime or a list of ints, not {type(value).__name__}")


def padded_ids(ids) -> list[int]:
    """`ids` without repeats, filled up to a power of two with the last one: an `__in` of them
    reads the same rows, and lists of about the same size share one statement (and, on
    PostgreSQL, its prepared plan)."""
    distinct = list(dict.fromkeys(ids))
    if not distinct:
        return []
    return distinct + distinct[-1:] * ((1 << (len(distinct) - 1).bit_length()) - len(distinct))


def _stand_in(shape: Any, number: int, which: int) -> Any:
    """The stand-in number `number` of the set `which` for an argument of `shape`."""
    if shape is int:
        return _STAND_INS[which] - 1_000_000 * number
    if shape is datetime:
        return _MOMENTS[which] + timedelta(days=number)
    return [_STAND_INS[which] - 1_000_000 * number - k for k in range(1, shape[1] + 1)]


class _Statement:
    """One queryset compiled for one database and one shape of the arguments: its SQL, where each
    argument goes, and how its rows become what the queryset would return."""

    def __init__(self, build: Callable[..., QuerySet], shapes: dict[str, Any], using: str) -> None:
        connection = connections[using]
        compiled = [self._compile(build, shapes, using, which) for which in (0, 1)]
        (queryset, compiler, self.sql, params, slots), (_, _, other_sql, other_params, other_slots) = compiled
        self.empty = self.sql is None  # an `__in` of an empty list: the ORM runs nothing
        if (
            [s[:3] for s in slots] != [s[:3] for s in other_slots]
            or self.sql != other_sql
            or any(
                a != b
                for i, (a, b) in enumerate(zip(params, other_params, strict=True))
                if i not in {s[0] for s in slots} and type(a) in _PLAIN
            )
        ):
            raise ValueError("the statement depends on its arguments other than as its parameters")
        found = {name for _, name, _, _ in slots}
        if not self.empty and found != set(shapes) - {n for n, s in shapes.items() if s == ("list", 0)}:
            raise ValueError(f"every argument must be a parameter of the statement: {tuple(shapes)}")
        self.params = params
        self.slots = slots
        self.kind = queryset._iterable_class
        if self.kind not in _ITERABLES:
            raise TypeError("only querysets of model instances, values() or values_list() are compiled")
        self.for_update = bool(queryset.query.select_for_update) and connection.features.has_select_for_update
        if self.empty:
            return
        query = queryset.query
        select = compiler.select[: compiler.col_count]
        if compiler.has_composite_fields([s[0] for s in select]):
            raise TypeError("composite primary keys are not compiled")
        self.width = compiler.col_count
        self.cut = compiler.has_extra_select  # columns for the ordering only, left out
        self.converters = [
            (i, convs, expression)
            for i, (convs, expression) in compiler.get_converters([s[0] for s in select]).items()
        ]
        if self.kind is ValuesIterable:  # as `ValuesIterable` names the columns
            if query.selected:
                self.names = list(query.selected)
            else:
                self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        elif self.kind is NamedValuesListIterable:
            names = queryset._fields or [*query.extra_select, *query.values_select, *query.annotation_select]
            self.tuple_class = create_namedtuple_class(*names)
        elif self.kind is ModelIterable:
            klass_info = compiler.klass_info
            self.model = klass_info["model"]
            fields = klass_info["select_fields"]
            self.start, self.end = fields[0], fields[-1] + 1
            self.init_list = [f[0].target.attname for f in compiler.select[self.start : self.end]]
            self.populators = get_related_populators(klass_info, compiler.select, using)
            self.annotations = list(compiler.annotation_col_map.items())

    @staticmethod
    def _compile(build, shapes: dict[str, Any], using: str, which: int):
        """The queryset built with the stand-ins of set `which`, its compiler, SQL (None when the
        ORM would run nothing) and parameters, and where the stand-ins are among them: (position,
        argument, index in a list or None, how the argument's value is prepared or None)."""
        stand_ins = {name: _stand_in(shape, n, which) for n, (name, shape) in enumerate(shapes.items())}
        queryset = build(**stand_ins)
        query = queryset.query
        compiler = query.get_compiler(using=using)
        connection = compiler.connection
        try:
            # Compiling refuses FOR UPDATE outside a transaction; `run` checks that at each call.
            with transaction.atomic(using=using) if connection.get_autocommit() else nullcontext():
                sql, params = compiler.as_sql()
        except EmptyResultSet:
            return queryset, compiler, None, [], []
        # Each stand-in as the ORM may have prepared it: a time as it is, or as the backend's text.
        adapt = connection.ops.adapt_datetimefield_value
        recognised: dict[tuple[type, Any], tuple] = {}
        for name, value in stand_ins.items():
            if type(value) is int:
                recognised[(int, value)] = (name, None, None)
            elif type(value) is datetime:
                prepared = adapt(value)
                recognised[(type(prepared), prepared)] = (name, None, None if prepared is value else adapt)
            else:
                for k, item in enumerate(value):
                    recognised[(int, item)] = (name, k, None)
        slots = []
        for i, param in enumerate(params):
            try:
                found = recognised.get((type(param), param))
            except TypeError:  # an unhashable parameter is no stand-in
                found = None
            if found is not None:
                slots.append((i, *found))
        return queryset, compiler, sql, list(params), slots

    def run(self, using: str, values: dict[str, Any]) -> list:
        connection = connections[using]
        if self.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        if self.empty:
            return []
        params = list(self.params)
        for i, name, k, prepare in self.slots:
            value = values[name]
            if k is not None:
                value = value[k]
            params[i] = value if prepare is None else prepare(value)
        with statement_cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        kind, width, converters = self.kind, self.width, self.converters
        if kind is ValuesListIterable and not converters and not self.cut:
            return rows if type(rows) is list else list(rows)
        if kind is FlatValuesListIterable and not converters:
            return [raw[0] for raw in rows]
        if kind is ValuesIterable and not converters:
            names = self.names
            # A row's columns for the ordering only come last and are left out.
            return [dict(zip(names, raw, strict=False)) for raw in rows]
        out = []
        for raw in rows:
            row = list(raw[:width]) if self.cut else list(raw)
            for i, convs, expression in converters:
                value = row[i]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[i] = value
            if kind is ValuesListIterable:
                out.append(tuple(row))
            elif kind is FlatValuesListIterable:
                out.append(row[0])
            elif kind is ValuesIterable:
                out.append(dict(zip(self.names, row, strict=True)))
            elif kind is NamedValuesListIterable:
                out.append(tuple.__new__(self.tuple_class, row))
            else:
                obj = self.model.from_db(using, self.init_list, row[self.start : self.end])
                for populator in self.populators:
                    populator.populate(row, obj)
                for name, position in self.annotations:
                    setattr(obj, name, row[position])
                out.append(obj)
        return out


_ITERABLES = (
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
    FlatValuesListIterable,
    NamedValuesListIterable,
)


def statement_cursor(connection):
    """The cursor the statements of this module run on.

    On PostgreSQL with `prepare_threshold` set (settings: `DB_PREPARED_STATEMENTS`), a cursor
    that binds its values on the server, so psycopg prepares a statement once it has run that
    many times on a connection and PostgreSQL plans it once per connection instead of at every
    tap (planning the operation's lock alone costs the server more than running it). The ORM's
    own queries keep Django's client-side binding, which never prepares. Elsewhere, and while
    queries are logged (`DEBUG`, a test counting them), Django's cursor: the log then shows each
    statement with its values, which psycopg no longer holds for a prepared one."""
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
        or connection.queries_logged
    ):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))


class Compiled:
    """A queryset built by `build(**arguments)`, compiled once per database (and shape of the
    arguments) and run with the arguments of each call (see the module). `all(**arguments)`
    returns its rows as a list."""

    def __init__(self, build: Callable[..., QuerySet], *names: str) -> None:
        self.build = build
        self.names = names
        self._statements: dict[tuple, _Statement] = {}
        self._lock = threading.Lock()

    def _statement(self, using: str, arguments: dict[str, Any]) -> tuple[_Statement, dict[str, Any]]:
        """The statement for `using` and these arguments' shape, and the arguments as it takes
        them (each list without repeats, filled to its size)."""
        if arguments.keys() != set(self.names):
            raise TypeError(f"arguments {sorted(arguments)} differ from {sorted(self.names)}")
        shapes = {}
        for name in self.names:
            value = arguments[name]
            try:
                shape = shapes[name] = _shape(value)
            except TypeError as exc:
                raise TypeError(f"{name}: {exc}") from None
            if type(shape) is tuple:
                arguments[name] = padded_ids(value)
        key = (using, *shapes.values())
        statement = self._statements.get(key)
        if statement is None:
            with self._lock:
                statement = self._statements.get(key)
                if statement is None:
                    statement = self._statements[key] = _Statement(self.build, shapes, using)
        return statement, arguments

    def all(self, using: str = DEFAULT_DB_ALIAS, **arguments: Any) -> list:
        statement, arguments = self._statement(using, arguments)
        return statement.run(using, arguments)

    def sql(self, using: str = DEFAULT_DB_ALIAS, **arguments: Any) -> str | None:
        """The statement as compiled for `using` and arguments of the kinds of `arguments` (whole
        numbers when none are given), for tests and for reading; None when it runs nothing."""
        arguments = arguments or dict.fromkeys(self.names, 0)
        return self._statement(using, arguments)[0].sql


_UPDATES: dict[tuple, tuple[str, list]] = {}


def update_row(model: type[Model], pk: Any, changes: dict[str, Any], using: str = DEFAULT_DB_ALIAS) -> int:
    """`model.objects.filter(pk=pk).update(**changes)` without building a queryset each time: the
    statement is written once per model and set of columns, the values prepared by their fields
    as the ORM prepares them. Expressions (`F(...) + 1`) and model instances go through the ORM.
    Returns the number of rows updated."""
    connection = connections[using]
    if any(hasattr(v, "resolve_expression") or hasattr(v, "prepare_database_save") for v in changes.values()):
        return model._base_manager.using(using).filter(pk=pk).update(**changes)
    key = (model, tuple(changes), using)
    found = _UPDATES.get(key)
    if found is None:
        quote = connection.ops.quote_name
        fields = [model._meta.get_field(name) for name in changes]
        if not all(f.concrete and not f.many_to_many and not f.primary_key for f in fields):
            raise ValueError(f"only the concrete columns of {model.__name__} are updated by key")
        table = quote(model._meta.db_table)
        columns = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = f"UPDATE {table} SET {columns} WHERE {table}.{quote(model._meta.pk.column)} = %s"
        found = _UPDATES[key] = (sql, fields)
    sql, fields = found
    params = [
        f.get_db_prep_save(value, connection) for f, value in zip(fields, changes.values(), strict=True)
    ]
    params.append(model._meta.pk.get_db_prep_value(pk, connection))
    with transaction.mark_for_rollback_on_error(using), statement_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


_INSERTS: dict[tuple, tuple[str, list]] = {}


def insert_row(obj: Model, using: str = DEFAULT_DB_ALIAS, *, signals: bool = True) -> None:
    """`obj.save()` of a new row, without building an insert query each time: the statement is
    written once per model, the values prepared by their fields (`pre_save` with `add`, then
    `get_db_prep_save`) as the ORM prepares them, and the new key read back into `obj`.

    For the rows the production path appends on every tap (ledger events, ERP messages). A model
    that save signals are connected to is saved by `save()`, unless the caller passes
    `signals=False`: it vouches that no receiver must hear of this row (for example, a message
    whose queueing writes no history). A row the statement cannot write as `save()` would (no
    auto key, a parent table, a database default) is saved by `save()` too, and refused with
    `signals=False`, which `save()` could not honour."""
    model = type(obj)
    connection = connections[using]
    meta = model._meta
    plain = (
        obj._state.adding
        and meta.auto_field is not None
        and not meta.parents
        and all(f.db_default is NOT_PROVIDED for f in meta.local_concrete_fields)
    )
    if not plain and not signals:
        raise ValueError(f"a {model.__name__} row is written by save(), which sends its signals")
    heard = signals and (pre_save.has_listeners(model) or post_save.has_listeners(model))
    if not plain or heard:
        obj.save(using=using)
        return
    returning = connection.features.can_return_columns_from_insert
    key = (model, using)
    found = _INSERTS.get(key)
    if found is None:
        quote = connection.ops.quote_name
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        table = quote(meta.db_table)
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        if returning:
            sql += f" RETURNING {table}.{quote(meta.auto_field.column)}"
        found = _INSERTS[key] = (sql, fields)
    sql, fields = found
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with transaction.mark_for_rollback_on_error(using), statement_cursor(connection) as cursor:
        cursor.execute(sql, params)
        if returning:
            (pk,) = cursor.fetchone()
        else:
            pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.auto_field.column)
    setattr(obj, meta.auto_field.attname, meta.auto_field.to_python(pk))
    obj._state.adding = False
    obj._state.db = using
