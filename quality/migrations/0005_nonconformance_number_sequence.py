"""On PostgreSQL, nonconformance numbers come from a sequence: concurrent tablets never draw the
same number (a sequence is outside transactions; a rolled-back opening leaves a gap)."""

from django.db import migrations

SEQUENCE = "quality_nonconformance_number_seq"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")
    schema_editor.execute(
        f"SELECT setval('{SEQUENCE}', COALESCE((SELECT MAX(id) FROM quality_nonconformance), 0) + 1, false)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("quality", "0004_sop_images_and_response_history")]
    operations = [migrations.RunPython(create, drop)]
