from django.contrib import admin

from integration.models import ErpEndpoint, InboundRecord, OutboxMessage
from mes.admin_reasons import ReasonedHistoryAdmin


@admin.register(ErpEndpoint)
class ErpEndpointAdmin(ReasonedHistoryAdmin):
    list_display = ["name", "connector", "url", "timeout_seconds", "active"]


class ReadOnly(admin.ModelAdmin):
    """Written by the services only; the console is where a person acts on them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnly):
    list_display = ["id", "message_type", "work_order", "sequence", "status", "attempts", "created_at"]
    list_filter = ["status", "message_type"]
    search_fields = ["idempotency_key", "work_order__number"]


@admin.register(InboundRecord)
class InboundRecordAdmin(ReadOnly):
    list_display = ["received_at", "kind", "erp_key", "outcome", "field", "reason"]
    list_filter = ["outcome", "kind"]
