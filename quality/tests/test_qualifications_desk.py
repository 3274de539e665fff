"""The desk's qualification page and the supervisors' list of SOPs still to read."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mes import roles
from mes.tests.factories import SiteFactory
from mes.tests.rows import changed, row_counts
from quality import services
from quality.models import Qualification
from quality.tests.conftest import PASSWORD
from workorders.tests.factories import released_order

PAGE = "/quality/qualifications/"
GRANT = "/quality/qualifications/grant/"


def _form(operator, workstation, **changes):
    until = timezone.localdate() + timedelta(days=90)
    return {
        "person": operator.pk,
        "workstation": workstation.pk,
        "valid_until": until.isoformat(),
        "password": PASSWORD,
        **changes,
    }


def test_quality_grants_and_revokes_at_the_desk(client_for, quality_user, operator, workstation):
    desk = client_for(quality_user)
    assert desk.get(PAGE).status_code == 200
    response = desk.post(GRANT, _form(operator, workstation))
    assert response.status_code == 302, response.content[:500]
    qualification = Qualification.objects.get()
    assert qualification.user == operator and qualification.granted_by == quality_user
    page = desk.get(PAGE).content.decode()
    assert operator.printed_name in page and "Revoke" in page
    response = desk.post(
        f"/quality/qualifications/{qualification.pk}/revoke/", {"reason": "Moved to assembly"}
    )
    assert response.status_code == 302
    qualification.refresh_from_db()
    assert qualification.revoke_reason == "Moved to assembly"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"valid_until": "2001-01-01"}, "valid_until", "The expiry must be a day after today."),
        ({"valid_until": "next week"}, "valid_until", "Enter the last valid day as a date."),
        ({"password": ""}, "password", "Enter your password to sign."),
        ({"person": ""}, "person", "Choose a person."),
    ],
)
def test_a_refused_grant_comes_back_as_typed_with_the_reason_at_its_field(
    client_for, quality_user, operator, workstation, changes, field, message
):
    desk = client_for(quality_user)
    before = row_counts()
    response = desk.post(GRANT, _form(operator, workstation, **changes))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert response.context["grant_form"].errors[field] == [message]
    assert not changed(before, row_counts())


def test_a_revocation_without_a_reason_is_refused_at_its_field(
    client_for, quality_user, operator, workstation
):
    desk = client_for(quality_user)
    assert desk.post(GRANT, _form(operator, workstation)).status_code == 302
    qualification = Qualification.objects.get()
    response = desk.post(f"/quality/qualifications/{qualification.pk}/revoke/", {"reason": ""})
    assert response.status_code == 400
    assert "Say why the qualification is revoked." in response.content.decode()
    qualification.refresh_from_db()
    assert qualification.revoked_at is None


def test_a_supervisor_sees_the_page_but_may_not_grant(client_for, supervisor, operator, workstation):
    desk = client_for(supervisor)
    assert desk.get(PAGE).status_code == 200
    assert desk.post(GRANT, _form(operator, workstation)).status_code == 403
    assert not Qualification.objects.exists()


def test_a_supervisor_sees_who_still_has_to_read_what(
    client_for, supervisor, quality_user, operator, workstation, make_user
):
    other = make_user(roles.OPERATOR, username="otto", site=SiteFactory(code="PLANT2"))
    reader = make_user(
        roles.OPERATOR, username="rita", first_name="Rita", last_name="Reader", badge=("4004", "4321")
    )
    op = released_order(user=supervisor, workstations=[workstation]).operations.get()
    version = services.sop_create(
        site=workstation.line.site, code="SOP-7", title="Deburring", body="Deburr.", user=quality_user
    )
    services.sop_version_submit(version_id=version.pk, user=quality_user)
    services.sop_version_approve(version_id=version.pk, user=quality_user, password=PASSWORD)
    services.sop_version_make_effective(version_id=version.pk, user=quality_user)
    services.operation_sop_attach(
        routing_operation=op.routing_operation, document=version.document, user=quality_user
    )
    services.sop_acknowledge(
        version_id=version.pk, user=reader, workstation=workstation, badge_number="4004", pin="4321"
    )
    response = client_for(supervisor).get("/quality/sops/unread/")
    assert response.status_code == 200
    rows = {row.person: [v.pk for v in row.versions] for row in response.context["unread"]}
    assert rows == {operator: [version.pk]}
    assert other not in rows and "SOP-7" in response.content.decode()
