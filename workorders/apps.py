from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = "Production"

    def ready(self):
        from mes import hooks, navigation, roles
        from workorders import demo  # noqa: F401  (registers the production part of seed_demo)
        from workorders.live import demo as live_demo  # noqa: F401  (andon calls, line status in seed_demo)
        from workorders.live.projection import on_production_event

        navigation.register(
            navigation.NavItem("Board", "workorder_board", "workorders.view_workorder", order=30)
        )
        navigation.set_landing(roles.SUPERVISOR, "workorder_board")
        # The operator's tablet opens on the workstation queue.
        navigation.register(
            navigation.NavItem("Workstation", "workstation_queue", "workorders.record_production", order=10)
        )
        navigation.set_tablet_home("workstation_queue")
        navigation.set_landing(roles.OPERATOR, "workstation_queue")
        # Live line status: every ledger event updates the status rows and raises the line's
        # sequence in its own transaction; the dashboards get the delta after commit.
        hooks.register_event_handler(on_production_event)
        navigation.register(navigation.NavItem("Live", "live_home", "workorders.view_linestatus", order=20))
        navigation.register(navigation.NavItem("Receiving", "lot_receive", "workorders.add_lot", order=35))
