from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _protect_history_tables(sender, using="default", **kwargs) -> None:
    from mes.seal import protect_history_tables

    protect_history_tables(using)


class MesConfig(AppConfig):
    name = "mes"
    verbose_name = _("Plant and people")
    demo_seeder = "mes.demo.seed_plant"  # run by seed_demo only (see mes.demo)

    def ready(self) -> None:
        from mes import metrics, navigation, roles
        from mes.auth import connect_permission_cache
        from mes.selectors import audit_seal_gauges

        # Once per migrate, after every app's migrations: each history table is append-only.
        post_migrate.connect(_protect_history_tables, sender=self)
        connect_permission_cache()  # a change of roles invalidates the cached permissions
        metrics.register_scrape(
            metrics.gauges(
                "mes_audit",
                {"last_seal_age_seconds": "Seconds since the newest audit seal (-1: nothing sealed yet)."},
                audit_seal_gauges,
            )
        )

        navigation.register(
            navigation.NavItem(_("Plant"), "plant_overview", "mes.view_site", order=20),
            navigation.NavItem(_("Tablets"), "tablet_list", "mes.bind_tablet", order=80),
            navigation.NavItem(_("People"), "person_list", "mes.change_user", order=85),
        )
        navigation.set_landing(roles.OPERATOR, "tablet_home")
        for role in (roles.SUPERVISOR, roles.QUALITY, roles.AUDITOR, roles.ADMIN):
            navigation.set_landing(role, "plant_overview")
