"""Handovers between shifts, and their acknowledgements (with history); the auditor may read them."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from mes import roles


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "workorders")
    roles.grant_view_all(apps, roles.AUDITOR, ["workorders"])
    roles.grant_all(apps, roles.ADMIN, ["workorders"])


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0007_people_desk"),
        ("workorders", "0008_ledger_is_its_own_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Handover",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("open_issues", models.TextField(blank=True, max_length=2000, verbose_name="open issues")),
                ("material", models.TextField(blank=True, max_length=2000, verbose_name="material")),
                (
                    "machine_condition",
                    models.TextField(blank=True, max_length=2000, verbose_name="machine condition"),
                ),
                (
                    "quality_watch_outs",
                    models.TextField(blank=True, max_length=2000, verbose_name="quality watch-outs"),
                ),
                ("created_at", models.DateTimeField()),
                (
                    "idempotency_key",
                    models.UUIDField(help_text="The tablet's key: a resend is kept once.", unique=True),
                ),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "line",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="handovers", to="mes.line"
                    ),
                ),
                (
                    "workstation",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: for every workstation of the line.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="handovers",
                        to="mes.workstation",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="HandoverAcknowledgement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("acknowledged_at", models.DateTimeField()),
                (
                    "handover",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="acknowledgements",
                        to="workorders.handover",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workstation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="mes.workstation"
                    ),
                ),
            ],
            options={
                "ordering": ["acknowledged_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalHandover",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("open_issues", models.TextField(blank=True, max_length=2000, verbose_name="open issues")),
                ("material", models.TextField(blank=True, max_length=2000, verbose_name="material")),
                (
                    "machine_condition",
                    models.TextField(blank=True, max_length=2000, verbose_name="machine condition"),
                ),
                (
                    "quality_watch_outs",
                    models.TextField(blank=True, max_length=2000, verbose_name="quality watch-outs"),
                ),
                ("created_at", models.DateTimeField()),
                (
                    "idempotency_key",
                    models.UUIDField(db_index=True, help_text="The tablet's key: a resend is kept once."),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "author",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "line",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mes.line",
                    ),
                ),
                (
                    "workstation",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Empty: for every workstation of the line.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mes.workstation",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical handover",
                "verbose_name_plural": "historical handovers",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalHandoverAcknowledgement",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("acknowledged_at", models.DateTimeField()),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "handover",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="workorders.handover",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workstation",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mes.workstation",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical handover acknowledgement",
                "verbose_name_plural": "historical handover acknowledgements",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddIndex(
            model_name="handover",
            index=models.Index(fields=["line", "created_at"], name="handover_line_time"),
        ),
        migrations.AddConstraint(
            model_name="handoveracknowledgement",
            constraint=models.UniqueConstraint(
                fields=("handover", "user"), name="handover_acknowledged_once"
            ),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
