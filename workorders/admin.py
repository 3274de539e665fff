from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from mes.admin_reasons import ReasonedHistoryAdmin
from workorders.models import (
    BomLine,
    Downtime,
    Product,
    ProductionEvent,
    ReasonCode,
    Routing,
    RoutingOperation,
    WorkOrder,
    WorkOrderOperation,
)


class BomLineInline(admin.TabularInline):
    model = BomLine
    fk_name = "product"
    extra = 0


class RoutingOperationInline(admin.TabularInline):
    model = RoutingOperation
    extra = 0


@admin.register(Product)
class ProductAdmin(ReasonedHistoryAdmin):
    list_display = ["part_number", "name", "unit", "tracking", "active"]
    list_filter = ["tracking", "active"]
    search_fields = ["part_number", "name"]
    inlines = [BomLineInline]


@admin.register(Routing)
class RoutingAdmin(ReasonedHistoryAdmin):
    list_display = ["code", "name", "product", "allow_overlap", "active"]
    search_fields = ["code", "product__part_number"]
    inlines = [RoutingOperationInline]


@admin.register(ReasonCode)
class ReasonCodeAdmin(ReasonedHistoryAdmin):
    list_display = ["code", "name", "kind", "loss", "planned", "active"]
    list_filter = ["kind", "loss", "planned", "active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Production records change only through the services; the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WorkOrderOperationInline(admin.TabularInline):
    model = WorkOrderOperation
    extra = 0
    can_delete = False
    fields = ["sequence", "name", "workstation", "status", "quantity_good", "quantity_scrap"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = [
        "number",
        "product",
        "line",
        "quantity",
        "quantity_good",
        "quantity_scrap",
        "status",
        "due",
    ]
    list_filter = ["status", "line"]
    search_fields = ["number", "product__part_number"]
    inlines = [WorkOrderOperationInline]


@admin.register(ProductionEvent)
class ProductionEventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "work_order",
        "operation",
        "workstation",
        "user",
        "quantity",
        "reason",
        "occurred_at",
    ]
    list_filter = ["kind", "workstation__line"]
    search_fields = ["work_order__number", "idempotency_key"]
    list_select_related = ["work_order", "operation", "workstation", "user", "reason"]


@admin.register(Downtime)
class DowntimeAdmin(ReadOnlyAdmin):
    list_display = ["workstation", "reason", "planned", "started_at", "ended_at"]
    list_filter = ["planned", "workstation__line"]
    list_select_related = ["workstation", "reason"]
