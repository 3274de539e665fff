from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = "Traceability"

    def ready(self) -> None:
        from mes import metrics, navigation
        from traceability.selectors.jobs import report_job_gauges

        metrics.register_scrape(
            metrics.gauges(
                "mes_report_jobs",
                {"queued": "Report jobs waiting for a worker.", "running": "Report jobs being made now."},
                report_job_gauges,
            )
        )

        navigation.register(navigation.NavItem("Audit trail", "audit_trail", "mes.view_auditseal", order=75))
        # Auditors, quality engineers and supervisors trace lots and serials.
        navigation.register(navigation.NavItem("Trace", "trace", "workorders.view_lot", order=70))
        # Quality reviews production records; auditors and supervisors read them.
        navigation.register(
            navigation.NavItem("Records", "record_list", "traceability.view_recordreview", order=72)
        )
