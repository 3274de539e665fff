"""Grant the production permissions to the roles, and make the ledger append-only on PostgreSQL."""

from django.db import migrations

from mes import roles

VIEW = [
    "workorders.view_product", "workorders.view_bomline", "workorders.view_routing",
    "workorders.view_routingoperation", "workorders.view_reasoncode", "workorders.view_workorder",
    "workorders.view_workorderoperation", "workorders.view_productionevent", "workorders.view_downtime",
]
PERMISSIONS = {
    # Operators work through the tablet, which needs only this; the board is for supervisors.
    roles.OPERATOR: ["workorders.record_production", "workorders.view_reasoncode"],
    roles.SUPERVISOR: [
        *VIEW, "workorders.record_production", "workorders.add_workorder", "workorders.change_workorder",
        "workorders.transition_workorder", "workorders.override_quantity",
    ],
    roles.QUALITY: VIEW,
}

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION mes_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the production ledger is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workorders_productionevent_append_only
    BEFORE UPDATE OR DELETE ON workorders_productionevent
    FOR EACH ROW EXECUTE FUNCTION mes_refuse_change();
"""
DROP_APPEND_ONLY = "DROP TRIGGER IF EXISTS workorders_productionevent_append_only ON workorders_productionevent;"


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "workorders")
    for role, perms in PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["workorders"])
    roles.grant_all(apps, roles.ADMIN, ["workorders"])


def append_only(apps, schema_editor):
    # TRUNCATE (how tests reset tables) fires no row trigger, so test isolation still works.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial"), ("mes", "0002_roles")]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
