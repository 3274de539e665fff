"""Grant the lot and genealogy permissions to the roles; keep genealogy append-only on PostgreSQL.

Genealogy links are never changed or deleted. A consumption is never deleted and only its
`quantity_allocated` counter (the share already linked to serial units) may change.
"""

from django.db import migrations

from mes import roles

VIEW = ["workorders.view_lot", "workorders.view_genealogylink", "workorders.view_consumption"]
PERMISSIONS = {
    roles.SUPERVISOR: [*VIEW, "workorders.add_lot"],
    roles.QUALITY: VIEW,
}

TRIGGERS = """
CREATE TRIGGER workorders_genealogylink_append_only
    BEFORE UPDATE OR DELETE ON workorders_genealogylink
    FOR EACH ROW EXECUTE FUNCTION mes_refuse_change();
CREATE OR REPLACE FUNCTION mes_consumption_allocation_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.event_id <> OLD.event_id OR NEW.lot_id <> OLD.lot_id
       OR NEW.work_order_id <> OLD.work_order_id OR NEW.operation_id <> OLD.operation_id
       OR NEW.quantity <> OLD.quantity THEN
        RAISE EXCEPTION 'consumptions are append-only: % refused on %', TG_OP, TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workorders_consumption_append_only
    BEFORE UPDATE OR DELETE ON workorders_consumption
    FOR EACH ROW EXECUTE FUNCTION mes_consumption_allocation_only();
"""
DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS workorders_genealogylink_append_only ON workorders_genealogylink;
DROP TRIGGER IF EXISTS workorders_consumption_append_only ON workorders_consumption;
DROP FUNCTION IF EXISTS mes_consumption_allocation_only();
"""


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "workorders")
    for role, perms in PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["workorders"])
    roles.grant_all(apps, roles.ADMIN, ["workorders"])


def append_only(apps, schema_editor):
    # TRUNCATE (how tests reset tables) fires no row trigger, so test isolation still works.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGERS, params=None)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS, params=None)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0004_lots_genealogy_history")]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
