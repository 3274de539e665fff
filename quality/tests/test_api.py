"""The quality API: templates read, idempotent submission, refusals with the field, holds,
nonconformance disposition with a password, signatures read."""

import uuid

import pytest
from rest_framework.test import APIClient

from quality.models import ChecklistRun, Hold, Nonconformance
from quality.tests.conftest import PASSWORD, answers_for


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_templates_list_the_items_of_the_effective_version(template, operator):
    body = api(operator).get("/api/v1/checklist-templates/").json()
    [found] = body["results"]
    assert found["code"] == "CL1" and found["effective_version"] == 1
    assert [i["prompt"] for i in found["items"]][:3] == [
        "Work area clean",
        "Visual inspection",
        "Shaft diameter",
    ]
    assert found["items"][2]["field"].startswith("item_")


def test_submitting_a_run_is_idempotent(template, operator, workstation):
    key = str(uuid.uuid4())
    body = {"template": template.pk, "workstation": workstation.pk, "answers": answers_for(template)}
    first = api(operator).post("/api/v1/checklist-runs/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = api(operator).post("/api/v1/checklist-runs/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201, first.json()
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(first.json()["responses"]) == 6
    assert ChecklistRun.objects.count() == 1


def test_a_bad_answer_is_refused_with_the_field(template, operator, workstation):
    answers = answers_for(template, **{"Shaft diameter": "10.005"})
    field = next(k for k, v in answers.items() if v == "10.005")
    response = api(operator).post(
        "/api/v1/checklist-runs/",
        {
            "template": template.pk,
            "workstation": workstation.pk,
            "answers": answers,
            "idempotency_key": str(uuid.uuid4()),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "too_precise" and field in response.json()["errors"]
    assert not ChecklistRun.objects.exists()


def test_nonconformance_disposition_and_hold_release_through_the_api(order, supervisor, quality_user):
    nc = api(supervisor).post(
        "/api/v1/nonconformances/",
        {"title": "Crack", "work_order": order.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert nc.status_code == 201
    nc_id = nc.json()["id"]
    wrong = api(quality_user).post(
        f"/api/v1/nonconformances/{nc_id}/disposition/",
        {"disposition": "scrap", "note": "Cracked", "password": "nope"},
        format="json",
    )
    assert wrong.status_code == 400 and wrong.json()["errors"] == {
        "password": ["Password is not right: not signed."]
    }
    ok = api(quality_user).post(
        f"/api/v1/nonconformances/{nc_id}/disposition/",
        {"disposition": "scrap", "note": "Cracked", "password": PASSWORD},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["status"] == "dispositioned"

    held = api(supervisor).post(
        "/api/v1/holds/",
        {"work_order": order.pk, "reason": "Crack"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert held.status_code == 201
    assert (
        api(supervisor)
        .post(
            f"/api/v1/holds/{held.json()['id']}/release/",
            {"reason": "x", "password": PASSWORD},
            format="json",
        )
        .status_code
        == 403
    )
    released = api(quality_user).post(
        f"/api/v1/holds/{held.json()['id']}/release/",
        {"reason": "Sorted", "password": PASSWORD, "idempotency_key": str(uuid.uuid4())},
        format="json",
    )
    assert released.status_code == 200 and Hold.objects.get().status == "released"

    signatures = (
        api(quality_user)
        .get("/api/v1/signatures/?record_type=quality.nonconformance&object_id=" + str(nc_id))
        .json()
    )
    [signature] = signatures["results"]
    assert (
        signature["meaning"] == "approved"
        and signature["intact"]
        and signature["printed_name"] == "Quinn Quist"
    )
    assert Nonconformance.objects.get().status == "dispositioned"


@pytest.mark.parametrize(
    "path", ["/api/v1/nonconformances/", "/api/v1/holds/", "/api/v1/signatures/", "/api/v1/checklist-runs/"]
)
def test_operators_do_not_read_the_desk_records(operator, path):
    assert api(operator).get(path).status_code == 403
