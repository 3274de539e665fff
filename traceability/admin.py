"""The admin of traceability: a site's production-record settings (every change states why)."""

from django.contrib import admin

from mes.admin_reasons import ReasonedHistoryAdmin
from traceability import models


@admin.register(models.RecordSettings)
class RecordSettingsAdmin(ReasonedHistoryAdmin):
    list_display = ["site", "requires_record_release"]
