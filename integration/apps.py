from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = _("ERP integration")
    # Run by seed_demo only (see mes.demo): delivery off for that short-lived process, then the
    # endpoint and the delivery of what the other apps' seeding wrote.
    demo_prepare = "integration.demo.quiet"
    demo_seeder = "integration.demo.seed_integration"

    def ready(self):
        # Every consequence integration attaches to production, in one place:
        from integration.alerts import dead_letter_count
        from integration.handlers import write_outbox
        from integration.labor import write_labor_outbox
        from integration.selectors import outbox_gauges
        from mes import hooks, metrics, navigation

        hooks.register_event_handler(write_outbox)  # the outbox row, in the event's transaction
        hooks.register_event_handler(write_labor_outbox)  # labor, when an event closes it (after the above)
        metrics.register_scrape(
            metrics.gauges(
                "mes_erp_outbox",
                {
                    "depth": "Outbox messages waiting for the ERP (pending, or sent and not answered yet).",
                    "oldest_pending_age_seconds": "Age of the oldest pending outbox message (0: none).",
                    "dead_letters": "Outbox messages given up on; a person must retry or skip them.",
                },
                outbox_gauges,
            )
        )
        navigation.register(
            navigation.NavItem(
                _("Integration"),
                "integration_console",
                "integration.view_outboxmessage",
                order=60,
                badge=dead_letter_count,  # dead letters wait for a person to retry or skip them
            )
        )
