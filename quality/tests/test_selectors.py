"""SPC (individuals / moving range, Western Electric rules), SOP acknowledgements, forms due."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mes.errors import Conflict, ValidationFailed
from quality import selectors, services
from quality.charts import spc_svg
from quality.models import FormAssignment
from quality.selectors import western_electric
from quality.tests.conftest import PASSWORD, answers_for, key, make_effective


def test_rule_1_flags_a_point_beyond_three_sigma():
    assert western_electric([0, 0, 3.5, 0], centre=0, sigma=1) == [[], [], [1], []]


def test_rule_2_flags_two_of_three_beyond_two_sigma_on_one_side():
    flags = western_electric([2.5, 0, 2.5], centre=0, sigma=1)
    assert 2 in flags[2] and flags[0] == [] and flags[1] == []
    assert 2 not in western_electric([2.5, 0, -2.5], centre=0, sigma=1)[2]


def test_rule_3_flags_four_of_five_beyond_one_sigma_on_one_side():
    flags = western_electric([1.5, 1.5, 0, 1.5, 1.5], centre=0, sigma=1)
    assert 3 in flags[4] and all(3 not in f for f in flags[:4])


def test_rule_4_flags_eight_in_a_row_on_one_side():
    flags = western_electric([0.1] * 8, centre=0, sigma=1)
    assert flags[7] == [4] and all(f == [] for f in flags[:7])


def test_judging_only_some_points_flags_them_as_judging_every_point_does():
    # A submission judges only the values it brings; the rules must see the runs before them.
    values = [0.1, 2.5, 0.2, 2.6, 1.5, 1.4, 0.3, 1.6, 1.7, 3.4, 0.2, 0.1]
    every = western_electric(values, centre=0, sigma=1)
    for index in range(len(values)):
        some = western_electric(values, centre=0, sigma=1, only=[index])
        assert some[index] == every[index]
        assert all(flags == [] for i, flags in enumerate(some) if i != index)
    assert any(every), "the series must break some rule for the comparison to mean anything"


def test_the_chart_takes_limits_from_the_baseline_and_flags_a_drift(
    site, quality_user, operator, workstation
):
    template = make_effective(
        site=site,
        author=quality_user,
        approver=quality_user,
        items=[
            {"kind": "number", "prompt": "Bore", "unit": "mm", "lsl": "9.90", "usl": "10.10", "decimals": 2}
        ],
    )
    values = ["10.00", "10.02", "9.98", "10.01", "9.99"] * 5 + ["10.06"] * 8
    for value in values:
        services.checklist_run_submit(
            key=key(),
            user=operator,
            workstation=workstation,
            template=template,
            answers=answers_for(template, Bore=value),
        )
    item = template.versions.get().items.get()

    chart = selectors.spc_chart(item=item, workstation=workstation, baseline=25)

    assert len(chart.points) == 33 and chart.baseline == 25
    assert chart.centre == pytest.approx(10.0)
    moving = [abs(float(values[i]) - float(values[i - 1])) for i in range(1, 25)]
    assert chart.mr_bar == pytest.approx(sum(moving) / len(moving))
    assert chart.ucl == pytest.approx(10.0 + 3 * chart.mr_bar / 1.128)
    assert chart.usl == 10.10 and chart.lsl == 9.90
    assert chart.flagged and all(p.index >= 25 for p in chart.flagged)
    svg = str(spc_svg(chart))
    assert svg.count("<svg") == 2 and "flagged" in svg and "USL" in svg


def test_sop_versions_are_approved_with_a_signature_and_acknowledged_once(site, quality_user, operator):
    from mes.signatures import manifestations

    version = services.sop_create(
        site=site, code="SOP-1", title="Turning", body="1. Clamp.\n2. Turn.", user=quality_user
    )
    services.sop_version_submit(version_id=version.pk, user=quality_user)
    with pytest.raises(Conflict):
        services.sop_acknowledge(version_id=version.pk, user=operator)
    services.sop_version_approve(version_id=version.pk, user=quality_user, password=PASSWORD)
    services.sop_version_make_effective(version_id=version.pk, user=quality_user)

    # Reading is signed with the badge and PIN; without them, or with a wrong PIN, nothing is kept.
    with pytest.raises(ValidationFailed) as missing:
        services.sop_acknowledge(version_id=version.pk, user=operator)
    assert missing.value.field == "badge_number"
    with pytest.raises(ValidationFailed) as wrong:
        services.sop_acknowledge(version_id=version.pk, user=operator, badge_number="1001", pin="9999")
    assert wrong.value.field == "pin"
    assert not version.acknowledgements.exists()

    first = services.sop_acknowledge(version_id=version.pk, user=operator, badge_number="1001", pin="1234")
    assert services.sop_acknowledge(version_id=version.pk, user=operator) == first  # once: no second signing
    assert manifestations(version)[0].meaning == "Approved"
    assert [(m.meaning, m.intact) for m in manifestations(first)] == [("Reviewed", True)]
    assert list(version.acknowledgements.values_list("user__username", flat=True)) == ["olga"]


def test_forms_fall_due_each_day_and_are_done_by_a_run(site, quality_user, operator, workstation):
    template = make_effective(
        site=site,
        author=quality_user,
        approver=quality_user,
        code="CLEAR",
        items=[{"kind": "check", "prompt": "Line clear"}],
    )
    assignment = services.form_assign(
        template=template, schedule="daily", workstation=workstation, user=quality_user
    )
    [due] = selectors.forms_for(workstation, datetime.now(UTC))
    assert due.due_since is not None
    services.checklist_run_submit(
        key=key(),
        user=operator,
        workstation=workstation,
        template=template,
        answers=answers_for(template),
        assignment=assignment,
    )
    # Read right after the run (a minute later could already be tomorrow at the site).
    [done] = selectors.forms_for(workstation, datetime.now(UTC))
    assert done.due_since is None and done.last_completed is not None
    assert FormAssignment.objects.count() == 1
    assert Decimal("1")
