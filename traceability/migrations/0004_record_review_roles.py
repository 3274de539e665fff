"""Quality reviews, releases and rejects production records; supervisors read them; the auditor
reads everything (view permissions), the administrator may do everything."""

from django.db import migrations

from mes import roles

VIEW = ["traceability.view_recordreview", "traceability.view_recordcomment"]
PERMISSIONS = {
    roles.QUALITY: [*VIEW, "traceability.review_record"],
    roles.SUPERVISOR: VIEW,
}


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "traceability")
    for role, perms in PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["traceability"])
    roles.grant_all(apps, roles.ADMIN, ["traceability"])


class Migration(migrations.Migration):
    dependencies = [("traceability", "0003_record_review")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
