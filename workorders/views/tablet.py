"""The operator's tablet at a workstation: the queue, the operation screen and the tap endpoint.

Every tap (start, pause, resume, good, scrap, downtime) is one POST to `workstation_events`
carrying the browser's idempotency key and the time of the tap. static/js/tablet.js keeps each
tap in a waiting list on the tablet until the server has answered, so a tap made offline is sent later and a
resend whose first answer was lost is counted once. The pages poll their counters lightly and
re-read them after every answer, through `{% partialdef %}` fragments; the counters carry the
taps the screen offers (`workorders.selectors.tablet`), which the script only applies.
"""

from __future__ import annotations

import re
from functools import partial

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from mes import services as plant_services
from mes import tablets
from mes.errors import Forbidden, MesError, ValidationFailed
from mes.forms import typed_quantity
from mes.idempotency import parse_key
from mes.permissions import permission_required
from workorders import gs1, services
from workorders.extensions import operation_panel_urls, workstation_reminders
from workorders.models import WorkOrderOperation
from workorders.selectors.floor import open_downtime, operation_for_workstation, reasons_of, workstation_queue
from workorders.selectors.lots import consumed_lots_of_operation, serials_of_order
from workorders.selectors.tablet import operation_actions, running_besides
from workorders.states import EventKind, OperationStatus, ReasonKind, Tracking, kind_of_word, kind_word
from workorders.views.handover import handover_gate

PERMISSION = "workorders.record_production"
OPERATION_KINDS = {
    EventKind.START,
    EventKind.PAUSE,
    EventKind.RESUME,
    EventKind.GOOD,
    EventKind.SCRAP,
    EventKind.CONSUME,
}
DOWNTIME_KINDS = {EventKind.DOWNTIME_START, EventKind.DOWNTIME_END}
_ID = re.compile(r"[0-9]{1,12}")


def _fragment(request, page: str, partials: dict[str, str]) -> str:
    """The whole page, or the partial an htmx request targets (by the id of its target)."""
    if request.htmx and not request.htmx.history_restore_request:
        name = partials.get(request.htmx.target or "")
        if name:
            return f"{page}#{name}"
    return page


def _screen_context(request, workstation) -> dict:
    return {
        "workstation": workstation,
        "tz": workstation.line.site.time_zone,
        "downtime": open_downtime(workstation),
        "downtime_reasons": reasons_of(ReasonKind.DOWNTIME),
        "pause_reasons": reasons_of(ReasonKind.PAUSE),
        "scrap_reasons": reasons_of(ReasonKind.SCRAP),
        "idle_seconds": settings.TABLET_IDLE_TIMEOUT_SECONDS,
        "server_now": timezone.now(),
    }


@never_cache
@require_GET
@permission_required(PERMISSION)
@tablets.on_bound_tablet
def queue(request, workstation):
    if waiting := handover_gate(request, workstation):  # handovers left for this person first
        return waiting
    context = {
        **_screen_context(request, workstation),
        "operations": workstation_queue(workstation),
        # Read only where rendered (not by the queue list's poll): the template calls it.
        "reminders": partial(workstation_reminders, workstation, request.user),
    }
    template = _fragment(
        request,
        "workorders/tablet/queue.html",
        {"ws-screen": "screen", "queue-list": "queue_list", "ws-reminders": "reminders"},
    )
    return render(request, template, context)


@never_cache
@require_GET
@permission_required(PERMISSION)
@tablets.on_bound_tablet
def operation(request, workstation, pk: int):
    op = operation_for_workstation(workstation, pk)
    if op is None:
        raise Http404(_("No such operation at this workstation."))
    order = op.work_order
    is_last = not op.work_order.operations.filter(sequence__gt=op.sequence).exists()
    context = {
        **_screen_context(request, workstation),
        "op": op,
        "order": order,
        "actions": operation_actions(op),
        "running_besides": running_besides(op) if op.status == OperationStatus.PENDING else [],
        "progress": min(100, int(op.quantity_good * 100 / order.quantity)) if order.quantity else 0,
        "panels": operation_panel_urls(op.pk, request.path),
        "consumed_lots": consumed_lots_of_operation(op),
        "has_bom": order.product.bom_lines.exists(),
        "serials": serials_of_order(order.pk)
        if is_last and order.product.tracking == Tracking.SERIAL
        else [],
    }
    template = _fragment(
        request,
        "workorders/tablet/operation.html",
        {"ws-screen": "screen", "op-counters": "counters", "op-material": "material"},
    )
    return render(request, template, context)


@never_cache
@require_GET
@permission_required(PERMISSION)
@tablets.on_bound_tablet
def downtime(request, workstation):
    return render(request, "workorders/tablet/downtime.html", _screen_context(request, workstation))


def _id(value, *, field: str, message: str) -> int:
    value = (value or "").strip()
    if not _ID.fullmatch(value):
        raise ValidationFailed(message, field=field, code=f"unknown_{field}")
    return int(value)


def _occurred_at(value: str | None):
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationFailed(_("The time of the tap is not a date and time."), field="occurred_at")
    return parsed


def _tap(post) -> dict:
    """The service's request body from a tap's form fields; refuses what no service would take."""
    kind = kind_of_word(post.get("kind", ""))
    if kind not in OPERATION_KINDS | DOWNTIME_KINDS:
        raise ValidationFailed(_("Unknown kind of tap."), field="kind", code="unknown_kind")
    data = {
        "kind": kind,
        "idempotency_key": parse_key(post.get("idempotency_key")),
        "occurred_at": _occurred_at(post.get("occurred_at")),
        "quantity": typed_quantity(post.get("quantity")),  # as typed, in the screen's language
        "reason": post.get("reason", "").strip(),
        "note": post.get("note", "")[:500],
        "lot": gs1.code_from_scan(post.get("lot", "")[:200]),
    }
    if kind in OPERATION_KINDS:
        data["operation"] = _id(post.get("operation"), field="operation", message=_("Choose an operation."))
    return data


def _refused(exc: MesError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status_code)


def _saved(recorded) -> JsonResponse:
    event = recorded.event
    body = {
        "recorded": True,
        "replayed": recorded.replayed,
        "event": event.pk,
        "kind": kind_word(event.kind),
        "operation": event.operation_id,
        "server_time": timezone.now().isoformat(),
    }
    # A replay answers exactly like the first time: the tap is saved, once.
    return JsonResponse(body, status=200)


@never_cache
@require_POST
@permission_required(PERMISSION)
@tablets.on_bound_tablet(as_json=True)
def events(request, workstation):
    """Record one tap. 200 with the event (also for a replayed key); a refusal answers its
    status (400 invalid, 409 conflict, 403 forbidden) with `detail` and `code`."""
    try:
        data = _tap(request.POST)
        recorded = services.event_record(user=request.user, workstation=workstation, data=data)
    except MesError as exc:
        return _refused(exc)
    return _saved(recorded)


@never_cache
@require_POST
@permission_required(PERMISSION)
@tablets.on_bound_tablet(as_json=True)
def override(request, workstation):
    """Re-send a good-count tap refused as over the order quantity, allowed by a supervisor who
    presents badge and PIN at this tablet (throttled and recorded like a badge sign-in)."""
    post = request.POST
    try:
        key = parse_key(post.get("idempotency_key"))
        operation_id = _id(post.get("operation"), field="operation", message=_("Choose an operation."))
        occurred_at = _occurred_at(post.get("occurred_at"))
        if not WorkOrderOperation.objects.filter(pk=operation_id, workstation=workstation).exists():
            raise ValidationFailed(_("No such operation at this workstation."), field="operation")
        # The sign-in refuses a supervisor of another site (throttled and recorded like any badge).
        supervisor = plant_services.user_sign_in_with_badge(
            request=request,
            badge_number=post.get("badge_number", ""),
            pin=post.get("pin", ""),
            tablet=tablets.bound_tablet(request),
        )
        if not supervisor.has_perm("workorders.override_quantity"):
            raise Forbidden(
                _("%(printed_name)s may not allow more than the order quantity here.")
                % {"printed_name": supervisor.printed_name},
                field="badge_number",
                code="override_not_allowed",
            )
        recorded = services.operation_record_good(
            operation_id=operation_id,
            workstation=workstation,
            user=request.user,
            quantity=typed_quantity(post.get("quantity")),
            key=key,
            override_by=supervisor,
            occurred_at=occurred_at,
        )
    except MesError as exc:
        return _refused(exc)
    return _saved(recorded)


@require_safe
def service_worker(request):
    """The tablet's service worker (workorders/tablet/sw.js): served under /workstation/ so that
    its scope covers the tablet's pages, and re-checked on every visit so a new one takes over."""
    response = render(request, "workorders/tablet/sw.js", content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [
    path("workstation/", queue, name="workstation_queue"),
    path("workstation/operations/<int:pk>/", operation, name="workstation_operation"),
    path("workstation/downtime/", downtime, name="workstation_downtime"),
    path("workstation/events/", events, name="workstation_events"),
    path("workstation/override/", override, name="workstation_override"),
    path("workstation/sw.js", service_worker, name="workstation_service_worker"),
]
