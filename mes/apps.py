from django.apps import AppConfig


class MesConfig(AppConfig):
    name = "mes"
    verbose_name = "Plant and people"

    def ready(self) -> None:
        from mes import navigation, roles

        navigation.register(
            navigation.NavItem("Plant", "plant_overview", "mes.view_site", order=20),
            navigation.NavItem("Tablets", "kiosk_list", "mes.bind_kiosk", order=80),
        )
        navigation.set_landing(roles.OPERATOR, "tablet_home")
        for role in (roles.SUPERVISOR, roles.QUALITY, roles.AUDITOR, roles.ADMIN):
            navigation.set_landing(role, "plant_overview")
