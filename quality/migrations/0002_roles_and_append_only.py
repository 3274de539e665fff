"""Grant the quality permissions to the roles; make responses and acknowledgements append-only."""

from django.db import migrations

from mes import roles

VIEW = [
    "quality.view_checklisttemplate", "quality.view_checklisttemplateversion", "quality.view_checklistitem",
    "quality.view_operationchecklist", "quality.view_formassignment", "quality.view_checklistrun",
    "quality.view_checklistresponse", "quality.view_nonconformance", "quality.view_hold",
    "quality.view_sopdocument", "quality.view_sopversion", "quality.view_operationsop",
    "quality.view_sopacknowledgement", "quality.view_qualitysettings", "mes.view_signature",
]
PERMISSIONS = {
    roles.OPERATOR: ["quality.fill_checklist", "quality.acknowledge_sop"],
    roles.SUPERVISOR: [
        *VIEW, "quality.fill_checklist", "quality.acknowledge_sop", "quality.add_nonconformance",
        "quality.add_hold",
    ],
    roles.QUALITY: [
        *VIEW, "quality.author_checklist", "quality.approve_checklist", "quality.add_checklisttemplate",
        "quality.change_checklisttemplate", "quality.add_operationchecklist",
        "quality.change_operationchecklist", "quality.delete_operationchecklist",
        "quality.add_formassignment", "quality.change_formassignment", "quality.add_nonconformance",
        "quality.change_nonconformance", "quality.disposition_nonconformance", "quality.add_hold",
        "quality.release_hold", "quality.author_sop", "quality.approve_sop", "quality.add_operationsop",
        "quality.fill_checklist",
    ],
}

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION quality_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'quality records are append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER quality_checklistresponse_append_only
    BEFORE UPDATE OR DELETE ON quality_checklistresponse
    FOR EACH ROW EXECUTE FUNCTION quality_refuse_change();
CREATE TRIGGER quality_sopacknowledgement_append_only
    BEFORE UPDATE OR DELETE ON quality_sopacknowledgement
    FOR EACH ROW EXECUTE FUNCTION quality_refuse_change();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS quality_checklistresponse_append_only ON quality_checklistresponse;
DROP TRIGGER IF EXISTS quality_sopacknowledgement_append_only ON quality_sopacknowledgement;
"""


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "mes", "quality")
    for role, perms in PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["quality", "mes"])
    roles.grant_all(apps, roles.ADMIN, ["quality", "mes"])


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0001_initial"),
        ("mes", "0003_signature"),
        ("workorders", "0002_roles_and_append_only_ledger"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
