from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = _("Traceability")

    def ready(self) -> None:
        from mes import metrics, navigation
        from mes.seal import register_seal_check
        from traceability.record import guards
        from traceability.record.seals import broken_record_seals
        from traceability.selectors.jobs import report_job_gauges

        # Every consequence traceability has on production and on the audit verify is registered
        # here: lots of an order whose record is not released are not consumed (where the site
        # asks for it; traceability/record/guards.py), and `verify_audit_trail` reports a released
        # record whose seal is broken (traceability/record/seals.py).
        guards.register()
        register_seal_check("production records", broken_record_seals)

        metrics.register_scrape(
            metrics.gauges(
                "mes_report_jobs",
                {"queued": "Report jobs waiting for a worker.", "running": "Report jobs being made now."},
                report_job_gauges,
            )
        )

        navigation.register(
            navigation.NavItem(_("Audit trail"), "audit_trail", "mes.view_auditseal", order=75)
        )
        # Auditors, quality engineers and supervisors trace lots and serials.
        navigation.register(navigation.NavItem(_("Trace"), "trace", "workorders.view_lot", order=70))
        # Supervisors ship lots and serials to customers (refused while a record must be released).
        navigation.register(navigation.NavItem(_("Ship"), "lot_ship", "traceability.ship_lot", order=71))
        # Quality reviews production records; auditors and supervisors read them.
        navigation.register(
            navigation.NavItem(_("Records"), "record_list", "traceability.view_recordreview", order=72)
        )
