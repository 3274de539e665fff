"""Find active holds on a lot by its code quickly: consumption checks it on every scan."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("quality", "0002_roles_and_append_only")]

    operations = [
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(fields=["lot_code", "status"], name="hold_lot_status"),
        ),
    ]
