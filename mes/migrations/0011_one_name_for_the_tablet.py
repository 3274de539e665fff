"""The shared tablet is called `Tablet` everywhere (it was `Kiosk` in the code).

Its tables and the sign-in log's column keep their names: the audit seal names the tables and
columns it hashed, and sealed evidence is never moved. The permission keeps its row (and so every
role that holds it) under its new codename, and cached permission sets are dropped so nobody holds
the earlier name after the upgrade.
"""

from django.db import migrations, models

from mes.auth import permissions_changed

RENAMED_PERMISSIONS = {
    "bind_kiosk": "bind_tablet",
    "add_kiosk": "add_tablet",
    "change_kiosk": "change_tablet",
    "delete_kiosk": "delete_tablet",
    "view_kiosk": "view_tablet",
    "add_historicalkiosk": "add_historicaltablet",
    "change_historicalkiosk": "change_historicaltablet",
    "delete_historicalkiosk": "delete_historicaltablet",
    "view_historicalkiosk": "view_historicaltablet",
}


def rename_permissions(apps, schema_editor):
    _rename(apps, RENAMED_PERMISSIONS)


def rename_permissions_back(apps, schema_editor):
    _rename(apps, {now: earlier for earlier, now in RENAMED_PERMISSIONS.items()})


def _rename(apps, renames):
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(content_type__app_label="mes", codename__in=renames):
        permission.codename = renames[permission.codename]
        permission.name = permission.name.replace("kiosk", "tablet")
        permission.save(update_fields=["codename", "name"])
    permissions_changed()


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0010_audit_seal_columns"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # Pin the table names first, so the renames below move no table.
        migrations.AlterModelTable(name="kiosk", table="mes_kiosk"),
        migrations.AlterModelTable(name="historicalkiosk", table="mes_historicalkiosk"),
        migrations.AlterField(
            model_name="signinattempt",
            name="kiosk",
            field=models.ForeignKey(
                blank=True,
                db_column="kiosk_id",
                help_text="The bound tablet the attempt was made at.",
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="+",
                to="mes.kiosk",
            ),
        ),
        migrations.RenameModel(old_name="Kiosk", new_name="Tablet"),
        migrations.RenameModel(old_name="HistoricalKiosk", new_name="HistoricalTablet"),
        migrations.RenameField(model_name="signinattempt", old_name="kiosk", new_name="tablet"),
        migrations.AlterField(
            model_name="tablet",
            name="workstation",
            field=models.ForeignKey(
                on_delete=models.deletion.PROTECT, related_name="tablets", to="mes.workstation"
            ),
        ),
        migrations.AlterModelOptions(
            name="historicaltablet",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical tablet",
                "verbose_name_plural": "historical tablets",
            },
        ),
        migrations.AlterModelOptions(
            name="workstation",
            options={
                "ordering": ["line__site__code", "line__code", "code"],
                "permissions": [
                    ("use_tablet", "Work at a workstation tablet"),
                    ("bind_tablet", "Bind a tablet to a workstation"),
                ],
            },
        ),
        migrations.RunPython(rename_permissions, rename_permissions_back),
    ]
