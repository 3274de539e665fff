from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "ERP integration"

    def ready(self):
        # Every consequence integration attaches to production, in one place:
        from integration import demo  # noqa: F401  (registers the integration part of seed_demo)
        from integration.alerts import dead_letter_count
        from integration.handlers import write_outbox
        from mes import hooks, navigation

        hooks.register_event_handler(write_outbox)  # the outbox row, in the event's transaction
        navigation.register(
            navigation.NavItem(
                "Integration",
                "integration_console",
                "integration.view_outboxmessage",
                order=60,
                badge=dead_letter_count,  # dead letters wait for a person to retry or skip them
            )
        )
