from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = "Traceability"

    def ready(self) -> None:
        from mes import navigation

        navigation.register(navigation.NavItem("Audit trail", "audit_trail", "mes.view_auditseal", order=75))
        # Auditors, quality engineers and supervisors trace lots and serials.
        navigation.register(navigation.NavItem("Trace", "trace", "workorders.view_lot", order=70))
