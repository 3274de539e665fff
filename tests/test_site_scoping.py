"""Sites scope everything: a person of one site meets nothing of another site, on any page.

The walk is generated from the URL configuration, so a page added later is walked too. Every
pattern without arguments is fetched; a pattern with arguments is filled from records of the
site the walker may see (the kind of record each argument names is inferred from the API view's
model, or read from `ARGUMENTS`), and the same pattern filled from site B's records must answer
403 or 404 and show none of it. A pattern the walk can neither fill nor classify fails the test
with a message saying where to add it.

Site B's records each carry a distinctive code, number or name (`SiteRecords.markers`). The one-site
supervisor, quality engineer and auditor of site A must meet none of them; the same walk as a
plant-wide person of the same role meets them on the list pages, so the test can fail.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from integration import embedded
from integration import services as integration_services
from integration.models import OutboxMessage
from mes import roles, tablets
from mes import services as plant_services
from mes.models import Line, Shift, Site, Tablet, Workstation
from mes.selectors import site_path
from mes.signatures import Signature
from mes.tests.factories import LineFactory, SiteFactory, UserFactory, WorkstationFactory
from quality import services as quality
from quality.models import (
    ChecklistItem,
    ChecklistResponse,
    ChecklistRun,
    ChecklistTemplate,
    ChecklistTemplateVersion,
    Hold,
    Nonconformance,
    Qualification,
    SopImage,
    SopVersion,
)
from traceability import services as reports
from traceability.models import ReportJob, ReportKind
from traceability.shipping import lot_ship
from workorders import services as production
from workorders.live.models import AndonCall
from workorders.models import (
    BomLine,
    Handover,
    Lot,
    Product,
    ProductionEvent,
    ReasonCode,
    Routing,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.services.andon import andon_raise
from workorders.services.handover import handover_leave
from workorders.states import Tracking
from workorders.tests.factories import ProductFactory, reasons, routing_with

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-1"

# --- the two-site plant ------------------------------------------------------------------------


@dataclass
class SiteRecords:
    """One site's records, each kind carrying the site's prefix in a code, number or name."""

    prefix: str
    site: Site
    records: dict[type[models.Model], models.Model] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)
    people: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, model: type[models.Model]) -> models.Model:
        return self.records[model]


def _png() -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 10)).save(buffer, format="PNG")
    return SimpleUploadedFile("part.png", buffer.getvalue(), content_type="image/png")


def _key() -> uuid.UUID:
    return uuid.uuid4()


def build_site(prefix: str, *, shared: dict) -> SiteRecords:
    """A site with its line, people, orders, production, lots, checklists, signatures, quality
    records, an SOP, an andon call, a tablet and ERP messages, all through the services."""
    p = prefix.lower()
    site = SiteFactory(code=f"{prefix}-SITE", name=f"{prefix}-Works", time_zone="Europe/Berlin")
    line = LineFactory(site=site, code=f"{prefix}-LN", name=f"{prefix}-Line")
    ws1 = WorkstationFactory(line=line, code=f"{prefix}-WS1", name=f"{prefix}-Press")
    ws2 = WorkstationFactory(line=line, code=f"{prefix}-WS2", name=f"{prefix}-Bench")
    shift = Shift.objects.create(site=site, name=f"{prefix}-Early", start_time=time(6), end_time=time(14))
    supervisor = UserFactory(
        role=roles.SUPERVISOR, site=site, username=f"{p}-super", first_name=f"{prefix}-Sue", last_name="Lead"
    )
    operator = UserFactory(
        role=roles.OPERATOR,
        site=site,
        username=f"{p}-operator",
        first_name=f"{prefix}-Otto",
        last_name="Hand",
    )
    inspector = UserFactory(
        role=roles.QUALITY,
        site=site,
        username=f"{p}-quality",
        first_name=f"{prefix}-Quinn",
        last_name="Check",
    )
    s = SiteRecords(prefix=prefix, site=site)
    s.people = {"supervisor": supervisor, "operator": operator, "quality": inspector}

    # Orders: one produced (consuming a received lot), one cancelled with a reason.
    routing = routing_with([ws1, ws2], product=shared["finished"])
    order = production.workorder_create(
        number=f"WO-{prefix}-1",
        product=routing.product,
        routing=routing,
        line=line,
        quantity=10,
        user=supervisor,
    )
    production.workorder_transition(work_order_id=order.pk, target="released", user=supervisor, key=_key())
    first = order.operations.order_by("sequence").first()
    common = {"operation_id": first.pk, "workstation": ws1, "user": operator}
    production.operation_start(**common, key=_key())
    lot = production.lot_receive(
        product=shared["component"],
        site=site,
        quantity=50,
        user=supervisor,
        code=f"{prefix}-LOT-1",
        supplier="Acme",
        supplier_lot=f"{prefix}-SUPLOT",
        reason="Goods receipt",
    )
    production.operation_consume(**common, lot_code=lot.code, quantity=5, key=_key())
    lot_ship(
        key=_key(),
        code=lot.code,
        customer=f"{prefix}-CUSTOMER",
        reference=f"{prefix}-PO",
        quantity=10,
        user=supervisor,
    )
    production.operation_record_good(**common, quantity=3, key=_key())
    scrap = production.operation_record_scrap(
        **common, quantity=1, reason=shared["reasons"]["scrap"], note=f"{prefix}-SCRAP-NOTE", key=_key()
    )
    cancelled = production.workorder_create(
        number=f"WO-{prefix}-2",
        product=routing.product,
        routing=routing,
        line=line,
        quantity=5,
        user=supervisor,
    )
    production.workorder_transition(
        work_order_id=cancelled.pk,
        target="cancelled",
        user=supervisor,
        key=_key(),
        reason=f"{prefix}-AUDIT-REASON",
    )

    # A checklist approved with an e-signature, and a run of it with a remark.
    version = quality.template_create(
        site=site, code=f"{prefix}-CL", title=f"{prefix}-Checklist", user=inspector
    )
    quality.item_add(version_id=version.pk, user=inspector, data={"kind": "check", "prompt": "Area clean"})
    number = quality.item_add(
        version_id=version.pk,
        user=inspector,
        data={"kind": "number", "prompt": "Bore", "unit": "mm", "lsl": "9", "usl": "11", "decimals": 1},
    )
    quality.item_add(version_id=version.pk, user=inspector, data={"kind": "text", "prompt": "Remarks"})
    quality.version_submit(version_id=version.pk, user=inspector)
    quality.version_approve(
        version_id=version.pk, user=inspector, password=PASSWORD, comment=f"{prefix}-SIGNED"
    )
    quality.version_make_effective(version_id=version.pk, user=inspector)
    template = ChecklistTemplate.objects.get(pk=version.template_id)
    answers = {}
    for item in version.items.all():
        answers[f"item_{item.pk}"] = {"check": "on", "number": "10.0", "text": f"{prefix}-ANSWER"}[item.kind]
    done = quality.checklist_run_submit(
        key=_key(), user=operator, workstation=ws1, template=template, answers=answers
    )
    run = ChecklistRun.objects.get(pk=done.result_id)

    # A nonconformance, dispositioned with an e-signature, and a hold on the order.
    opened = quality.nonconformance_open(
        key=_key(), user=inspector, site=site, title=f"{prefix}-NC-TITLE", work_order=order, lot_code=lot.code
    )
    nc = Nonconformance.objects.get(pk=opened.result_id)
    quality.nonconformance_disposition(
        nonconformance_id=nc.pk,
        user=inspector,
        disposition="rework",
        note=f"{prefix}-DISPOSITION",
        password=PASSWORD,
    )
    placed = quality.hold_place(key=_key(), user=inspector, work_order=order, reason=f"{prefix}-HOLD-REASON")

    # An SOP with an image, an andon call and a tablet.
    sop = quality.sop_create(
        site=site, code=f"{prefix}-SOP", title=f"{prefix}-SOP-TITLE", user=inspector, body="Set up the press."
    )
    image = quality.sop_image_add(
        version_id=sop.pk, user=inspector, image=_png(), caption=f"{prefix}-CAPTION"
    )
    andon = andon_raise(workstation=ws2, user=operator, kind="help", key=_key(), note=f"{prefix}-ANDON-NOTE")
    tablet = plant_services.tablet_bind(workstation=ws1, name=f"{prefix}-TABLET", by=supervisor)
    handover = handover_leave(
        user=operator,
        workstation=ws1,
        scope="workstation",
        notes={"material": f"{prefix}-HANDOVER"},
        key=_key(),
    )
    qualified = quality.qualification_grant(
        user=inspector,
        person_id=operator.pk,
        workstation_id=ws1.pk,
        valid_until="2100-01-01",
        password=PASSWORD,
    )

    s.records = {
        Site: site,
        Line: line,
        Workstation: ws1,
        Shift: shift,
        Tablet: tablet,
        WorkOrder: order,
        WorkOrderOperation: first,
        ProductionEvent: ProductionEvent.objects.get(pk=scrap.event.pk),
        Lot: lot,
        ChecklistTemplate: template,
        ChecklistTemplateVersion: version,
        ChecklistItem: number,
        ChecklistRun: run,
        ChecklistResponse: run.responses.first(),
        Nonconformance: nc,
        Hold: Hold.objects.get(pk=placed.result_id),
        SopVersion: sop,
        SopImage: image,
        Qualification: qualified,
        AndonCall: andon,
        Handover: handover,
        OutboxMessage: OutboxMessage.objects.filter(work_order=order).first(),
        Signature: Signature.objects.filter(comment=f"{prefix}-SIGNED").get(),
    }
    s.markers = {
        "site": site.name,
        "line": line.name,
        "workstation": ws1.name,
        "order": order.number,
        "cancelled order": cancelled.number,
        "lot": lot.code,
        "supplier lot": lot.supplier_lot,
        "event": f"{prefix}-SCRAP-NOTE",
        "signature": f"{prefix}-SIGNED",
        "signer": inspector.first_name,
        "template": template.title,
        "run": f"{prefix}-ANSWER",
        "nonconformance": nc.title,
        "disposition": f"{prefix}-DISPOSITION",
        "hold": f"{prefix}-HOLD-REASON",
        "audit history": f"{prefix}-AUDIT-REASON",
        "sop": f"{prefix}-SOP-TITLE",
        "andon call": f"{prefix}-ANDON-NOTE",
        "handover": f"{prefix}-HANDOVER",
        "tablet": tablet.name,
        "shipment": f"{prefix}-CUSTOMER",
        "supervisor": supervisor.first_name,
        "operator": operator.first_name,
    }
    assert s.records[OutboxMessage] is not None, "completions and scrap write outbox messages"
    return s


@dataclass
class Plant:
    a: SiteRecords
    b: SiteRecords
    shared: dict


@pytest.fixture
def plant(settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks) -> Plant:
    """Two sites, A and B, each with records of every kind; site B's ERP messages end as dead
    letters (an ERP that refuses connections), so they are in the console's human queue."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(embedded, "enabled", False)  # delivered below, in this thread
    settings.ERP_URL = "http://127.0.0.1:9"
    settings.ERP_MAX_ATTEMPTS = 1
    found = reasons()
    component = ProductFactory(part_number="COMP-1", name="Component", tracking=Tracking.LOT)
    finished = ProductFactory(part_number="FIN-1", name="Finished part", tracking=Tracking.NONE)
    BomLine.objects.create(product=finished, component=component, quantity=Decimal("1"))
    shared = {"reasons": found, "component": component, "finished": finished}
    with django_capture_on_commit_callbacks(execute=True):
        a = build_site("ALFA", shared=shared)
        b = build_site("ZETA", shared=shared)
    while integration_services.outbox_deliver_due().claimed:
        pass
    shared["routing"] = Routing.objects.first()
    shared["reason"] = ReasonCode.objects.first()
    shared["bomline"] = BomLine.objects.first()
    shared["product"] = finished
    return Plant(a=a, b=b, shared=shared)


# --- what the walk fetches ----------------------------------------------------------------------

# Patterns that show no site data, by URL name (or prefix), and why.
NOT_SITE_DATA = {
    "logout": "signs the walker out",
    "api_schema": "the API's description, no records",
    "api_docs": "the API's documentation page, no records",
    "erp_product": "the ERP's write API: PUT only",
    "erp_bom": "the ERP's write API: PUT only",
    "erp_routing": "the ERP's write API: PUT only",
    "erp_work_order": "the ERP's write API: PUT only",
    "erp_bulk": "the ERP's write API: POST only",
}
ADMIN_PREFIX = "admin/"  # the admin site is for administrators only: see the test below

# The records that belong to no site: the same for everybody.
PLANT_WIDE = {Product: "product", BomLine: "bomline", Routing: "routing", ReasonCode: "reason"}


def _audit_records(s: SiteRecords) -> list[dict]:
    kinds = [WorkOrder, Lot, Nonconformance, Workstation, Signature, ChecklistTemplateVersion, Tablet]
    return [{"model": m._meta.label_lower, "pk": s[m].pk} for m in kinds]


def _report_job(s: SiteRecords) -> dict:
    return {"pk": s.records[ReportJob].pk}


# The record kind each argument of a non-API pattern names, by URL name.
ARGUMENTS = {
    "tablet_revoke": lambda s: {"pk": s[Tablet].pk},
    "person_edit": lambda s: {"pk": s.people["operator"].pk},
    "person_issue_pin": lambda s: {"pk": s.people["operator"].pk},
    "person_deactivate": lambda s: {"pk": s.people["operator"].pk},
    "workstation_operation": lambda s: {"pk": s[WorkOrderOperation].pk},
    "workorder_transition": lambda s: {"pk": s[WorkOrder].pk},
    "workorder_move": lambda s: {"pk": s[WorkOrder].pk},
    "live_site": lambda s: {"pk": s[Site].pk},
    "live_line": lambda s: {"pk": s[Line].pk},
    "live_line_chart": lambda s: {"pk": s[Line].pk},
    "andon_acknowledge": lambda s: {"pk": s[AndonCall].pk},
    "andon_resolve": lambda s: {"pk": s[AndonCall].pk},
    "workstation_handover_acknowledge": lambda s: {"pk": s[Handover].pk},
    "lot_label": lambda s: {"code": s[Lot].code},
    "record_page": lambda s: {"number": s[WorkOrder].number},
    "record_comment": lambda s: {"number": s[WorkOrder].number},
    "record_release": lambda s: {"number": s[WorkOrder].number},
    "record_reject": lambda s: {"number": s[WorkOrder].number},
    "record_pdf": lambda s: {"number": s[WorkOrder].number},
    "api_record": lambda s: {"number": s[WorkOrder].number},
    "api_record_release": lambda s: {"number": s[WorkOrder].number},
    "api_record_reject": lambda s: {"number": s[WorkOrder].number},
    "integration_message_retry": lambda s: {"pk": s[OutboxMessage].pk},
    "integration_message_skip": lambda s: {"pk": s[OutboxMessage].pk},
    "quality_operation_panel": lambda s: {"op_pk": s[WorkOrderOperation].pk},
    "quality_run": lambda s: {"pk": s[ChecklistRun].pk},
    "quality_run_save": lambda s: {"pk": s[ChecklistRun].pk},
    "quality_run_submit": lambda s: {"pk": s[ChecklistRun].pk},
    "quality_sop": lambda s: {"pk": s[SopVersion].pk},
    "quality_spc": lambda s: {"item_pk": s[ChecklistItem].pk, "workstation_pk": s[Workstation].pk},
    "quality_nonconformance": lambda s: {"pk": s[Nonconformance].pk},
    "quality_nonconformance_investigate": lambda s: {"pk": s[Nonconformance].pk},
    "quality_nonconformance_disposition": lambda s: {"pk": s[Nonconformance].pk},
    "quality_nonconformance_close": lambda s: {"pk": s[Nonconformance].pk},
    "quality_nonconformance_hold": lambda s: {"pk": s[Nonconformance].pk},
    "quality_hold_release": lambda s: {"pk": s[Hold].pk},
    "quality_version": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_submit": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_return": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_approve": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_effective": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_retire": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_new_draft": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_attach": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_detach": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_assign": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_version_titles": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_item_add": lambda s: {"pk": s[ChecklistTemplateVersion].pk},
    "quality_item_save": lambda s: {"pk": s[ChecklistTemplateVersion].pk, "item_pk": s[ChecklistItem].pk},
    "quality_item_move": lambda s: {"pk": s[ChecklistTemplateVersion].pk, "item_pk": s[ChecklistItem].pk},
    "quality_sop_version": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_update": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_image_add": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_submit": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_approve": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_effective": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_new_draft": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_attach": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_titles": lambda s: {"pk": s[SopVersion].pk},
    "quality_qualification_revoke": lambda s: {"pk": s[Qualification].pk},
    "quality_sop_pdf": lambda s: {"pk": s[SopVersion].pk},
    "quality_sop_image": lambda s: {"pk": s[SopImage].pk},
    "quality_help_image": lambda s: {"pk": s[ChecklistItem].pk},
    "quality_response_photo": lambda s: {"pk": s[ChecklistResponse].pk},
    "audit_record": _audit_records,
    "trace_export": lambda s: [{"code": s[Lot].code, "fmt": f} for f in ("pdf", "csv", "json", "epcis")],
    "report_detail": _report_job,
    "report_download": _report_job,
    "api_trace": lambda s: {"code": s[Lot].code},
    "api_report_detail": _report_job,
    "api_report_download": _report_job,
    "api_operation_consume": lambda s: {"pk": s[WorkOrderOperation].pk},
    "checklistrun-correct": lambda s: {"response_id": s[ChecklistResponse].pk},
}

# Searches by a record's code that a list page answers: the walk asks them for site B's records.
SEARCHES = [
    lambda b: f"/trace/?q={b[Lot].code}",
    lambda b: f"/trace/?q={b[WorkOrder].number}",
    lambda b: f"/api/v1/lots/?q={b[Lot].code}",
    lambda b: f"/audit/?model=workorders.workorder&record={b[WorkOrder].number}",
    lambda b: f"/api/v1/audit/?model=workorders.workorder&record={b[WorkOrder].number}",
    lambda b: f"/api/v1/signatures/?record_type=quality.nonconformance&object_id={b[Nonconformance].pk}",
    lambda b: f"/quality/?site={b.site.pk}",
    lambda b: f"/board/?line={b[Line].pk}",
    lambda b: f"/live/?site={b.site.pk}",
    lambda b: f"/losses/?line={b[Line].pk}",
    lambda b: f"/api/v1/losses/?workstation={b[Workstation].pk}&period=week",
    lambda b: f"/labor/export.csv?work_order={b[WorkOrder].number}",
    lambda b: f"/labor/export.csv?site={b.site.pk}&start=2026-01-01&end=2026-01-31",
    lambda b: f"/api/v1/labor/?work_order={b[WorkOrder].number}",
]


@dataclass(frozen=True)
class Pattern:
    name: str
    route: str
    arguments: tuple[str, ...]
    callback: object


def url_patterns() -> list[Pattern]:
    """Every pattern of the URL configuration, walked recursively, with its full name and the
    names of its arguments."""
    found: list[Pattern] = []

    def walk(resolver, prefix: str, namespace: str, arguments: tuple[str, ...]):
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            names = arguments + tuple(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry, route, ns, names)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}{entry.name}" if entry.name else ""
                found.append(Pattern(name, route, names, entry.callback))

    walk(get_resolver(), "", "", ())
    return found


def _api_model(callback) -> tuple[type[models.Model], str] | None:
    """The model and lookup field of a DRF generic view, if it has one."""
    cls = getattr(callback, "cls", None)
    if cls is None or not hasattr(cls, "lookup_field"):
        return None
    queryset = getattr(cls, "queryset", None)
    model = queryset.model if queryset is not None else None
    serializer = getattr(cls, "serializer_class", None)
    if model is None and serializer is not None and hasattr(serializer, "Meta"):
        model = serializer.Meta.model
    if model is None:
        return None
    return model, getattr(cls, "lookup_url_kwarg", None) or cls.lookup_field


def fill(pattern: Pattern, s: SiteRecords, shared: dict) -> list[dict] | None:
    """The arguments of `pattern` filled from site `s`'s records, or None if the kind of record
    is not known."""
    wanted = set(pattern.arguments) - {"format"}
    if pattern.name in ARGUMENTS:
        given = ARGUMENTS[pattern.name](s)
        options = given if isinstance(given, list) else [given]
    elif wanted and (api := _api_model(pattern.callback)) is not None and wanted == {api[1]}:
        model, lookup = api
        if model in PLANT_WIDE:
            record = shared[PLANT_WIDE[model]]
        elif model in s.records:
            record = s[model]
        else:
            return None
        options = [{lookup: getattr(record, "pk" if lookup == "pk" else lookup)}]
    elif wanted:
        return None
    else:
        options = [{}]
    if "format" in pattern.arguments:
        options = [{**o, "format": "json"} for o in options]
    return options


def plant_wide_model(pattern: Pattern) -> bool:
    api = _api_model(pattern.callback)
    return api is not None and api[0] in PLANT_WIDE


@dataclass
class Page:
    url: str
    status: int
    body: str
    listing: bool  # a pattern without arguments (or a search), as opposed to one record's page


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if raw.startswith(b"%PDF"):
        raw = raw + b"\n" + _pdf_text(raw)
    return raw.decode("utf-8", errors="replace")


def _pdf_text(raw: bytes) -> bytes:
    """The page streams of a PDF, decompressed (reportlab writes them ASCII85 + Flate encoded)."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        for decode in (
            lambda d: zlib.decompress(base64.a85decode(d.strip(), adobe=d.strip().startswith(b"<~"))),
            zlib.decompress,
        ):
            try:
                out.append(decode(stream))
                break
            except (ValueError, zlib.error):  # not a text stream (an image): left out
                continue
    return b"\n".join(out)


def fetch(client: Client, url: str, *, listing: bool, html_too: bool) -> list[Page]:
    """The page as JSON and, for the API, as the browsable API's HTML page too."""
    pages = []
    accepts = ["application/json", "text/html"] if html_too else ["*/*"]
    for accept in accepts:
        response = client.get(url, HTTP_ACCEPT=accept)
        pages.append(Page(f"{url} [{accept}]", response.status_code, _body(response), listing))
    return pages


def walk(client: Client, plant: Plant, *, records: SiteRecords) -> tuple[list[Page], list[str]]:
    """GET every page of the URL configuration, arguments filled from `records`; returns the
    pages and the patterns it could not fill."""
    pages: list[Page] = []
    unknown: list[str] = []
    for pattern in url_patterns():
        if pattern.route.startswith(ADMIN_PREFIX) or pattern.name in NOT_SITE_DATA:
            continue
        if not pattern.name:
            unknown.append(f"{pattern.route} (no name)")
            continue
        options = fill(pattern, records, plant.shared)
        if options is None:
            unknown.append(f"{pattern.name}: {pattern.route} {pattern.arguments}")
            continue
        listing = not (set(pattern.arguments) - {"format"})
        if records is plant.b and (listing or plant_wide_model(pattern)):
            continue  # not a page of one of site B's records
        html_too = pattern.route.startswith("api/") and "format" not in pattern.arguments
        for kwargs in options:
            url = reverse(pattern.name, kwargs=kwargs)
            pages += fetch(client, url, listing=listing, html_too=html_too)
    if records is plant.a:
        for search in SEARCHES:
            url = search(plant.b)
            pages += fetch(client, url, listing=True, html_too=url.startswith("/api/"))
    return pages, unknown


def leaks(pages: list[Page], markers: dict[str, str]) -> dict[str, list[str]]:
    """Which of site B's markers each page shows (but for what its own address asks for: a
    search or a 404 may repeat the code it was given)."""
    found = {}
    for page in pages:
        shown = [
            f"{kind} {marker!r}"
            for kind, marker in markers.items()
            if marker in page.body and marker not in page.url
        ]
        if shown:
            found[page.url] = shown
    return found


def described(found: dict[str, list[str]]) -> str:
    return "\n".join(f"  {url}: {', '.join(kinds)}" for url, kinds in sorted(found.items()))


def _walker(role: str, site: Site | None) -> object:
    """A person of `role` with exactly that role's permissions: of one site, or plant-wide."""
    user = UserFactory(role=role, site=site, username=f"walker-{role}-{'one' if site else 'all'}")
    user.all_sites = site is None
    user.save()
    return user


def _client(user, plant: Plant) -> Client:
    """Signed in as `user` on a browser bound as the tablet of site A's first workstation, so the
    tablet's pages show that workstation (an unbound browser gets the binding page)."""
    client = Client()
    client.force_login(user)
    bound = HttpResponse()
    tablets.set_cookie(bound, plant.a[Tablet])
    client.cookies[settings.TABLET_COOKIE_NAME] = bound.cookies[settings.TABLET_COOKIE_NAME].value
    return client


def _own_report_job(user, s: SiteRecords) -> None:
    """A trace report the walker asked for, on site `s`'s lot (report jobs are their requester's)."""
    s.records[ReportJob] = reports.report_job_create(
        user=user, kind=ReportKind.TRACE_CSV, params={"code": s[Lot].code, "direction": "backward"}
    )


# --- the tests ------------------------------------------------------------------------------------

# Pages on which a plant-wide person of the role must meet site B: the walk proves it can fail.
MUST_SHOW_SITE_B = {
    roles.SUPERVISOR: ["/integration/", "/integration/reconciliation.csv", "/api/v1/signatures/"],
    roles.QUALITY: ["/api/v1/signatures/", "/api/v1/nonconformances/", "/quality/"],
    roles.AUDITOR: ["/audit/", "/api/v1/audit/", "/api/v1/signatures/", "/api/v1/work-orders/"],
}


@pytest.mark.requirement("MES-004", "A11-12")
@pytest.mark.parametrize("role", [roles.SUPERVISOR, roles.QUALITY, roles.AUDITOR])
def test_a_one_site_person_meets_nothing_of_the_other_site_on_any_page(plant, role):
    one_site, plant_wide = _walker(role, plant.a.site), _walker(role, None)
    b_requester = plant.b.people["supervisor"]
    plant.b.records[ReportJob] = reports.report_job_create(
        user=b_requester,
        kind=ReportKind.TRACE_CSV,
        params={"code": plant.b[Lot].code, "direction": "backward"},
    )

    # Given the same walk as a plant-wide person of the role: it meets site B on the list pages.
    _own_report_job(plant_wide, plant.a)
    everything, unknown = walk(_client(plant_wide, plant), plant, records=plant.a)
    assert not unknown, (
        "These URL patterns take arguments the site-scoping walk cannot fill: add the kind of record "
        "each argument names to ARGUMENTS in tests/test_site_scoping.py (or, if the page shows no "
        f"site data, to NOT_SITE_DATA with the reason): {unknown}"
    )
    seen_by_plant_wide = {
        url.split(" [")[0] for url in leaks([p for p in everything if p.listing], plant.b.markers)
    }
    for path in MUST_SHOW_SITE_B[role]:
        assert path in seen_by_plant_wide, f"{path} shows no site B to a plant-wide {role}"

    # When a person of site A only walks every page, then none shows anything of site B.
    _own_report_job(one_site, plant.a)
    client = _client(one_site, plant)
    pages, _ = walk(client, plant, records=plant.a)
    assert len(pages) >= len(everything) - 2
    leaked = leaks(pages, plant.b.markers)
    assert not leaked, f"a {role} of site A met site B's records on these pages:\n{described(leaked)}"
    assert any(plant.a.markers["order"] in p.body for p in pages), "the walk sees site A's own records"

    # And a page of one of site B's records answers 403 or 404 (405: an action, POST only), with
    # none of it; the same pages show site B's records to the plant-wide person.
    b_pages, _ = walk(client, plant, records=plant.b)
    shown = {p.url: p.status for p in b_pages if p.status not in (403, 404, 405)}
    assert not shown, f"pages of site B's records answered a {role} of site A with: {shown}"
    leaked = leaks(b_pages, plant.b.markers)
    assert not leaked, f"pages of site B's records showed them to a {role} of site A:\n{described(leaked)}"
    b_seen, _ = walk(_client(plant_wide, plant), plant, records=plant.b)
    assert len(leaks(b_seen, plant.b.markers)) >= 10


def test_every_marker_of_site_b_is_seen_somewhere_by_a_plant_wide_auditor(plant):
    """The markers are live: each kind of site B record shows on some page of the walk."""
    auditor = _walker(roles.AUDITOR, None)
    plant.b.records[ReportJob] = plant.a.records[ReportJob] = reports.report_job_create(
        user=auditor, kind=ReportKind.TRACE_CSV, params={"code": plant.a[Lot].code, "direction": "backward"}
    )
    pages, _ = walk(_client(auditor, plant), plant, records=plant.a)
    b_pages, _ = walk(_client(auditor, plant), plant, records=plant.b)
    bodies = "\n".join(p.body for p in pages + b_pages)
    unseen = [kind for kind, marker in plant.b.markers.items() if marker not in bodies]
    assert not unseen, f"no page shows site B's {unseen} even to a plant-wide auditor"


# The records with no chain of links to a site (`mes.selectors.site_path`), and why that is right.
NO_SITE = {
    "mes.user": "a person belongs to their sites (`sites`), narrowed by `site_condition`",
    "mes.signature": "belongs to the site of the record it signs, narrowed by `site_condition`",
    "mes.auditseal": "seals the whole trail: counts and hashes, no records",
    "mes.auditsealpart": "seals the whole trail: counts and hashes, no records",
    "mes.signincounter": "throttle counters per account or address, never listed",
    "workorders.product": "master data of the whole plant",
    "workorders.bomline": "master data of the whole plant",
    "workorders.routing": "master data of the whole plant (its operations belong to their sites)",
    "workorders.reasoncode": "master data of the whole plant",
    "workorders.numbersequence": "numbering counters, never listed",
    "quality.qualityrequest": "idempotency keys of quality requests, never listed",
    "traceability.reportjob": "belongs to the person who asked for it: only theirs are shown",
    "integration.inboundrecord": "what the ERP sent: refused records are shown to plant-wide people only",
    "integration.erpendpoint": "the plant's ERP connection",
}


def test_every_record_belongs_to_a_site_or_is_plant_wide_on_purpose():
    """A model added later with no link to a site would be shown to everybody: it must be listed
    in NO_SITE with the reason, or link to a site."""
    unclassified = []
    for app in ("mes", "workorders", "quality", "traceability", "integration"):
        for model in apps.get_app_config(app).get_models():
            label = model._meta.label_lower
            if not hasattr(model, "instance_type") and site_path(model) is None and label not in NO_SITE:
                unclassified.append(label)
    assert not unclassified, (
        f"these records belong to no site; link them to one or add them to NO_SITE: {unclassified}"
    )
    assert site_path(WorkOrder) == "line__site" and site_path(ChecklistRun) == "template__site"
    # where the shortest chain is not the site: the consuming order's site, not the consumed lot's
    assert site_path(apps.get_model("workorders", "consumption")) == "work_order__line__site"
    assert site_path(apps.get_model("workorders", "genealogylink")) == "child__site"


@pytest.mark.parametrize("role", [roles.SUPERVISOR, roles.QUALITY, roles.AUDITOR])
def test_the_admin_site_is_closed_to_the_one_site_roles(plant, role):
    response = _client(_walker(role, plant.a.site), plant).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
