"""Every desk and tablet form, sent garbage the way a browser sends a form: NUL characters, '²'
(which `str.isdigit` takes for a digit and `int` refuses), decimals and negatives where an id
goes, numbers past 64 bits, unicode, empty and very long text, a list where one value goes, in
the form fields, in the path's ids and in the query string, with and without htmx.

The property: whatever arrives, the answer is never a 5xx, and a refused form (a 4xx, or a
redirect carrying an error message, the desk's way of refusing) leaves every table as it was,
but for the logs a refusal keeps on purpose (the sign-in attempts and counters of a wrong
password, badge or PIN).

The pages are read from the URL configuration: every pattern outside /api/ (the API has its own
property in test_garbage_input.py) and the admin (Django's own forms) whose view takes a POST. A
view says so nowhere Python can read (`require_POST` leaves no mark), so each pattern is tried
with a POST: one that does not answer 405 takes it. A page that takes a POST and that FORMS
doesn't know fails `test_every_page_taking_a_post_is_known`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.messages import constants as message_levels
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given
from hypothesis import strategies as st

from integration.models import OutboxMessage
from mes import roles
from mes.models import Tablet
from mes.tests.factories import WorkstationFactory, signed_in
from mes.tests.rows import answer_to_garbage, assert_refusal_says_why, changed, garbage_settings, row_counts
from quality import services as quality
from quality.models import ChecklistItem
from quality.tests.conftest import PASSWORD, make_effective
from traceability import services as traceability
from workorders import services as production
from workorders.services.andon import andon_raise
from workorders.services.handover import handover_leave
from workorders.states import Tracking
from workorders.tests.factories import ProductFactory, reasons, released_order

SIGN_IN = ("mes_signinattempt", "mes_signincounter")  # a wrong password, badge or PIN is counted
REFUSED_START = ("quality_startrefusal",)  # a Start refused by a training guard is kept

# Who sends the form: a person signed in at the desk, or at the bound tablet of the workstation.
ANONYMOUS = "anonymous"
UNSIGNED_TABLET = "unsigned_tablet"  # a bound tablet nobody is signed in at
TABLET = "tablet"  # the bound tablet, the operator badged in
SUPERVISOR, QUALITY, AUDITOR, ADMIN = roles.SUPERVISOR, roles.QUALITY, roles.AUDITOR, roles.ADMIN


@dataclass(frozen=True)
class Form:
    """How to reach one page taking a POST on the test plant: its URL, the form fields it reads
    (none for a page that only reads its path and query), who may send it, and the tables a
    refusal writes to on purpose."""

    url: Callable[[dict], str]
    fields: tuple[str, ...] = ()
    who: str = ADMIN
    logs: tuple[str, ...] = ()
    # Values a field takes from a short list (an action, a kind, a record of the plant): drawn
    # often, so that garbage in the other fields reaches the branch behind each one.
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _at(template: str) -> Callable[[dict], str]:
    return lambda plant: template.format(**plant)


CREDENTIALS = ("password", "badge_number", "pin")
LANGUAGES = ("en", "de", "es", "ar", "")
TAP = ("kind", "idempotency_key", "occurred_at", "quantity", "reason", "note", "lot", "operation")
ITEM = ("kind", "prompt", "help_text", "unit", "lsl", "usl", "target", "decimals", "choices", "required")
VERSION = "/quality/checklists/versions/{version}/"
SOP = "/quality/sops/versions/{sop_draft}/"
REPORT = ("kind", "code", "direction", "model", "record", "user", "start", "end")

FORMS: dict[str, Form] = {
    # the plant kernel: sign-in, tablets
    "home": Form(_at("/"), who=SUPERVISOR),
    "login": Form(_at("/login/"), ("username", "password", "next"), who=ANONYMOUS, logs=SIGN_IN),
    "logout": Form(_at("/logout/"), who=ANONYMOUS),
    "tablet_home": Form(_at("/tablet/"), who=TABLET),
    "tablet_sign_in": Form(
        _at("/tablet/sign-in/"), ("badge_number", "pin"), who=UNSIGNED_TABLET, logs=SIGN_IN
    ),
    "plant_overview": Form(_at("/plant/"), who=SUPERVISOR),
    "tablet_list": Form(
        _at("/tablets/"),
        ("workstation", "name"),
        who=SUPERVISOR,
        choices={"workstation": ("{spare_workstation}",)},
    ),
    "tablet_revoke": Form(_at("/tablets/{spare_tablet}/unbind/"), ("reason",), who=SUPERVISOR),
    "person_create": Form(
        _at("/people/new/"),
        (
            "username",
            "first_name",
            "last_name",
            "email",
            "badge_number",
            "language",
            "role",
            "sites",
            "all_sites",
            "reason",
        ),
        who=SUPERVISOR,
        choices={"role": ("operator", "supervisor", "admin"), "sites": ("{site}",), "language": LANGUAGES},
    ),
    "person_edit": Form(
        _at("/people/{person}/"),
        (
            "username",
            "first_name",
            "last_name",
            "email",
            "badge_number",
            "language",
            "role",
            "sites",
            "all_sites",
            "reason",
        ),
        who=SUPERVISOR,
        choices={"role": ("operator", "supervisor", "admin"), "sites": ("{site}",), "language": LANGUAGES},
    ),
    "person_issue_pin": Form(_at("/people/{person}/pin/"), ("reason",), who=SUPERVISOR),
    "person_deactivate": Form(_at("/people/{person}/deactivate/"), ("reason",), who=SUPERVISOR),
    "tablet_change_pin": Form(
        _at("/tablet/pin/"), ("old_pin", "new_pin", "new_pin_again"), who=TABLET, logs=SIGN_IN
    ),
    # the language: the tablet sign-in screen's switch, and the person's own language
    "screen_language": Form(
        _at("/language/"), ("language", "next"), who=ANONYMOUS, choices={"language": LANGUAGES}
    ),
    "my_language": Form(
        _at("/my-language/"), ("language", "next"), who=TABLET, choices={"language": LANGUAGES}
    ),
    "healthz": Form(_at("/healthz"), who=ANONYMOUS),
    "ping": Form(_at("/ping"), who=SUPERVISOR),
    # production: the board, the tablet, the dashboards and andon, lots
    "workorder_board": Form(_at("/board/"), who=SUPERVISOR),
    "workorder_create": Form(
        _at("/board/orders/new/"),
        ("number", "routing", "line", "quantity", "due"),
        who=SUPERVISOR,
        choices={"routing": ("{routing}",), "line": ("{line}",)},
    ),
    "workorder_transition": Form(
        _at("/board/orders/{order}/transition/"),
        ("status", "idempotency_key", "version", "reason", "reason_code", "override", "password"),
        who=SUPERVISOR,
        choices={"status": ("released", "on_hold", "resume", "completed", "closed", "cancelled")},
        logs=SIGN_IN,  # an override's wrong password is counted
    ),
    "workorder_move": Form(
        _at("/board/orders/{order}/move/"),
        ("direction",),
        who=SUPERVISOR,
        choices={"direction": ("up", "down")},
    ),
    "workstation_events": Form(
        _at("/workstation/events/"),
        TAP,
        who=TABLET,
        logs=REFUSED_START,
        choices={
            "kind": (
                "start",
                "pause",
                "resume",
                "good",
                "scrap",
                "consume",
                "downtime_start",
                "downtime_end",
            ),
            "operation": ("{operation}",),
        },
    ),
    "workstation_override": Form(
        _at("/workstation/override/"),
        ("idempotency_key", "operation", "occurred_at", "quantity", "badge_number", "pin"),
        who=TABLET,
        logs=SIGN_IN,
        choices={"operation": ("{operation}",)},
    ),
    "andon_acknowledge": Form(_at("/live/andon/{andon}/acknowledge/"), who=SUPERVISOR),
    "andon_resolve": Form(_at("/live/andon/{andon}/resolve/"), who=SUPERVISOR),
    "andon_raise": Form(
        _at("/workstation/andon/"),
        ("kind", "idempotency_key", "note"),
        who=TABLET,
        choices={"kind": ("help", "material", "quality", "maintenance")},
    ),
    "workstation_handover_new": Form(
        _at("/workstation/handovers/new/"),
        ("scope", "open_issues", "material", "machine_condition", "quality_watch_outs", "idempotency_key"),
        who=TABLET,
        choices={"scope": ("workstation", "line")},
    ),
    "workstation_handover_acknowledge": Form(
        _at("/workstation/handovers/{handover}/acknowledge/"), who=TABLET
    ),
    "lot_receive": Form(
        _at("/lots/receive/"),
        ("product", "site", "code", "quantity", "supplier", "supplier_lot", "reason"),
        who=SUPERVISOR,
        choices={"product": ("{component}",), "site": ("{site}",)},
    ),
    "lot_ship": Form(
        _at("/shipments/"),
        ("lot", "customer", "reference", "quantity", "note", "idempotency_key"),
        who=SUPERVISOR,
        choices={"lot": ("L-1",)},
    ),
    # integration
    "integration_console": Form(_at("/integration/"), who=SUPERVISOR),
    "integration_message_retry": Form(
        _at("/integration/messages/{message}/retry/"), ("reason",), who=SUPERVISOR
    ),
    "integration_message_skip": Form(
        _at("/integration/messages/{message}/skip/"), ("reason",), who=SUPERVISOR
    ),
    "integration_deliver_now": Form(_at("/integration/deliver/"), who=SUPERVISOR),
    "integration_reconciliation_csv": Form(_at("/integration/reconciliation.csv"), who=SUPERVISOR),
    # quality on the tablet
    "quality_run_start": Form(
        _at("/workstation/checklists/start/"),
        ("assignment", "template", "operation", "trigger", "next"),
        who=TABLET,
        choices={
            "template": ("{template}",),
            "assignment": ("{assignment}",),
            "operation": ("{operation}",),
            "trigger": ("at_start", "at_end"),
        },
    ),
    "quality_run_save": Form(
        _at("/workstation/checklists/runs/{run}/save/"),
        ("item", "value", "multiple"),
        who=TABLET,
        choices={"item": ("{item_field}",), "multiple": ("1",)},
    ),
    "quality_run_submit": Form(
        _at("/workstation/checklists/runs/{run}/submit/"),
        ("idempotency_key", "next", "{item_field}", *CREDENTIALS),
        who=TABLET,
        logs=SIGN_IN,
    ),
    "quality_sop": Form(
        _at("/workstation/checklists/sops/{sop}/"), ("next", "badge_number", "pin"), who=TABLET, logs=SIGN_IN
    ),
    # quality at the desk
    "quality_overview": Form(_at("/quality/"), who=QUALITY),
    "quality_summary": Form(_at("/quality/summary/"), who=QUALITY),
    "quality_spc": Form(_at("/quality/spc/{number_item}/{workstation}/"), who=QUALITY),
    "quality_nonconformance_open": Form(
        _at("/quality/nonconformances/new/"),
        ("idempotency_key", "work_order", "site", "title", "description", "lot_code"),
        who=QUALITY,
        choices={"work_order": ("{order}",), "site": ("{site}",)},
    ),
    "quality_nonconformance": Form(_at("/quality/nonconformances/{nonconformance}/"), who=QUALITY),
    "quality_nonconformance_investigate": Form(
        _at("/quality/nonconformances/{nonconformance}/investigate/"), ("note",), who=QUALITY
    ),
    "quality_nonconformance_disposition": Form(
        _at("/quality/nonconformances/{nonconformance}/disposition/"),
        ("note", "disposition", *CREDENTIALS),
        who=QUALITY,
        logs=SIGN_IN,
        choices={"disposition": ("use_as_is", "rework", "scrap")},
    ),
    "quality_nonconformance_close": Form(
        _at("/quality/nonconformances/{nonconformance}/close/"), ("note",), who=QUALITY
    ),
    "quality_nonconformance_hold": Form(
        _at("/quality/nonconformances/{nonconformance}/hold/"), ("reason", "idempotency_key"), who=QUALITY
    ),
    "quality_hold_place": Form(
        _at("/quality/holds/new/"),
        ("idempotency_key", "work_order", "reason"),
        who=QUALITY,
        choices={"work_order": ("{order}",)},
    ),
    "quality_hold_release": Form(
        _at("/quality/holds/{hold}/release/"),
        ("reason", "idempotency_key", *CREDENTIALS),
        who=QUALITY,
        logs=SIGN_IN,
    ),
    "quality_templates": Form(_at("/quality/checklists/"), who=QUALITY),
    "quality_template_create": Form(
        _at("/quality/checklists/new/"),
        ("site", "code", "title", "description", "signature_required"),
        who=QUALITY,
        choices={"site": ("{site}",)},
    ),
    "quality_version": Form(_at("/quality/checklists/versions/{version}/"), who=QUALITY),
    "quality_version_submit": Form(_at(VERSION + "submit/"), who=QUALITY),
    "quality_version_titles": Form(
        _at(VERSION + "titles/"), ("title_de", "title_es", "title_ar"), who=QUALITY
    ),
    "quality_version_return": Form(_at(VERSION + "return/"), ("reason",), who=QUALITY),
    "quality_version_approve": Form(
        _at(VERSION + "approve/"), ("comment", *CREDENTIALS), who=QUALITY, logs=SIGN_IN
    ),
    "quality_version_effective": Form(_at(VERSION + "effective/"), who=QUALITY),
    "quality_version_retire": Form(_at(VERSION + "retire/"), ("reason",), who=QUALITY),
    "quality_version_new_draft": Form(_at(VERSION + "new-draft/"), ("reason",), who=QUALITY),
    "quality_version_attach": Form(
        _at(VERSION + "attach/"),
        ("routing_operation", "trigger", "every_n_units"),
        who=QUALITY,
        choices={
            "routing_operation": ("{routing_operation}",),
            "trigger": ("at_start", "at_end", "every_n_units"),
        },
    ),
    "quality_version_detach": Form(_at(VERSION + "detach/"), ("attachment",), who=QUALITY),
    "quality_version_assign": Form(
        _at(VERSION + "assign/"),
        ("schedule", "workstation", "line", "weekday"),
        who=QUALITY,
        choices={
            "workstation": ("{workstation}",),
            "line": ("{line}",),
            "schedule": ("daily", "weekly", "on_demand"),
        },
    ),
    "quality_item_add": Form(
        _at("/quality/checklists/versions/{draft}/items/"),
        ITEM,
        who=QUALITY,
        choices={"kind": ("check", "pass_fail", "number", "text", "choice", "photo")},
    ),
    "quality_item_save": Form(
        _at("/quality/checklists/versions/{draft}/items/{draft_item}/"),
        ITEM,
        who=QUALITY,
        choices={"kind": ("check", "pass_fail", "number", "text", "choice", "photo")},
    ),
    "quality_item_move": Form(
        _at("/quality/checklists/versions/{draft}/items/{draft_item}/move/"),
        ("direction",),
        who=QUALITY,
        choices={"direction": ("up", "down", "remove")},
    ),
    "quality_sops": Form(_at("/quality/sops/"), who=QUALITY),
    "quality_sop_create": Form(
        _at("/quality/sops/new/"),
        ("site", "code", "title", "body"),
        who=QUALITY,
        choices={"site": ("{site}",)},
    ),
    "quality_sop_version": Form(_at("/quality/sops/versions/{sop}/"), who=QUALITY),
    "quality_sop_titles": Form(
        _at("/quality/sops/versions/{sop}/titles/"), ("title_de", "title_es", "title_ar"), who=QUALITY
    ),
    "quality_sop_update": Form(
        _at(SOP + "update/"), ("body", "body_de", "body_es", "body_ar", "reason"), who=QUALITY
    ),
    "quality_sop_image_add": Form(_at(SOP + "images/"), ("caption",), who=QUALITY),
    "quality_sop_submit": Form(_at(SOP + "submit/"), who=QUALITY),
    "quality_sop_approve": Form(_at(SOP + "approve/"), ("comment", *CREDENTIALS), who=QUALITY, logs=SIGN_IN),
    "quality_sop_effective": Form(_at(SOP + "effective/"), who=QUALITY),
    "quality_sop_new_draft": Form(_at(SOP + "new-draft/"), ("reason",), who=QUALITY),
    "quality_sop_attach": Form(
        _at(SOP + "attach/"),
        ("routing_operation",),
        who=QUALITY,
        choices={"routing_operation": ("{routing_operation}",)},
    ),
    "quality_qualification_grant": Form(
        _at("/quality/qualifications/grant/"),
        ("person", "workstation", "valid_until", *CREDENTIALS),
        who=QUALITY,
        logs=SIGN_IN,
        choices={"person": ("{person}",), "workstation": ("{workstation}",), "valid_until": ("2100-01-01",)},
    ),
    "quality_qualification_revoke": Form(
        _at("/quality/qualifications/{qualification}/revoke/"), ("reason",), who=QUALITY
    ),
    # the auditor's wing
    "audit_trail": Form(_at("/audit/"), who=AUDITOR),
    "audit_seal": Form(_at("/audit/seal/"), who=ADMIN),
    "audit_record": Form(_at("/audit/workorder/{order}/"), who=AUDITOR),
    "trace": Form(_at("/trace/"), who=AUDITOR),
    "trace_export": Form(_at("/trace/{lot_code}/export.csv"), who=AUDITOR),
    "report_list": Form(_at("/reports/"), who=AUDITOR),
    "report_create": Form(
        _at("/reports/new/"),
        REPORT,
        who=AUDITOR,
        choices={
            "kind": ("trace_pdf", "trace_csv", "trace_json", "trace_epcis", "audit_pdf", "audit_csv"),
            "code": ("{lot_code}",),
            "direction": ("backward", "forward"),
            "model": ("workorder",),
        },
    ),
    "report_detail": Form(_at("/reports/{report}/"), who=AUDITOR),
    "report_download": Form(_at("/reports/{report}/download/"), who=AUDITOR),
    # quality's review of an order's production record
    "record_comment": Form(_at("/records/{order_number}/comments/"), ("exception_key", "text"), who=QUALITY),
    "record_release": Form(
        _at("/records/{order_number}/release/"), ("password", "comment"), who=QUALITY, logs=SIGN_IN
    ),
    "record_reject": Form(
        _at("/records/{order_number}/reject/"), ("password", "comment"), who=QUALITY, logs=SIGN_IN
    ),
}


# --- the pages, from the URL configuration -----------------------------------------------------------


def _patterns(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def html_patterns() -> dict[str, str]:
    """{URL name: route} of every pattern outside the API and the admin."""
    return {
        pattern.name or route: route
        for route, pattern in _patterns(get_resolver().url_patterns)
        if not route.startswith(("api/", "admin/"))
    }


def _probe_url(name: str, route: str, plant: dict) -> str:
    if name in FORMS:
        return FORMS[name].url(plant)
    # A page FORMS doesn't know yet: any value of the converter's kind reaches the view.
    path = route
    for converter, value in (
        ("int", "1"),
        ("str", "x"),
        ("slug", "x"),
        ("path", "x"),
        ("uuid", str(uuid.UUID(int=1))),
    ):
        while f"<{converter}:" in path:
            start = path.index(f"<{converter}:")
            path = path[:start] + value + path[path.index(">", start) + 1 :]
    return "/" + path


# --- the test plant ---------------------------------------------------------------------------------


def _signed_in(user) -> Client:
    return signed_in(Client(raise_request_exception=False), user)


def _bound_tablet(supervisor, workstation) -> Client:
    client = _signed_in(supervisor)
    assert client.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    client.post("/logout/")
    return client


@pytest.fixture
def plant(site, make_user, supervisor, operator):
    """A small plant with one record of everything the forms act on, and a browser for each person."""
    admin = make_user(roles.ADMIN, username="ada")
    inspector = make_user(roles.QUALITY, username="quinn")
    auditor = make_user(roles.AUDITOR, username="audrey")
    hold_reasons = reasons()
    station = WorkstationFactory(line__site=site, line__code="MACH", code="CNC1")
    spare_station = WorkstationFactory(line=station.line, code="CNC2")
    order = released_order(user=supervisor, workstations=[station], quantity=10, number="WO-1")
    held = released_order(user=supervisor, workstations=[station], quantity=5, number="WO-2")
    component = ProductFactory(part_number="RAW-1", tracking=Tracking.LOT)
    lot = production.lot_receive(
        product=component, site=site, quantity=50, user=admin, code="L-1", reason="test"
    )
    template = make_effective(site=site, author=inspector, approver=inspector)
    version = template.versions.get(status="effective")
    assignment = quality.form_assign(
        template=template, schedule="on_demand", user=inspector, workstation=station
    )
    run = quality.checklist_run_start(template=template, workstation=station, user=operator)
    draft = quality.template_create(site=site, code="CL2", title="Checklist CL2", user=inspector)
    draft_item = quality.item_add(
        version_id=draft.pk, user=inspector, data={"kind": "check", "prompt": "Clean"}
    )
    sop = quality.sop_create(site=site, code="SOP-1", title="Clamping", body="Clamp it.", user=inspector)
    quality.sop_version_submit(version_id=sop.pk, user=inspector)
    quality.sop_version_approve(version_id=sop.pk, user=inspector, password=PASSWORD)
    quality.sop_version_make_effective(version_id=sop.pk, user=inspector)
    sop_draft = quality.sop_create(site=site, code="SOP-2", title="Deburring", body="Deburr.", user=inspector)
    qualification = quality.qualification_grant(
        user=inspector,
        person_id=operator.pk,
        workstation_id=spare_station.pk,
        valid_until="2100-01-01",
        password=PASSWORD,
    )
    nc = quality.nonconformance_open(
        key=uuid.uuid4(), user=inspector, site=site, title="Scratch", work_order=order
    )
    hold = quality.hold_place(key=uuid.uuid4(), user=inspector, work_order=held, reason="Check")
    andon = andon_raise(workstation=station, user=operator, kind="help", key=uuid.uuid4())
    handover = handover_leave(
        user=supervisor, workstation=station, scope="line", notes={"material": "Low"}, key=uuid.uuid4()
    )
    report = traceability.report_job_create(
        user=auditor, kind="trace_csv", params={"code": lot.code, "direction": "backward"}
    )
    tablet = _bound_tablet(supervisor, station)
    signed_in(tablet, operator, on_tablet=True)
    spare = _signed_in(supervisor)
    assert spare.post("/tablets/", {"workstation": spare_station.pk, "name": "Spare"}).status_code == 302
    message = OutboxMessage.objects.order_by("pk").first()
    return {
        "clients": {
            ANONYMOUS: Client(raise_request_exception=False),
            UNSIGNED_TABLET: _bound_tablet(supervisor, station),
            TABLET: tablet,
            SUPERVISOR: _signed_in(supervisor),
            QUALITY: _signed_in(inspector),
            AUDITOR: _signed_in(auditor),
            ADMIN: _signed_in(admin),
        },
        "workstation": station.pk,
        "spare_workstation": WorkstationFactory(line=station.line, code="CNC3").pk,
        "line": station.line_id,
        "site": site.pk,
        "routing": order.routing_id,
        "operation": order.operations.get().pk,
        "routing_operation": order.operations.get().routing_operation_id,
        "component": component.part_number,
        "template": template.pk,
        "assignment": assignment.pk,
        "spare_tablet": Tablet.objects.get(workstation=spare_station).pk,
        "person": operator.pk,
        "order": order.pk,
        "order_number": order.number,
        "andon": andon.pk,
        "handover": handover.pk,
        "message": message.pk if message else 1,
        "run": run.pk,
        "item_field": f"item_{version.items.order_by('pk').first().pk}",
        "number_item": ChecklistItem.objects.get(version=version, kind="number").pk,
        "version": version.pk,
        "draft": draft.pk,
        "draft_item": draft_item.pk,
        "sop": sop.pk,
        "sop_draft": sop_draft.pk,
        "nonconformance": nc.result_id,
        "hold": hold.result_id,
        "qualification": qualification.pk,
        "lot_code": lot.code,
        "report": report.pk,
        "hold_reasons": hold_reasons,
    }


# --- which pages take a POST ----------------------------------------------------------------------


def test_every_page_taking_a_post_is_known(plant):
    """A new page taking a POST must be added to FORMS (how to reach it), or the property below
    would never send it garbage."""
    taking = set()
    for name, route in html_patterns().items():
        who = FORMS[name].who if name in FORMS else ADMIN
        response = plant["clients"][who].post(_probe_url(name, route, plant))
        if response.status_code != 405:
            taking.add(name)
    unknown = taking - set(FORMS)
    assert not unknown, (
        f"pages taking a POST that the garbage test can't reach yet; add them to FORMS in "
        f"tests/test_garbage_forms.py (URL on the test plant, the fields they read, who sends them): {unknown}"
    )
    gone = set(FORMS) - taking
    assert not gone, f"FORMS lists pages that no longer take a POST or no longer exist: {gone}"


def test_each_form_is_sent_by_someone_it_lets_in(plant):
    """Garbage must reach the form's own parsing: its sender is not turned away at the door."""
    for name, form in FORMS.items():
        if form.who == ANONYMOUS:
            continue
        response = plant["clients"][form.who].post(form.url(plant), HTTP_ACCEPT="text/html")
        where = response.get("Location", "")
        assert response.status_code != 403, f"{name}: {form.who} is refused"
        assert not where.startswith(("/login/", "/tablet/sign-in/")), f"{name}: {form.who} is sent to sign in"
        assert b"not bound to a workstation" not in response.content, f"{name}: the tablet is not bound"


# --- garbage -------------------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "²",
    "¹²³",
    "١٢٣",
    "1.5",
    "-1",
    "0",
    "+1",
    " 1 ",
    "1e3",
    "NaN",
    "Infinity",
    str(2**31),
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "9" * 40,
    "\ufeff",
    "\u202e",
    "🏭" * 50,
    "x" * 5000,
    "2026-02-31",
    "2026-02-31T25:61:00+00:00",
    "<script>alert(1)</script>",
    "'; DROP TABLE workorders_workorder; --",
    "../../etc/passwd",
    "true",
    "on",
    "remove",
]
value = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))
field_value = st.one_of(value, value, value, st.lists(value, min_size=2, max_size=3))
QUERY_JUNK = [
    "?next=%00",
    "?next=//elsewhere.example/",
    "?next=" + "%C2%B2",
    "?page=%C2%B2",
    "?page=" + "9" * 30,
    "?page=-1",
    "?rotate=%C2%B2&wall=1",
    "?rotate=" + "9" * 30,
    "?q=%C2%B2&direction=sideways",
    "?q=" + "x" * 3000,
    "?line=abc&status=nope&due_before=2026-02-31",
    "?line=" + "9" * 30,
    "?mismatches=%F0%9F%8F%AD",
    "?received=%C2%B2",
    "?model=%C2%B2&record=-1&start=2026-02-31&end=x",
    "?direction=sideways&lot=%C2%B2",
    "?%00=1",
    "?expired",
]
PATH_JUNK = ["0", "-1", "1.5", "abc", "%C2%B2", "%00", str(2**63), "9" * 40, "%F0%9F%8F%AD", "x" * 300]


@st.composite
def garbage_for(draw, form: Form, plant: dict):
    """A form's fields (some, each garbage), maybe junk in its path's ids, its query
    and its Referer, maybe htmx."""
    names = [name.format(**plant) for name in form.fields]
    chosen = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    data = {}
    for name in chosen:
        known = tuple(choice.format(**plant) for choice in form.choices.get(name, ()))
        data[name] = draw(st.one_of(st.sampled_from(known), field_value) if known else field_value)
    if draw(st.booleans()):
        data.update(draw(st.dictionaries(st.text(min_size=1, max_size=8), value, max_size=2)))
    path_junk = draw(st.sampled_from([None, None, None, *PATH_JUNK]))
    query = draw(st.sampled_from(["", "", "", *QUERY_JUNK]))
    headers = {"HTTP_HX_REQUEST": "true"} if draw(st.booleans()) else {}
    referer = draw(st.sampled_from([None, None, "²", "x", "http://elsewhere.example/", "/trace/"]))
    if referer:
        headers["HTTP_REFERER"] = referer
    return data, path_junk, query, headers


# --- the property ---------------------------------------------------------------------------------------


def _error_messages(response) -> list[str]:
    """The error messages this request queued: the desk refuses a form with a redirect carrying one."""
    storage = getattr(response.wsgi_request, "_messages", None)
    queued = getattr(storage, "_queued_messages", [])
    return [str(m) for m in queued if m.level >= message_levels.ERROR]


def _send(plant: dict, name: str, form: Form, sent) -> None:
    data, path_junk, query, headers = sent
    if path_junk is None:
        url = form.url(plant)
    else:
        url = form.url({k: (v if k == "item_field" else path_junk) for k, v in plant.items()})
    url += query
    what = f"POST {url} {name} as {form.who} {headers} {str(data)[:300]}"
    client = plant["clients"][form.who]
    client.cookies.pop("messages", None)  # only this request's messages
    before = row_counts()
    response = answer_to_garbage(what, lambda: client.post(url, data, **headers))
    status = response.status_code
    errors = _error_messages(response)
    if status >= 400 or errors:
        moved = changed(before, row_counts(), allowed=form.logs)
        assert not moved, f"{what} was refused ({status} {errors}) but wrote {moved}"
    assert_refusal_says_why(what, response)


# Each example sends garbage to every form: about 70 requests, some 0.8 s.
@pytest.mark.requirement("MES-008")
@garbage_settings(max_examples=30)
@given(data=st.data())
def test_garbage_to_any_form_is_refused_and_writes_nothing(plant, data):
    for name, form in sorted(FORMS.items()):
        _send(plant, name, form, data.draw(garbage_for(form, plant), label=name))


# --- the 500s this property found, each named ---------------------------------------------------------

KEY = str(uuid.UUID(int=7))
FOUND = [
    ("workorder_create", {"routing": "abc", "line": "{line}", "number": "WO-9", "quantity": "1"}, "routing"),
    ("workorder_create", {"routing": "{routing}", "line": "²", "number": "WO-9", "quantity": "1"}, "line"),
    ("lot_receive", {"product": "{component}", "site": "²", "quantity": "5"}, "site"),
    ("tablet_list", {"workstation": "1.5", "name": "Tablet 9"}, "workstation"),
    ("person_create", {"username": "pat9", "role": "operator", "sites": "18446744073709551616"}, "sites"),
    (
        "workorder_create",
        {"routing": "9223372036854775808", "line": "{line}", "number": "WO-9", "quantity": "1"},
        "routing",
    ),
    ("quality_run_start", {"assignment": "²"}, "assignment"),
    ("quality_run_start", {"template": "abc"}, "template"),
    ("quality_run_start", {"template": "{template}", "operation": "²", "trigger": "at_start"}, "operation"),
    (
        "quality_nonconformance_open",
        {"work_order": "abc", "title": "Dent", "idempotency_key": KEY},
        "work_order",
    ),
    ("quality_hold_place", {"work_order": "²", "reason": "Check", "idempotency_key": KEY}, "work_order"),
    ("quality_template_create", {"site": "²", "code": "CL7", "title": "Checklist CL7"}, "site"),
    ("quality_sop_create", {"site": "-1", "code": "SOP-7", "title": "Deburring"}, "site"),
    ("quality_version_attach", {"routing_operation": "abc", "trigger": "at_start"}, "routing_operation"),
    ("quality_version_detach", {"attachment": "²"}, "attachment"),
    ("quality_version_assign", {"schedule": "on_demand", "workstation": "1.5"}, "workstation"),
    ("quality_version_assign", {"schedule": "weekly", "line": "{line}", "weekday": "²"}, "weekday"),
    ("quality_sop_attach", {"routing_operation": "1.5"}, "routing_operation"),
    ("quality_qualification_grant", {"person": "²", "workstation": "{workstation}"}, "person"),
    ("quality_qualification_grant", {"person": "{person}", "workstation": "1.5"}, "workstation"),
]


def _refused_field(response) -> str | None:
    """The field a refusal names: in the JSON error, the page's error, or the desk's message."""
    if response.get("Content-Type", "").startswith("application/json"):
        return next(iter(response.json().get("errors", {})), None)
    if response.status_code >= 400:
        error = response.context and response.context.get("error")
        return getattr(error, "field", None)
    for message in _error_messages(response):
        return message.split(":", 1)[0]
    return None


@pytest.mark.parametrize(("name", "data", "field"), FOUND, ids=[f"{n}-{f}" for n, _, f in FOUND])
def test_a_value_that_is_no_id_is_refused_at_its_field(plant, name, data, field):
    form = FORMS[name]
    client = plant["clients"][form.who]
    before = row_counts()
    response = client.post(form.url(plant), {k: v.format(**plant) for k, v in data.items()})
    assert response.status_code < 500, response.content[:300]
    assert response.status_code >= 400 or _error_messages(response), response.content[:300]
    assert _refused_field(response) == field
    assert not changed(before, row_counts())


def test_a_next_page_that_is_no_path_goes_back_to_the_usual_page(plant):
    """`redirect()` takes text without a slash for the name of a view: a `next` or a Referer of '²'
    raised NoReverseMatch."""
    sop = plant["clients"][TABLET].post(
        f"/workstation/checklists/sops/{plant['sop']}/", {"next": "²", "badge_number": "1001", "pin": "1234"}
    )
    assert (sop.status_code, sop["Location"]) == (302, "/workstation/")
    client = Client()
    signed_in = client.post("/login/?next=%C2%B2", {"username": "sam", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] != "²"
    assert client.get(signed_in["Location"]).status_code in (200, 302)
    report = plant["clients"][AUDITOR].post("/reports/new/", {"kind": "nope"}, HTTP_REFERER="²")
    assert (report.status_code, report["Location"]) == (302, "/trace/")
    back = plant["clients"][AUDITOR].post(
        "/reports/new/", {"kind": "nope"}, HTTP_REFERER="http://testserver/trace/?q=L-1"
    )
    assert back["Location"] == "http://testserver/trace/?q=L-1"


def test_a_list_where_one_value_goes_is_kept_with_its_reason(plant):
    """Two values for a tick box: kept as typed with the reason (as any bad value), not a 500."""
    response = plant["clients"][TABLET].post(
        f"/workstation/checklists/runs/{plant['run']}/save/",
        {"item": plant["item_field"], "value": ["on", "off"]},
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["ok"] is False and "one value" in response.json()["error"]
