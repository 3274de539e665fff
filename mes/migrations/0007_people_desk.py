"""The people desk: a person's sites kept in their history, and supervisors managing people.

Supervisors get `mes.add_user` and `mes.change_user` for the people desk (their own sites only,
roles up to supervisor: the services enforce that); admins hold every `mes` permission already.
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from mes import roles

PEOPLE_DESK = ["mes.add_user", "mes.change_user"]


def grant_people_desk(apps, schema_editor):
    roles.ensure_permissions(apps, "mes")
    roles.grant(apps, roles.SUPERVISOR, PEOPLE_DESK)


def revoke_people_desk(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [name.split(".", 1)[1] for name in PEOPLE_DESK]
    for group in Group.objects.filter(name=roles.SUPERVISOR):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="mes", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0006_company_sign_in"),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalUser_sites",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("m2m_history_id", models.AutoField(primary_key=True, serialize=False)),
                (
                    "history",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        to="mes.historicaluser",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mes.site",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "HistoricalUser_sites",
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(grant_people_desk, revoke_people_desk),
    ]
