"""Grant the integration permissions: supervisors watch and resolve the outbox; the ERP's API user
(group "erp") pushes master data and orders."""

from django.db import migrations

from mes import roles

ERP_GROUP = "erp"
VIEW = [
    "integration.view_outboxmessage",
    "integration.view_inboundrecord",
    "integration.view_erpendpoint",
]


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "integration")
    roles.grant(apps, roles.SUPERVISOR, [*VIEW, "integration.resolve_outboxmessage"])
    roles.grant_view_all(apps, roles.AUDITOR, ["integration"])
    roles.grant_all(apps, roles.ADMIN, ["integration"])
    roles.grant(apps, ERP_GROUP, ["integration.push_erp_data"])


class Migration(migrations.Migration):
    dependencies = [("integration", "0001_initial"), ("workorders", "0002_roles_and_append_only_ledger")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
