"""Edits after the fact in an order's production record: the history rows of the records it
covers that changed one of their facts (not their lifecycle), read in one query for all of them."""

from __future__ import annotations

from django.db import connection

from mes.compiled import padded_ids, statement_cursor
from mes.models import User
from quality.models import ChecklistRun
from traceability.record.parts import instant
from workorders.models import Consumption, Lot, WorkOrder, WorkOrderOperation

# The history rows that change a fact of the record (not its lifecycle): an edit after the fact.
# Per model, the fields that are facts; a change of status or a timestamp is the record's life.
EDITED_FACTS: dict[type, tuple[str, ...]] = {
    WorkOrder: ("number", "product_id", "routing_id", "line_id", "quantity"),
    WorkOrderOperation: ("sequence", "name", "workstation_id", "setup_seconds", "ideal_cycle_seconds"),
    Consumption: ("lot_id", "operation_id", "quantity"),
    Lot: ("code", "kind", "product_id", "work_order_id", "produced_at"),
    ChecklistRun: ("version_id", "template_id", "workstation_id", "work_order_id", "operation_id"),
}


# The columns every history table has, in the order the rows of `_history_rows` give them.
HISTORY_COLUMNS = (
    "id",
    "history_id",
    "history_type",
    "history_date",
    "history_change_reason",
    "history_user_id",
)


# Each model's SELECT of `_history_rows` up to its list of ids, by database and models: the same
# for every record, and the typed empty columns cost more to write than the query takes to run.
_HISTORY_SELECTS: dict[tuple, list[str]] = {}


def _history_selects(models: tuple[type, ...]) -> list[str]:
    key = (connection.vendor, models)
    if key in _HISTORY_SELECTS:
        return _HISTORY_SELECTS[key]
    qn = connection.ops.quote_name
    facts = [model.history.model._meta.get_field(fact) for model in models for fact in EDITED_FACTS[model]]
    selects = []
    for index, model in enumerate(models):
        history = model.history.model
        columns = [
            str(index),
            *(
                # The time as the database's text, parsed by `parts.instant`: Django's conversion of
                # each timestamp costs more than the rest of the row.
                f"CAST({qn(column)} AS text)" if name == "history_date" else qn(column)
                for name, column in ((name, history._meta.get_field(name).column) for name in HISTORY_COLUMNS)
            ),
        ]
        columns += [
            # A typed empty value: PostgreSQL matches the branches' types pairwise, and would take
            # an untyped NULL in two branches as text.
            qn(field.column) if field.model is history else f"CAST(NULL AS {field.db_type(connection)})"
            for field in facts
        ]
        selects.append(
            f"SELECT {', '.join(columns)} FROM {qn(history._meta.db_table)} "
            f"WHERE {qn(history._meta.get_field('id').column)} IN"
        )
    _HISTORY_SELECTS[key] = selects
    return selects


def _history_rows(records: dict[type, list[int]]) -> list[list]:
    """The history rows of the given records, of every model in one UNION ALL query, ordered by
    model (in the order of `records`), record id and time: lists of the model's index, the
    `HISTORY_COLUMNS` and the facts of every model (`EDITED_FACTS`, a column each, empty on the
    other models' rows, which keeps each fact's own type).

    Written as SQL: built with the ORM, the many typed empty columns cost more to compile than
    the queries per model it replaces. The values are converted as the ORM converts them.

    Run as the compiled reads run (`statement_cursor`: prepared on PostgreSQL once run again),
    each list of ids filled up to a power of two (`padded_ids`), so that records of orders of
    about the same size share one statement."""
    selects = _history_selects(tuple(records))
    branches, params = [], []
    for select, ids in zip(selects, records.values(), strict=True):
        if ids:
            padded = padded_ids(ids)
            branches.append(f"{select} ({', '.join(['%s'] * len(padded))})")
            params += padded
    if not branches:
        return []
    with statement_cursor(connection) as cursor:
        # By model, record, time (read as text, which sorts as the time: one form, one offset) and
        # history row.
        cursor.execute(" UNION ALL ".join(branches) + " ORDER BY 1, 2, 5, 3", params)
        rows = cursor.fetchall()
    facts = [model.history.model._meta.get_field(fact) for model in records for fact in EDITED_FACTS[model]]
    any_history = next(model.history.model for model in records)
    fields = [any_history._meta.get_field(name) for name in HISTORY_COLUMNS] + facts
    converting = []
    for position, field in enumerate(fields, start=1):
        if field.name == "history_date":
            continue  # read as text (see `_history_selects`)
        column = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            converting.append((position, column, converters))
    at = 1 + HISTORY_COLUMNS.index("history_date")
    out = []
    for row in rows:
        row = list(row)
        row[at] = instant(row[at])
        for position, column, converters in converting:
            for convert in converters:
                row[position] = convert(row[position], column, connection)
        out.append(row)
    return out


def edits_data(records: dict[type, list[int]], names: dict[int, str]) -> list[dict]:
    """History rows of the given records that changed one of their facts (one query for all of
    them, read as values; one more for the people who made them if `names` doesn't know them), by
    time."""
    models = list(records)
    # Where each model's facts sit in a row of `_history_rows`.
    first_fact = {}
    position = 1 + len(HISTORY_COLUMNS)
    for model in models:
        first_fact[model] = position
        position += len(EDITED_FACTS[model])
    out = []
    previous: dict[tuple[int, int], tuple] = {}
    for row in _history_rows(records):
        index, pk, history_id, history_type, at, reason, user_id = row[: 1 + len(HISTORY_COLUMNS)]
        model = models[index]
        facts = EDITED_FACTS[model]
        values = row[first_fact[model] : first_fact[model] + len(facts)]
        before = previous.get((index, pk))
        previous[(index, pk)] = values
        if before is None or history_type != "~":
            continue
        changed = [(k, f) for k, f in enumerate(facts) if values[k] != before[k]]
        if changed:
            out.append(
                {
                    "record": model._meta.label_lower,
                    "record_id": pk,
                    "history_id": history_id,
                    "fields": {f: [before[k], values[k]] for k, f in changed},
                    "by": user_id,  # the person's id until the names are known (below)
                    "at": at,
                    "reason": reason or "",
                }
            )
    unknown = {e["by"] for e in out} - set(names) - {None}
    if unknown:
        names = names | {pk: u.printed_name for pk, u in User.objects.in_bulk(unknown).items()}
    for e in out:
        e["by"] = names.get(e["by"], "") if e["by"] is not None else ""
    return sorted(out, key=lambda e: (e["at"], e["history_id"]))
