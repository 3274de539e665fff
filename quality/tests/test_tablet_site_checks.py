"""A tablet acts only for its own workstation and site: a form assigned elsewhere, a checklist or
an SOP of another site is refused though its id is posted by hand, and nothing is written."""

import pytest

from mes import roles
from mes.errors import NotFound, ValidationFailed
from mes.tests.factories import SiteFactory, WorkstationFactory, signed_in
from mes.tests.rows import changed, row_counts
from quality import services
from quality.models import ChecklistRun, SopAcknowledgement
from quality.tests.conftest import PASSWORD, make_effective

START = "/workstation/checklists/start/"


@pytest.fixture
def tablet(supervisor, client_for, workstation, operator):
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    signed_in(tablet, operator, on_tablet=True)
    return tablet


@pytest.fixture
def elsewhere(make_user):
    """Another site, with its own quality engineer, workstation, checklist and effective SOP."""
    other = SiteFactory(code="PLANT2", name="Plant two")
    engineer = make_user(roles.QUALITY, username="otto", site=other)
    station = WorkstationFactory(line__site=other, code="PRESS1")
    template = make_effective(site=other, author=engineer, approver=engineer, code="CL9")
    sop = services.sop_create(site=other, code="SOP-9", title="Pressing", body="Press.", user=engineer)
    services.sop_version_submit(version_id=sop.pk, user=engineer)
    services.sop_version_approve(version_id=sop.pk, user=engineer, password=PASSWORD)
    services.sop_version_make_effective(version_id=sop.pk, user=engineer)
    return {"site": other, "engineer": engineer, "workstation": station, "template": template, "sop": sop}


def _refused(response, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()["errors"], response.json()


def test_a_form_assigned_to_another_workstation_is_refused(tablet, template, quality_user, workstation):
    neighbour = WorkstationFactory(line=workstation.line, code="CNC2")
    assignment = services.form_assign(
        template=template, schedule="on_demand", user=quality_user, workstation=neighbour
    )
    before = row_counts()
    _refused(tablet.post(START, {"assignment": assignment.pk}), "assignment")
    assert not changed(before, row_counts())


def test_a_form_of_another_site_is_refused(tablet, elsewhere):
    assignment = services.form_assign(
        template=elsewhere["template"],
        schedule="on_demand",
        user=elsewhere["engineer"],
        workstation=elsewhere["workstation"],
    )
    before = row_counts()
    response = tablet.post(START, {"assignment": assignment.pk})
    assert response.status_code == 400, response.content[:300]
    assert not changed(before, row_counts())
    assert not ChecklistRun.objects.exists()


def test_a_checklist_of_another_site_is_refused(tablet, elsewhere):
    before = row_counts()
    _refused(tablet.post(START, {"template": elsewhere["template"].pk}), "template")
    assert not changed(before, row_counts())


def test_a_form_assigned_to_the_line_starts_at_each_of_its_workstations(
    tablet, template, quality_user, workstation
):
    assignment = services.form_assign(
        template=template, schedule="on_demand", user=quality_user, line=workstation.line
    )
    response = tablet.post(START, {"assignment": assignment.pk})
    assert response.status_code == 302, response.content[:300]
    run = ChecklistRun.objects.get()
    assert (run.assignment, run.workstation) == (assignment, workstation)


def test_the_tablet_does_not_show_or_acknowledge_another_sites_sop(tablet, elsewhere):
    url = f"/workstation/checklists/sops/{elsewhere['sop'].pk}/"
    assert tablet.get(url).status_code == 404
    before = row_counts()
    assert tablet.post(url).status_code == 404
    assert not changed(before, row_counts())


def test_the_tablet_shows_and_acknowledges_its_own_sites_sop(tablet, site, quality_user, operator):
    sop = services.sop_create(site=site, code="SOP-1", title="Clamping", body="Clamp.", user=quality_user)
    services.sop_version_submit(version_id=sop.pk, user=quality_user)
    services.sop_version_approve(version_id=sop.pk, user=quality_user, password=PASSWORD)
    services.sop_version_make_effective(version_id=sop.pk, user=quality_user)
    url = f"/workstation/checklists/sops/{sop.pk}/"
    assert tablet.get(url).status_code == 200
    unsigned = tablet.post(url)  # reading is signed: without the badge and PIN, refused
    assert unsigned.status_code == 400 and b'data-field="badge_number"' in unsigned.content
    assert not SopAcknowledgement.objects.exists()
    assert tablet.post(url, {"badge_number": "1001", "pin": "1234"}).status_code == 302
    assert SopAcknowledgement.objects.filter(version=sop, user=operator).exists()


def test_acknowledging_another_sites_sop_is_refused_by_the_service(elsewhere, operator, workstation):
    with pytest.raises(NotFound):
        services.sop_acknowledge(version_id=elsewhere["sop"].pk, user=operator, workstation=workstation)
    with pytest.raises(NotFound):  # without a workstation: the person's own sites
        services.sop_acknowledge(version_id=elsewhere["sop"].pk, user=operator)
    assert not SopAcknowledgement.objects.exists()


def test_starting_a_checklist_of_another_site_is_refused_by_the_service(elsewhere, operator, workstation):
    before = row_counts()
    with pytest.raises(ValidationFailed) as refused:
        services.checklist_run_start(template=elsewhere["template"], workstation=workstation, user=operator)
    assert refused.value.field == "template"
    assert not changed(before, row_counts())
