from importlib import import_module

from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = "Production"
    demo_seeder = "workorders.demo.seed"  # run by seed_demo only (see mes.demo)

    def import_models(self):
        super().import_models()
        # The live picture's models (status rows, andon calls, machine counters) live in their own
        # package, which builds on `workorders.models`; Django loads an app's models from
        # `<app>.models` only, so the app loads them here rather than `models` importing back.
        import_module("workorders.live.models")

    def ready(self):
        from mes import hooks, navigation, roles, workload
        from workorders.live.broadcast import on_production_event
        from workorders.monitoring import observe_production_event
        from workorders.selectors.queued import queued_per_workstation

        navigation.register(
            navigation.NavItem("Board", "workorder_board", "workorders.view_workorder", order=30)
        )
        navigation.set_landing(roles.SUPERVISOR, "workorder_board")
        # The operator's tablet opens on the workstation queue.
        navigation.register(
            navigation.NavItem("Workstation", "workstation_queue", "workorders.record_production", order=10)
        )
        navigation.set_tablet_home("workstation_queue")
        workload.set_queue_counter(queued_per_workstation)  # the Tablets page shows work queued
        navigation.set_landing(roles.OPERATOR, "workstation_queue")
        # Live line status: every ledger event updates the status rows and raises the line's
        # sequence in its own transaction; the dashboards get the delta after commit.
        hooks.register_event_handler(on_production_event)
        hooks.register_event_handler(observe_production_event)  # /metrics and the log, after commit
        navigation.register(navigation.NavItem("Live", "live_home", "workorders.view_linestatus", order=20))
        navigation.register(navigation.NavItem("Receiving", "lot_receive", "workorders.add_lot", order=35))
        navigation.register(navigation.NavItem("Losses", "losses", "workorders.view_workorder", order=32))
