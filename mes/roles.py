"""The roles of the plant, as Django groups with permissions.

Groups are created by data migrations: `mes` creates them with the plant permissions, and each
later app's migration grants its own permissions with `grant()`. The auditor holds every view
permission and nothing else: read-only everywhere.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions

OPERATOR = "operator"
SUPERVISOR = "supervisor"
QUALITY = "quality"
AUDITOR = "auditor"
ADMIN = "admin"
ALL_ROLES = [OPERATOR, SUPERVISOR, QUALITY, AUDITOR, ADMIN]


def _permissions(apps, dotted: list[str]):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for name in dotted:
        app_label, codename = name.split(".", 1)
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def ensure_permissions(apps, *app_labels: str) -> None:
    """Create the permissions of these apps now; Django only does it after all migrations."""
    for label in app_labels:
        app_config = apps.get_app_config(label)
        # Migration app configs are stubs without a models module; create_permissions needs one.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, role: str, dotted: list[str]) -> None:
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.add(*_permissions(apps, dotted))


def grant_view_all(apps, role: str, app_labels: list[str]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=app_labels, codename__startswith="view_")
    )


def grant_all(apps, role: str, app_labels: list[str]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.add(*Permission.objects.filter(content_type__app_label__in=app_labels))


def role_of(user) -> str | None:
    """The user's main role, the most privileged of their groups (for the landing page)."""
    names = {g.name for g in user.groups.all()}
    if user.is_superuser:
        return ADMIN
    for role in [ADMIN, SUPERVISOR, QUALITY, AUDITOR, OPERATOR]:
        if role in names:
            return role
    return None
