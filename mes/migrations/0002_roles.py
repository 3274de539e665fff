"""Create the plant's roles as groups with their permissions."""

from django.db import migrations

from mes import roles

# The grants as this migration made them, in the permission names of the time: a later
# migration renames a permission in place (0011), and the roles keep what they hold.
PLANT_PERMISSIONS = {
    roles.OPERATOR: ["mes.use_tablet", "mes.view_workstation"],
    roles.SUPERVISOR: [
        "mes.use_tablet",
        "mes.bind_kiosk",
        "mes.view_kiosk",
        "mes.view_site",
        "mes.view_line",
        "mes.view_workstation",
        "mes.view_shift",
    ],
    roles.QUALITY: ["mes.view_site", "mes.view_line", "mes.view_workstation", "mes.view_shift"],
}


def create_roles(apps, schema_editor):
    roles.ensure_permissions(apps, "auth", "contenttypes", "sessions", "admin", "authtoken", "mes")
    Group = apps.get_model("auth", "Group")
    for role in roles.ALL_ROLES:
        Group.objects.get_or_create(name=role)
    for role, perms in PLANT_PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["mes", "auth"])
    roles.grant_all(apps, roles.ADMIN, ["mes", "auth", "authtoken", "admin"])


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=roles.ALL_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
