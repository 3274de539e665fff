"""Querysets of the production path, compiled to SQL once and run again with each call's values.

Building a queryset and compiling it to SQL costs far more Python than running the statement:
a completion's lock of its operation (with the order, product, line and site) spent most of its
time in Django's compiler, and that on every tap. `Compiled` keeps the query written once, as a
queryset, and compiles it once per database: the builder is called with stand-in numbers for the
values that change (a primary key, a line), the ORM's SQL and its parameters are kept, and each
call runs that same SQL with its own values in the stand-ins' places. Rows come back as the
queryset would give them: model instances with their `select_related` rows and annotations, or
the dicts of `values()`, each column through the ORM's converters.

A builder must depend on its arguments only (no clock, no settings read per call): the SQL and
every other parameter are fixed at the first call. Only whole-number arguments are supported,
each a stand-in for one parameter of the statement (a list of one stands in for `__in`). The
queryset runs as written: a read of one row by its key clears the model's ordering
(`.order_by()`), as `get()` would, or the statement sorts (and may join) for nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesIterable, get_related_populators
from django.db.transaction import TransactionManagementError

# Far from any primary key, so a stand-in found among the parameters is the stand-in.
_STAND_IN = -7_340_000_000


class _Statement:
    """One queryset compiled for one database: its SQL, where each argument goes, and how its rows
    become what the queryset would return."""

    def __init__(self, queryset: QuerySet, names: tuple[str, ...], using: str) -> None:
        if queryset._iterable_class not in (ModelIterable, ValuesIterable):
            raise TypeError("only querysets of model instances or of values() are compiled")
        query = queryset.query
        compiler = query.get_compiler(using=using)
        connection = compiler.connection
        self.for_update = bool(query.select_for_update) and connection.features.has_select_for_update
        # Compiling refuses FOR UPDATE outside a transaction; `run` checks that at each call.
        with transaction.atomic(using=using) if connection.get_autocommit() else nullcontext():
            self.sql, params = compiler.as_sql()
        stand_ins = {_STAND_IN - i: name for i, name in enumerate(names)}
        self.params = list(params)
        self.slots = [(i, stand_ins[p]) for i, p in enumerate(self.params) if _is_stand_in(p, stand_ins)]
        if {name for _, name in self.slots} != set(names):
            raise ValueError(f"every argument must be a parameter of the statement: {names}")
        select = compiler.select[: compiler.col_count]
        self.width = compiler.col_count
        self.converters = [
            (i, convs, expression)
            for i, (convs, expression) in compiler.get_converters([s[0] for s in select]).items()
        ]
        self.values = queryset._iterable_class is ValuesIterable
        if self.values:  # as `ValuesIterable` names the columns
            if query.selected:
                self.names = list(query.selected)
            else:
                self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        else:
            klass_info = compiler.klass_info
            self.model = klass_info["model"]
            fields = klass_info["select_fields"]
            self.start, self.end = fields[0], fields[-1] + 1
            self.init_list = [f[0].target.attname for f in compiler.select[self.start : self.end]]
            self.populators = get_related_populators(klass_info, compiler.select, using)
            self.annotations = list(compiler.annotation_col_map.items())

    def run(self, using: str, values: dict[str, int]) -> list:
        connection = connections[using]
        if self.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(self.params)
        for i, name in self.slots:
            params[i] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        out = []
        for raw in rows:
            row = list(raw[: self.width])
            for i, convs, expression in self.converters:
                value = row[i]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[i] = value
            if self.values:
                out.append(dict(zip(self.names, row, strict=True)))
                continue
            obj = self.model.from_db(using, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations:
                setattr(obj, name, row[position])
            out.append(obj)
        return out


def _is_stand_in(value: Any, stand_ins: dict[int, str]) -> bool:
    return type(value) is int and value in stand_ins


class Compiled:
    """A queryset built by `build(**arguments)`, compiled once per database and run with the
    arguments of each call (see the module). `all(**arguments)` returns its rows as a list."""

    def __init__(self, build: Callable[..., QuerySet], *names: str) -> None:
        self.build = build
        self.names = names
        self._statements: dict[str, _Statement] = {}
        self._lock = threading.Lock()

    def _statement(self, using: str) -> _Statement:
        statement = self._statements.get(using)
        if statement is None:
            with self._lock:
                statement = self._statements.get(using)
                if statement is None:
                    stand_ins = {name: _STAND_IN - i for i, name in enumerate(self.names)}
                    queryset = self.build(**stand_ins)
                    statement = _Statement(queryset, self.names, using)
                    self._statements[using] = statement
        return statement

    def all(self, using: str = DEFAULT_DB_ALIAS, **arguments: int) -> list:
        if set(arguments) != set(self.names):
            raise TypeError(f"arguments {sorted(arguments)} differ from {sorted(self.names)}")
        for name, value in arguments.items():
            if type(value) is not int:
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        return self._statement(using).run(using, arguments)

    def sql(self, using: str = DEFAULT_DB_ALIAS) -> str:
        """The statement as compiled for `using` (for tests and for reading)."""
        return self._statement(using).sql


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
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
