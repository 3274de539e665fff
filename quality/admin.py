"""Quality records in the admin: read-mostly. Changes go through the services (and their pages),
which record who and why; the admin is for looking, and for the site's quality settings."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from mes.admin_reasons import ReasonedHistoryAdmin
from quality import models


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.QualitySettings)
class QualitySettingsAdmin(ReasonedHistoryAdmin):
    list_display = ["site", "second_person_approval"]


for model, columns in [
    (models.ChecklistTemplate, ["code", "title", "site"]),
    (models.ChecklistTemplateVersion, ["template", "version", "status", "approved_by", "effective_at"]),
    (models.ChecklistRun, ["id", "template", "workstation", "work_order", "status", "completed_at"]),
    (models.Nonconformance, ["number", "title", "status", "disposition", "opened_at"]),
    (models.Hold, ["id", "target", "work_order", "status", "placed_at"]),
    (models.SopDocument, ["code", "title", "site"]),
    (models.SopVersion, ["document", "version", "status", "effective_at"]),
    (models.FormAssignment, ["template", "workstation", "line", "schedule", "active"]),
    (models.OperationChecklist, ["routing_operation", "template", "trigger", "every_n_units"]),
]:
    admin.site.register(model, type(f"{model.__name__}Admin", (ReadOnlyAdmin,), {"list_display": columns}))
