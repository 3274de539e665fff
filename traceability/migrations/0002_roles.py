"""Let the auditor, quality engineers and supervisors trace lots and serials and run reports."""

from django.db import migrations

from mes import roles

TRACE = ["workorders.view_lot", "workorders.view_genealogylink", "workorders.view_consumption"]
PERMISSIONS = {
    roles.SUPERVISOR: [*TRACE, "traceability.view_reportjob"],
    roles.QUALITY: [*TRACE, "traceability.view_reportjob"],
}


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "workorders", "traceability")
    for role, perms in PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["workorders", "traceability"])
    roles.grant_all(apps, roles.ADMIN, ["workorders", "traceability"])


class Migration(migrations.Migration):
    dependencies = [
        ("traceability", "0001_initial"),
        ("workorders", "0004_lots_genealogy_history"),
        ("mes", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
