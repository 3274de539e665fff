"""Every write endpoint of the API, sent garbage: wrong types, huge numbers, NUL characters, deep
nesting, unicode, empty bodies and wrong content types, in the body, the path and the query.

The property: whatever arrives, the answer is never a 5xx, and a refused request (4xx) leaves
every table as it was, but for the logs a refusal keeps on purpose (the ERP console's inbound
records, the sign-in attempts of a wrong signing password). Bodies that no endpoint may accept
(a NUL, nesting past the parser's limit, a number past 64 bits, half a surrogate pair, broken
JSON, a content type the endpoint doesn't read) must be refused with a 4xx.

The endpoints are read from the URL configuration: every pattern under /api/ whose view takes
POST, PUT, PATCH or DELETE. A write endpoint this file doesn't know how to reach fails
`test_every_write_endpoint_is_known`, so a new one can't escape the property.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mes import roles
from mes.parsers import MAX_DEPTH
from mes.tests.factories import WorkstationFactory
from mes.tests.rows import answer_to_garbage, assert_refusal_says_why, changed, garbage_settings, row_counts
from quality import services as quality
from quality.models import ChecklistResponse
from quality.tests.conftest import answers_for, make_effective
from workorders import services as production
from workorders.models import BomLine, Product
from workorders.states import Tracking
from workorders.tests.factories import ProductFactory, ReasonCodeFactory, reasons, released_order

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
INBOUND = ("integration_inboundrecord",)  # the ERP console keeps every refused record
SIGN_IN = ("mes_signinattempt", "mes_signincounter")  # a wrong signing password is counted
REFUSED_START = ("quality_startrefusal",)  # a Start refused by a training guard is kept


@dataclass(frozen=True)
class Target:
    """How to reach one write endpoint: its URL on the test plant, the body fields it reads,
    whether it reads a body at all, and the tables a refusal writes to on purpose."""

    url: Callable[[dict], str]
    fields: tuple[str, ...] = ()
    reads_body: bool = True
    logs: tuple[str, ...] = ()


PRODUCT = ("part_number", "name", "unit", "tracking", "active", "reason")
BOM = ("product", "component", "quantity", "reason")
ROUTING = ("product", "code", "name", "allow_overlap", "active", "operations", "reason")
REASON = ("code", "name", "kind", "loss", "planned", "active", "reason")
PRODUCTION = ("idempotency_key", "workstation", "occurred_at")


def _detail(prefix: str, key: str) -> Callable[[dict], str]:
    return lambda plant: f"/api/v1/{prefix}/{plant[key]}/"


ENDPOINTS: dict[tuple[str, str], Target] = {
    ("api_auth_token", "POST"): Target(
        lambda p: "/api/v1/auth/token/", ("username", "password"), logs=SIGN_IN
    ),
    ("product-list", "POST"): Target(lambda p: "/api/v1/products/", PRODUCT),
    ("product-detail", "PUT"): Target(_detail("products", "product"), PRODUCT),
    ("product-detail", "PATCH"): Target(_detail("products", "product"), PRODUCT),
    ("product-detail", "DELETE"): Target(_detail("products", "product"), reads_body=False),
    ("bomline-list", "POST"): Target(lambda p: "/api/v1/bom-lines/", BOM),
    ("bomline-detail", "PUT"): Target(_detail("bom-lines", "bom_line"), BOM),
    ("bomline-detail", "PATCH"): Target(_detail("bom-lines", "bom_line"), BOM),
    ("bomline-detail", "DELETE"): Target(_detail("bom-lines", "bom_line"), reads_body=False),
    ("routing-list", "POST"): Target(lambda p: "/api/v1/routings/", ROUTING),
    ("routing-detail", "PUT"): Target(_detail("routings", "routing"), ROUTING),
    ("routing-detail", "PATCH"): Target(_detail("routings", "routing"), ROUTING),
    ("routing-detail", "DELETE"): Target(_detail("routings", "routing"), reads_body=False),
    ("reasoncode-list", "POST"): Target(lambda p: "/api/v1/reason-codes/", REASON),
    ("reasoncode-detail", "PUT"): Target(_detail("reason-codes", "reason_code"), REASON),
    ("reasoncode-detail", "PATCH"): Target(_detail("reason-codes", "reason_code"), REASON),
    ("reasoncode-detail", "DELETE"): Target(_detail("reason-codes", "reason_code"), reads_body=False),
    ("workorder-list", "POST"): Target(
        lambda p: "/api/v1/work-orders/",
        ("number", "product", "routing", "line", "quantity", "due", "priority"),
    ),
    ("workorder-detail", "PATCH"): Target(
        _detail("work-orders", "order"), ("version", "reason", "quantity", "due")
    ),
    ("workorder-move", "POST"): Target(lambda p: f"/api/v1/work-orders/{p['order']}/move/", ("direction",)),
    ("workorder-transition", "POST"): Target(
        lambda p: f"/api/v1/work-orders/{p['order']}/transition/",
        ("status", "version", "idempotency_key", "reason", "reason_code", "override", "password"),
        logs=SIGN_IN,  # an override's wrong password is counted
    ),
    ("productionevent-list", "POST"): Target(
        lambda p: "/api/v1/events/",
        (*PRODUCTION, "kind", "operation", "quantity", "reason", "note", "override"),
        logs=REFUSED_START,
    ),
    ("lot-list", "POST"): Target(
        lambda p: "/api/v1/lots/",
        ("product", "site", "code", "quantity", "supplier", "supplier_lot", "reason"),
    ),
    ("api_shipments", "POST"): Target(
        lambda p: "/api/v1/shipments/",
        ("idempotency_key", "lot", "customer", "reference", "quantity", "shipped_at", "note"),
    ),
    ("api_operation_consume", "POST"): Target(
        lambda p: f"/api/v1/operations/{p['operation']}/consume/", (*PRODUCTION, "lot", "quantity")
    ),
    ("checklistrun-list", "POST"): Target(
        lambda p: "/api/v1/checklist-runs/",
        ("template", "workstation", "operation", "trigger", "answers", "idempotency_key", "password"),
        logs=SIGN_IN,
    ),
    ("checklistrun-correct", "POST"): Target(
        lambda p: f"/api/v1/checklist-runs/responses/{p['response']}/correct/",
        ("value", "reason", "idempotency_key"),
    ),
    ("nonconformance-list", "POST"): Target(
        lambda p: "/api/v1/nonconformances/",
        ("site", "title", "description", "work_order", "operation", "lot_code", "idempotency_key"),
    ),
    ("nonconformance-disposition", "POST"): Target(
        lambda p: f"/api/v1/nonconformances/{p['nonconformance']}/disposition/",
        ("disposition", "note", "password"),
        logs=SIGN_IN,
    ),
    ("hold-list", "POST"): Target(
        lambda p: "/api/v1/holds/", ("work_order", "reason", "nonconformance", "idempotency_key")
    ),
    ("hold-release", "POST"): Target(
        lambda p: f"/api/v1/holds/{p['hold']}/release/",
        ("reason", "password", "idempotency_key"),
        logs=SIGN_IN,
    ),
    ("api_audit_seal", "POST"): Target(lambda p: "/api/v1/audit/seal/", reads_body=False),
    ("api_reports", "POST"): Target(
        lambda p: "/api/v1/reports/", ("kind", "code", "direction", "model", "record", "user", "start", "end")
    ),
    ("erp_product", "PUT"): Target(
        lambda p: f"/api/v1/erp/products/{p['part_number']}/",
        ("name", "unit", "tracking", "active"),
        logs=INBOUND,
    ),
    ("erp_bom", "PUT"): Target(lambda p: f"/api/v1/erp/boms/{p['part_number']}/", ("lines",), logs=INBOUND),
    ("erp_routing", "PUT"): Target(
        lambda p: f"/api/v1/erp/routings/{p['part_number']}/STD/",
        ("name", "operations", "allow_overlap", "active"),
        logs=INBOUND,
    ),
    ("erp_work_order", "PUT"): Target(
        lambda p: f"/api/v1/erp/work-orders/{p['order_number']}/",
        ("material", "quantity", "unit", "due", "status", "routing", "line", "priority", "reason"),
        logs=INBOUND,
    ),
    ("erp_bulk", "POST"): Target(lambda p: "/api/v1/erp/bulk/", ("records",), logs=INBOUND),
    ("api_record_release", "POST"): Target(
        lambda p: f"/api/v1/records/{p['order_number']}/release/", ("password", "comment"), logs=SIGN_IN
    ),
    ("api_record_reject", "POST"): Target(
        lambda p: f"/api/v1/records/{p['order_number']}/reject/", ("password", "comment"), logs=SIGN_IN
    ),
}


# --- the endpoints, from the URL configuration ------------------------------------------------------


def _patterns(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def api_write_endpoints() -> set[tuple[str, str]]:
    """(URL name, method) of every pattern under /api/ whose view takes a write."""
    found = set()
    for route, pattern in _patterns(get_resolver().url_patterns):
        if not route.startswith("api/") or "format" in pattern.pattern.regex.groupindex:
            continue  # only the API; a router's `.json` suffix routes repeat the plain ones
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if actions:  # a viewset route: {method: action}
            methods = {m.upper() for m in actions}
        elif view_class is not None:
            methods = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
        else:  # a plain function: it may take anything, so it must be known
            methods = set(WRITE_METHODS)
        found |= {(pattern.name or route, m) for m in methods & WRITE_METHODS}
    return found


def test_every_write_endpoint_is_known():
    """A new write endpoint must be added to ENDPOINTS (how to reach it), or the property below
    would never send it garbage."""
    unknown = api_write_endpoints() - set(ENDPOINTS)
    assert not unknown, f"write endpoints the garbage test can't reach yet, add them to ENDPOINTS: {unknown}"
    gone = set(ENDPOINTS) - api_write_endpoints()
    assert not gone, f"ENDPOINTS lists endpoints that no longer exist: {gone}"


# --- garbage ------------------------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # half a surrogate pair: JSON can escape it, UTF-8 can't hold it
    "\ufeff",
    "\u202e\u0661\u0662",  # right-to-left override, Arabic-Indic digits
    "²",
    "١٢٣",
    "1e999",
    "-0",
    "NaN",
    "9" * 30,
    "1.5",
    "2026-02-31T00:00:00+00:00",
    "9999-12-31",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; DROP TABLE workorders_workorder; --",
    "x" * 5000,
    "🏭" * 50,
]
HUGE = [2**63, -(2**63) - 1, 2**64, 10**30, 2**63 - 1, -(2**63)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.sampled_from(HUGE),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(NASTY_TEXT),
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _poisoned(value, depth: int = 1) -> bool:
    """Whether a JSON value holds something every endpoint must refuse."""
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return depth > MAX_DEPTH or any(_poisoned(k) or _poisoned(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return depth > MAX_DEPTH or any(_poisoned(v, depth + 1) for v in value)
    return False


def _nested(depth: int):
    value = "deep"
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


@dataclass(frozen=True)
class Garbage:
    content_type: str | None
    body: bytes
    must_refuse: bool  # no endpoint that reads a body may accept it
    label: str


@st.composite
def json_garbage(draw, fields: tuple[str, ...]) -> Garbage:
    chosen = draw(st.lists(st.sampled_from(fields or ("data",)), unique=True))
    body: object = {name: draw(junk) for name in chosen}
    body.update(draw(st.dictionaries(st.text(max_size=8), junk, max_size=2)))
    poison = draw(st.sampled_from(["none", "none", "nul", "surrogate", "huge", "deep"]))
    if poison != "none":
        name = draw(st.sampled_from(fields or ("data",)))
        body[name] = {
            "nul": "a\x00b",
            "surrogate": "\udfff",
            "huge": draw(st.sampled_from([2**63, -(2**63) - 1, 10**40])),
            "deep": _nested(draw(st.integers(min_value=MAX_DEPTH + 1, max_value=MAX_DEPTH + 40))),
        }[poison]
    shape = draw(st.sampled_from(["object", "object", "object", "list", "scalar"]))
    if shape == "list":
        body = [body]
    elif shape == "scalar":
        body = draw(scalars)
    return Garbage(
        "application/json",
        json.dumps(body).encode(),
        must_refuse=_poisoned(body) or shape != "object",
        label=f"json {shape} poison={poison}",
    )


@st.composite
def raw_garbage(draw, fields: tuple[str, ...]) -> Garbage:
    kind = draw(st.sampled_from(["deep", "broken", "bytes", "text", "xml", "form", "multipart", "empty"]))
    if kind == "deep":  # ten thousand levels: the decoder's own recursion limit
        depth = draw(st.sampled_from([1_000, 10_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return Garbage("application/json", (opener * depth + "1" + closer * depth).encode(), True, "deep")
    if kind == "broken":
        text = draw(st.sampled_from(['{"a": ', "{'a': 1}", "[1, 2", '{"a": NaN}', '{"a": Infinity}', "\x00"]))
        return Garbage("application/json", text.encode(), True, "broken json")
    if kind == "bytes":
        raw = draw(st.binary(min_size=1, max_size=64).filter(lambda b: not _is_json(b)))
        return Garbage("application/json", raw, True, "bytes as json")
    if kind == "text":
        return Garbage("text/plain", draw(st.text(min_size=1, max_size=40)).encode(), True, "text/plain")
    if kind == "xml":
        xml = draw(
            st.sampled_from(
                [
                    b"<records><record type='product' key='X'><name>a</name>",
                    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    b"<record><name>&x;</name><unit>pcs</unit></record>",
                    b"<record><!-- c --><name><?pi x?></name></record>",
                    b"<nope/>",
                ]
            )
        )
        return Garbage("application/xml", xml, False, "xml")
    if kind == "empty":
        return Garbage(draw(st.sampled_from(["application/json", None])), b"", False, "empty")
    values = {name: draw(st.one_of(st.text(max_size=20), st.sampled_from(NASTY_TEXT))) for name in fields}
    has_nul = any("\x00" in v for v in values.values())
    if kind == "form":  # half surrogate pairs go out as the invalid UTF-8 they would be on the wire
        raw = {k: v.encode("utf-8", errors="surrogatepass") for k, v in values.items()}
        return Garbage("application/x-www-form-urlencoded", urlencode(raw).encode(), has_nul, "form")
    boundary = "garbageboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in values.items()
        if '"' not in name
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8", errors="surrogatepass")
    return Garbage(f"multipart/form-data; boundary={boundary}", body, has_nul, "multipart")


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return True


QUERY_JUNK = [
    "?reason=%00",
    "?reason=" + quote("\u202e"),
    "?limit=" + str(2**63),
    "?offset=-1",
    "?status=abc&line=abc",
    "?%00=1",
]
PATH_JUNK = ["abc", "1.5", "-1", "0", str(2**63), "9" * 40, "%00", "²", "%F0%9F%8F%AD", "%2e%2e"]


@st.composite
def garbage_for(draw, target: Target):
    """Garbage for one endpoint: a body, and maybe junk for the ids in its path and its query."""
    garbage = draw(st.one_of(json_garbage(target.fields), raw_garbage(target.fields)))
    path_junk = draw(st.sampled_from([None, None, None, *PATH_JUNK]))
    query = draw(st.sampled_from(["", "", "", *QUERY_JUNK]))
    if not target.reads_body and path_junk is None and not query:
        # Garbage in a body nobody reads is no garbage: the junk goes where this endpoint reads.
        query = "?reason=%00"
    return garbage, path_junk, query


# --- the property ---------------------------------------------------------------------------------------


@pytest.fixture
def plant(site, make_user, supervisor):
    """A small plant with one record of everything the write endpoints act on."""
    admin = make_user(roles.ADMIN, username="ada")
    hold_reasons = reasons()
    station = WorkstationFactory(line__site=site, line__code="MACH", code="CNC1")
    order = released_order(user=supervisor, workstations=[station], quantity=10, number="WO-1")
    product = order.product
    component = ProductFactory(part_number="RAW-1", tracking=Tracking.LOT)
    bom_line = production.master_data_save(
        instance=BomLine(product=product, component=component, quantity=Decimal("2")),
        user=admin,
        reason="test",
    )
    production.lot_receive(product=component, site=site, quantity=50, user=admin, code="L-1", reason="test")
    template = make_effective(site=site, author=admin, approver=admin)
    quality.checklist_run_submit(
        key=uuid.uuid4(), user=admin, workstation=station, template=template, answers=answers_for(template)
    )
    nc = quality.nonconformance_open(
        key=uuid.uuid4(), user=admin, site=site, title="Scratch", work_order=order
    )
    held = released_order(user=supervisor, workstations=[station], quantity=5, number="WO-2")
    hold = quality.hold_place(key=uuid.uuid4(), user=admin, work_order=held, reason="Check")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}")
    return {
        "client": client,
        "product": product.pk,
        "part_number": product.part_number,
        "bom_line": bom_line.pk,
        "routing": order.routing_id,
        "reason_code": ReasonCodeFactory(code="SPARE").pk,
        "order": order.pk,
        "order_number": order.number,
        "operation": order.operations.get().pk,
        "response": ChecklistResponse.objects.order_by("pk").first().pk,
        "nonconformance": nc.result_id,
        "hold": hold.result_id,
        "hold_reasons": hold_reasons,
        "products": Product.objects.count(),
    }


def _url(target: Target, plant: dict, path_junk: str | None) -> str:
    """The endpoint's URL on the plant, or with junk for every id and key in it."""
    return target.url(plant if path_junk is None else dict.fromkeys(plant, path_junk))


def _send(plant: dict, method: str, target: Target, sent) -> None:
    garbage, path_junk, query = sent
    url = _url(target, plant, path_junk) + query
    what = f"{method} {url} [{garbage.label}]"
    before = row_counts()
    extra = {"content_type": garbage.content_type} if garbage.content_type else {}
    response = answer_to_garbage(what, lambda: plant["client"].generic(method, url, garbage.body, **extra))
    status = response.status_code
    if garbage.must_refuse and target.reads_body:
        assert 400 <= status < 500, f"{what} was accepted ({status}): {response.content[:300]!r}"
    if status >= 400:
        moved = changed(before, row_counts(), allowed=target.logs)
        assert not moved, f"{what} was refused ({status}) but wrote {moved}"
        assert_refusal_says_why(what, response)


# Each example sends garbage to every endpoint: about 40 requests.
@pytest.mark.requirement("MES-008")
@garbage_settings(max_examples=20)
@given(data=st.data())
def test_garbage_to_any_write_endpoint_is_refused_and_writes_nothing(plant, data):
    for (name, method), target in sorted(ENDPOINTS.items()):
        _send(plant, method, target, data.draw(garbage_for(target), label=f"{method} {name}"))
