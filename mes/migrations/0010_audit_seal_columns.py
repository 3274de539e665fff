"""Each seal part records the columns its rows were hashed over.

The parts sealed before this migration are given their table's columns as the database holds them
now, which are the columns they were hashed over: this migration runs before any that adds a
column to a history table (those depend on it), so later columns never enter old seals."""

from django.db import migrations, models


def record_columns(apps, schema_editor):
    part_model = apps.get_model("mes", "AuditSealPart")
    connection = schema_editor.connection
    existing = set(connection.introspection.table_names())
    described: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in part_model.objects.values_list("table", flat=True).distinct():
            if table in existing:  # a retired table's parts are checked on their stored digests
                described[table] = sorted(
                    c.name for c in connection.introspection.get_table_description(cursor, table)
                )
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:  # the parts are append-only to everyone but a migration recording this
            cursor.execute("ALTER TABLE mes_auditsealpart DISABLE TRIGGER mes_auditsealpart_append_only")
        for table, columns in described.items():
            part_model.objects.filter(table=table).update(columns=columns)
        if postgres:
            cursor.execute("ALTER TABLE mes_auditsealpart ENABLE TRIGGER mes_auditsealpart_append_only")


class Migration(migrations.Migration):
    dependencies = [("mes", "0009_signature_meaning_overridden")]

    operations = [
        migrations.AddField(
            model_name="auditsealpart",
            name="columns",
            field=models.JSONField(default=list, help_text="The table's columns the row hashes cover."),
        ),
        migrations.RunPython(record_columns, migrations.RunPython.noop),
    ]
