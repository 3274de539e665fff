from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Quality")
    demo_seeder = "quality.demo.seed_quality"  # run by seed_demo only (see mes.demo)

    def ready(self):
        # Every consequence quality has on production is registered here (see quality/guards.py):
        # the checklist interlock, "no work on a held order", and at Start the qualification and
        # "SOPs read" guards.
        from mes import navigation
        from quality import guards
        from quality.live import line_figures
        from quality.reminders import forms_due
        from workorders.extensions import (
            register_board_panel,
            register_line_figures,
            register_operation_panel,
            register_workstation_reminder,
        )

        guards.register()
        register_operation_panel("quality_operation_panel")
        register_line_figures(line_figures)  # open nonconformances and holds on the dashboards
        register_board_panel("quality_summary", "quality.view_nonconformance")
        register_workstation_reminder(forms_due)  # forms due, on the tablet's queue
        navigation.register(
            navigation.NavItem(_("Quality"), "quality_overview", "quality.view_nonconformance", order=40),
            navigation.NavItem(
                _("Checklists"), "quality_templates", "quality.view_checklisttemplate", order=41
            ),
            navigation.NavItem(_("SOPs"), "quality_sops", "quality.view_sopdocument", order=42),
            navigation.NavItem(
                _("Qualifications"), "quality_qualifications", "quality.view_qualification", order=43
            ),
            navigation.NavItem(
                _("SOPs to read"), "quality_sops_unread", "quality.view_sopacknowledgement", order=44
            ),
        )
