"""Indexes the auditor's queries need on the large history tables of production.

"This person, this period" and "this record's history" filter on history_user_id with
history_date, and on id with history_id; simple-history indexes each column apart. Plain SQL (no
model state), since simple-history builds these models' Meta itself.
"""

from django.db import migrations

HISTORY_TABLES = [
    "workorders_historicalproductionevent",
    "workorders_historicallot",
    "workorders_historicalgenealogylink",
    "workorders_historicalconsumption",
    "workorders_historicalworkorder",
    "workorders_historicalworkorderoperation",
]


def create(apps, schema_editor):
    for table in HISTORY_TABLES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_user_date ON {table} (history_user_id, history_date)"
        )
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {table}_record ON {table} (id, history_id)")


def drop(apps, schema_editor):
    for table in HISTORY_TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_user_date")
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_record")


class Migration(migrations.Migration):
    dependencies = [("workorders", "0005_lot_roles_and_append_only_genealogy")]
    operations = [migrations.RunPython(create, drop)]
