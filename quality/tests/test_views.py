"""The quality pages: tablet filling, the desk overview, the editor, nonconformance handling."""

import re

import pytest

from mes import roles
from mes.tests.factories import signed_in
from quality.models import ChecklistRun, Nonconformance, OperationChecklist
from quality.tests.conftest import PASSWORD, answers_for


@pytest.fixture
def tablet(supervisor, client_for, workstation, operator):
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    signed_in(tablet, operator, on_tablet=True)
    return tablet


@pytest.fixture
def attached(template, operation):
    return OperationChecklist.objects.create(
        routing_operation=operation.routing_operation, template=template, trigger="at_start"
    )


def _start_run(tablet, template, operation):
    response = tablet.post(
        "/workstation/checklists/start/",
        {
            "template": template.pk,
            "operation": operation.pk,
            "trigger": "at_start",
            "next": f"/workstation/operations/{operation.pk}/",
        },
    )
    assert response.status_code == 302, response.content[:300]
    return ChecklistRun.objects.get(), response["Location"]


def test_the_operation_panel_names_the_checklist_to_fill(tablet, attached, operation):
    response = tablet.get(f"/workstation/checklists/operations/{operation.pk}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"CL1" in response.content and b"to fill" in response.content


def test_filling_on_the_tablet_saves_progress_and_submits_once(tablet, attached, template, operation):
    run, location = _start_run(tablet, template, operation)
    page = tablet.get(location)
    assert page.status_code == 200 and b"data-keypad" in page.content and b"Shaft diameter" in page.content

    diameter = run.version.items.get(prompt="Shaft diameter")
    saved = tablet.post(
        f"/workstation/checklists/runs/{run.pk}/save/", {"item": diameter.pk, "value": "10.20"}
    )
    assert saved.json() == {"saved": True, "ok": True, "in_spec": False, "error": ""}
    run.refresh_from_db()
    assert run.draft[str(diameter.pk)] == "10.20"

    body = {
        **answers_for(template, **{"Shaft diameter": "10.20"}),
        "idempotency_key": "6f1c1b9e-3f61-4b7e-9c55-0a1d3f0f2b11",
    }
    body.pop(next(k for k, v in body.items() if isinstance(v, list)))
    first = tablet.post(f"/workstation/checklists/runs/{run.pk}/submit/?next=/workstation/", body)
    again = tablet.post(f"/workstation/checklists/runs/{run.pk}/submit/?next=/workstation/", body)
    assert first.status_code == 302 and again.status_code == 302
    run.refresh_from_db()
    assert run.status == "completed" and run.responses.count() == 5
    assert Nonconformance.objects.count() == 1


def test_a_refused_submission_shows_the_item_and_reason_and_keeps_the_values(
    tablet, attached, template, operation
):
    run, _ = _start_run(tablet, template, operation)
    body = {
        **answers_for(template, **{"Shaft diameter": "ten"}),
        "idempotency_key": "0b5c3a0c-1e55-4c8e-8a47-0c7a9a55d3a2",
    }
    response = tablet.post(f"/workstation/checklists/runs/{run.pk}/submit/", body)
    assert response.status_code == 400
    assert b"Shaft diameter: Enter a number." in response.content
    assert b'value="ten"' in response.content
    run.refresh_from_db()
    assert run.status == "in_progress" and not run.responses.exists()


def test_quality_overview_lists_open_nonconformances_for_supervisors(
    client_for, supervisor, template, operator, workstation
):
    from quality import services
    from quality.tests.conftest import key

    services.checklist_run_submit(
        key=key(),
        user=operator,
        workstation=workstation,
        template=template,
        answers=answers_for(template, **{"Shaft diameter": "9.80"}),
    )
    page = client_for(supervisor).get("/quality/")
    assert page.status_code == 200
    nc = Nonconformance.objects.get()
    assert nc.number.encode() in page.content
    assert b"<svg" in page.content or b"Not enough values" in page.content
    summary = client_for(supervisor).get("/quality/summary/")
    assert b"1</span> open nonconformance" in summary.content


def test_quality_dispositions_with_a_signature_on_the_page(client_for, quality_user, supervisor, site):
    from quality import services
    from quality.tests.conftest import key

    nc_id = services.nonconformance_open(key=key(), user=supervisor, site=site, title="Dent").result_id
    desk = client_for(quality_user)
    wrong = desk.post(
        f"/quality/nonconformances/{nc_id}/disposition/",
        {"disposition": "scrap", "note": "bad", "password": "x"},
    )
    assert wrong.status_code >= 400 and b">bad</textarea>" in wrong.content  # the page again, as typed
    assert Nonconformance.objects.get().status == "open"
    desk.post(
        f"/quality/nonconformances/{nc_id}/disposition/",
        {"disposition": "scrap", "note": "Dent too deep", "password": PASSWORD},
    )
    page = desk.get(f"/quality/nonconformances/{nc_id}/")
    assert Nonconformance.objects.get().status == "dispositioned"
    assert re.search(rb"<strong>Approved</strong> by <strong>Quinn Quist</strong>", page.content)


def test_the_editor_adds_and_reorders_items_with_htmx(client_for, quality_user, site):
    from quality import services

    version = services.template_create(site=site, code="ED", title="Editor", user=quality_user)
    desk = client_for(quality_user)
    added = desk.post(
        f"/quality/checklists/versions/{version.pk}/items/",
        {
            "kind": "number",
            "prompt": "Length",
            "unit": "mm",
            "lsl": "1",
            "usl": "2",
            "decimals": "1",
            "required": "on",
        },
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="items",
    )
    assert added.status_code == 200 and b"Length" in added.content and b"<html" not in added.content
    desk.post(
        f"/quality/checklists/versions/{version.pk}/items/",
        {"kind": "check", "prompt": "Clean"},
        HTTP_HX_REQUEST="true",
    )
    first = version.items.get(prompt="Length")
    desk.post(
        f"/quality/checklists/versions/{version.pk}/items/{first.pk}/move/",
        {"direction": "down"},
        HTTP_HX_REQUEST="true",
    )
    assert [i.prompt for i in version.items.order_by("position")] == ["Clean", "Length"]
    bad = desk.post(
        f"/quality/checklists/versions/{version.pk}/items/",
        {"kind": "choice", "prompt": "Pick", "choices": "one"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400 and b"at least two options" in bad.content


def test_operators_do_not_reach_the_quality_desk(client_for, make_user):
    operator = make_user(roles.OPERATOR, username="op2")
    assert client_for(operator).get("/quality/").status_code == 403


def test_the_supervisor_board_loads_the_quality_summary_with_the_forms_due(
    client_for, supervisor, quality_user, site, workstation
):
    from quality import services
    from quality.tests.conftest import make_effective

    template = make_effective(
        site=site,
        author=quality_user,
        approver=quality_user,
        code="CLEAR",
        items=[{"kind": "check", "prompt": "Line clear"}],
    )
    services.form_assign(template=template, schedule="daily", workstation=workstation, user=quality_user)
    client = client_for(supervisor)
    board = client.get("/board/")
    assert board.status_code == 200
    assert b'hx-get="/quality/summary/"' in board.content
    summary = client.get("/quality/summary/", HTTP_HX_REQUEST="true")
    assert b"1</span> form due" in summary.content
    assert f"{workstation.code}: {template.title}".encode() in summary.content
