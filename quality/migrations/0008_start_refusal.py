"""Refused Starts are kept as rows (append-only); supervisors and quality see them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from mes import roles

PERMISSIONS = {
    roles.SUPERVISOR: ["quality.view_startrefusal"],
    roles.QUALITY: ["quality.view_startrefusal"],
}

# quality_refuse_change() is made by 0002_roles_and_append_only.
APPEND_ONLY = """
CREATE TRIGGER quality_startrefusal_append_only
    BEFORE UPDATE OR DELETE ON quality_startrefusal
    FOR EACH ROW EXECUTE FUNCTION quality_refuse_change();
"""
DROP_APPEND_ONLY = "DROP TRIGGER IF EXISTS quality_startrefusal_append_only ON quality_startrefusal;"


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "quality")
    for role, perms in PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["quality"])
    roles.grant_all(apps, roles.ADMIN, ["quality"])


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0007_people_desk"),
        ("quality", "0007_qualification"),
        ("workorders", "0008_ledger_is_its_own_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StartRefusal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "guard",
                    models.CharField(
                        choices=[("qualification", "Not qualified"), ("sop", "SOP not read")], max_length=16
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        help_text="The refusal's machine code (not_qualified...).", max_length=32
                    ),
                ),
                ("message", models.CharField(help_text="What the person was told.", max_length=500)),
                (
                    "idempotency_key",
                    models.UUIDField(help_text="The refused tap's key: a resend is one refusal."),
                ),
                ("refused_at", models.DateTimeField()),
                (
                    "operation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="workorders.workorderoperation",
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
                    "work_order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="workorders.workorder",
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
                "ordering": ["-refused_at", "-id"],
                "indexes": [models.Index(fields=["workstation", "refused_at"], name="start_refusal_ws_time")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "idempotency_key"), name="start_refusal_once_per_tap"
                    )
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
