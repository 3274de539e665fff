"""The tables the audit seal covers: simple-history's history tables and the append-only tables
that are their own history."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from simple_history.models import HistoricalChanges

# History tables that a migration dropped on purpose, because their model became its own
# history and is sealed directly since. Seals made before keep their parts of these tables; the
# rows are gone, so a verify takes those parts' stored digests, which the chain still checks.
RETIRED_TABLES = {
    "workorders_historicalproductionevent": "the production ledger, sealed directly since",
}


def history_models() -> dict[str, type[models.Model]]:
    """Every history table, by table name: simple-history's historical models and the history
    of their many-to-many fields (a user's groups)."""
    found: dict[str, type[models.Model]] = {}
    for model in apps.get_models():
        if issubclass(model, HistoricalChanges):
            found[model._meta.db_table] = model
        else:
            history_fk = next((f for f in model._meta.fields if f.name == "history" and f.is_relation), None)
            if history_fk is not None and issubclass(history_fk.related_model, HistoricalChanges):
                found[model._meta.db_table] = model
    return dict(sorted(found.items()))


def append_only_models() -> dict[str, type[models.Model]]:
    """Append-only tables that are their own history, by table name: models that declare
    `sealed_directly = True` (written once, never changed; on PostgreSQL their own trigger
    refuses UPDATE and DELETE). Their rows are sealed by primary key, with no history table."""
    found = {
        model._meta.db_table: model
        for model in apps.get_models()
        if getattr(model, "sealed_directly", False) is True
    }
    return dict(sorted(found.items()))


def sealed_models() -> dict[str, type[models.Model]]:
    """Every table the seal covers: the history tables and the append-only tables."""
    return dict(sorted({**history_models(), **append_only_models()}.items()))
