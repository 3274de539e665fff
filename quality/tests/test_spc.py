"""SPC: capability figures computed by hand, and a rule broken on a chart opening exactly one
nonconformance (and an andon call where the site asks for it), however often it is judged."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes.tests.threads import run_in_threads
from quality import services
from quality.models import Nonconformance, QualitySettings, SpcSignal
from quality.services import runs as run_services
from quality.services.spc import spc_judge_series
from quality.spc import BASELINE, capability, spc_chart
from quality.tests.conftest import PASSWORD, answers_for, key, make_effective
from workorders.live.models import AndonCall

# Sits on 10.00 with a moving range of 0.0246 on average: sigma within = 0.0246 / 1.128 = 0.0218,
# so the control limits are 10.00 ± 0.065 (UCL 10.065), inside the spec 9.90 - 10.10.
BASE = ["10.00", "10.02", "9.98", "10.01", "9.99"] * 5
BORE = {"kind": "number", "prompt": "Bore", "unit": "mm", "lsl": "9.90", "usl": "10.10", "decimals": 2}


@pytest.fixture
def bore(site, quality_user):
    return make_effective(site=site, author=quality_user, approver=quality_user, code="BORE", items=[BORE])


def submit(template, operator, workstation, value, k=None):
    return services.checklist_run_submit(
        key=k or key(),
        user=operator,
        workstation=workstation,
        template=template,
        answers=answers_for(template, Bore=value),
    )


def item_of(template):
    return template.versions.get(status="effective").items.get()


# --- capability -------------------------------------------------------------------------------


def test_cp_cpk_pp_ppk_match_a_hand_computation():
    # x̄ = 50.0 / 5 = 10.0; moving ranges 0.2, 0.4, 0.3, 0.2 -> MR̄ = 1.1 / 4 = 0.275,
    # sigma within = 0.275 / 1.128 = 0.243794; deviations 0, .2, -.2, .1, -.1 -> Σd² = 0.10,
    # s = sqrt(0.10 / 4) = 0.158114. Spec 9.5 - 11.0: width 1.5, nearest limit 0.5 away (LSL).
    cap = capability([10.0, 10.2, 9.8, 10.1, 9.9], lsl=9.5, usl=11.0)

    assert cap.n == 5 and cap.mean == pytest.approx(10.0)
    assert cap.sigma_within == pytest.approx(0.243794, abs=1e-6)
    assert cap.sigma_overall == pytest.approx(0.158114, abs=1e-6)
    assert cap.cp == pytest.approx(1.5 / (6 * 0.243794), abs=1e-5)  # 1.025458
    assert cap.cpk == pytest.approx(0.5 / (3 * 0.243794), abs=1e-5)  # 0.683639
    assert cap.pp == pytest.approx(1.5 / (6 * 0.158114), abs=1e-5)  # 1.581139
    assert cap.ppk == pytest.approx(0.5 / (3 * 0.158114), abs=1e-5)  # 1.054093


def test_capability_is_left_undefined_rather_than_guessed():
    assert capability([], 9.0, 11.0).cp is None
    one = capability([10.0], 9.0, 11.0)
    assert (one.n, one.cp, one.cpk, one.pp, one.ppk) == (1, None, None, None, None)
    no_limits = capability([10.0, 10.2, 9.8], None, None)
    assert no_limits.sigma_within is not None and (no_limits.cp, no_limits.cpk) == (None, None)
    flat = capability([10.0, 10.0, 10.0], 9.0, 11.0)
    assert (flat.cp, flat.cpk, flat.pp, flat.ppk) == (None, None, None, None)


def test_with_one_spec_limit_cpk_is_one_sided_and_cp_undefined():
    cap = capability([10.0, 10.2, 9.8, 10.1, 9.9], lsl=None, usl=11.0)
    assert cap.cp is None and cap.pp is None
    assert cap.cpk == pytest.approx(1.0 / (3 * 0.275 / 1.128))  # Cpu
    assert cap.ppk == pytest.approx(1.0 / (3 * 0.158114), abs=1e-5)


def test_the_page_shows_the_figures_beside_the_chart(site, quality_user, operator, workstation, client_for):
    template = make_effective(
        site=site,
        author=quality_user,
        approver=quality_user,
        items=[{"kind": "number", "prompt": "Bore", "lsl": "9.5", "usl": "11.0", "decimals": 1}],
    )
    for value in ["10.0", "10.2", "9.8", "10.1", "9.9"]:
        submit(template, operator, workstation, value)

    page = client_for(quality_user).get(f"/quality/spc/{item_of(template).pk}/{workstation.pk}/")

    html = page.content.decode()
    assert page.status_code == 200 and 'id="capability"' in html
    for figure, shown in {"cp": "1.03", "cpk": "0.68", "pp": "1.58", "ppk": "1.05", "n": "5"}.items():
        assert f'data-figure="{figure}">{shown}<' in html


def test_the_page_shows_a_dash_without_limits_or_values(
    site, quality_user, operator, workstation, client_for
):
    template = make_effective(
        site=site,
        author=quality_user,
        approver=quality_user,
        items=[{"kind": "number", "prompt": "Bore", "decimals": 1}],
    )
    submit(template, operator, workstation, "10.0")

    page = client_for(quality_user).get(f"/quality/spc/{item_of(template).pk}/{workstation.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    for figure in ("cp", "cpk", "pp", "ppk", "sigma_within"):
        assert f'data-figure="{figure}">—<' in html


# --- signals ----------------------------------------------------------------------------------


def test_a_point_beyond_the_control_limits_opens_one_nonconformance_with_the_values(
    bore, operator, workstation
):
    for value in BASE:
        submit(bore, operator, workstation, value)
    assert not Nonconformance.objects.exists()  # the baseline itself is in control

    first_key = key()
    done = submit(bore, operator, workstation, "10.09", k=first_key)  # in spec, beyond UCL 10.065

    nc = Nonconformance.objects.get()
    assert nc.automatic and nc.workstation == workstation and nc.item == item_of(bore)
    assert nc.response.run_id == done.result_id and nc.response.display_value == "10.09 mm"
    assert "rule 1" in nc.title and "10.09 mm" in nc.description and "Control limits" in nc.description
    signal = SpcSignal.objects.get()
    assert signal.rule == 1 and signal.nonconformance == nc and signal.evidence["values"] == [10.09]
    assert signal.evidence["centre"] == pytest.approx(10.0)
    assert nc.history.get().history_change_reason == "Nonconformance opened"
    assert signal.history.get().history_user == operator

    # The tablet retries the same submission; quality judges the chart again: nothing new.
    again = submit(bore, operator, workstation, "10.09", k=first_key)
    assert again.replayed and again.result_id == done.result_id
    assert spc_judge_series(item=item_of(bore), workstation=workstation, user=operator) == []
    assert Nonconformance.objects.count() == 1 and SpcSignal.objects.count() == 1


def test_eight_in_a_row_opens_one_nonconformance_and_the_drift_goes_on_in_it(
    bore, operator, quality_user, workstation
):
    for value in BASE:
        submit(bore, operator, workstation, value)
    for _ in range(7):
        submit(bore, operator, workstation, "10.01")  # above the centre, well inside 1 sigma
    assert not Nonconformance.objects.exists()

    submit(bore, operator, workstation, "10.01")  # the eighth

    nc = Nonconformance.objects.get()
    signal = SpcSignal.objects.get()
    assert signal.rule == 4 and signal.evidence["values"] == [10.01] * 8
    assert signal.evidence["points"] == list(range(BASELINE + 1, BASELINE + 9))
    assert (
        "rule 4" in nc.title and "10.01, 10.01, 10.01, 10.01, 10.01, 10.01, 10.01, 10.01 mm" in nc.description
    )

    # The ninth is still on that side: the same drift, added to the open nonconformance.
    submit(bore, operator, workstation, "10.01")
    assert Nonconformance.objects.count() == 1 and SpcSignal.objects.count() == 2
    nc.refresh_from_db()
    assert nc.description.count("Rule 4") == 2
    assert nc.history.first().history_change_reason == "SPC signal added: rule 4"

    # Once quality has decided on it, a further signal is a new problem with its own record.
    services.nonconformance_disposition(
        nonconformance_id=nc.pk,
        user=quality_user,
        disposition="use_as_is",
        note="Within spec",
        password=PASSWORD,
    )
    submit(bore, operator, workstation, "10.01")
    assert Nonconformance.objects.count() == 2
    assert spc_judge_series(item=item_of(bore), workstation=workstation, user=operator) == []
    assert Nonconformance.objects.count() == 2 and SpcSignal.objects.count() == 3


def test_rules_are_judged_only_once_the_limits_rest_on_a_full_baseline(bore, operator, workstation):
    for value in ["10.00", "10.00", "10.00", "10.00", "10.04"]:  # 10.04 is beyond 3 sigma of these
        submit(bore, operator, workstation, value)

    assert spc_chart(item=item_of(bore), workstation=workstation).flagged
    assert not Nonconformance.objects.exists() and not SpcSignal.objects.exists()


def test_the_site_can_ask_for_an_andon_call_too_or_no_nonconformance(bore, operator, workstation, site):
    QualitySettings.objects.update_or_create(site=site, defaults={"spc_andon": True})
    for value in BASE:
        submit(bore, operator, workstation, value)

    submit(bore, operator, workstation, "10.09")
    submit(bore, operator, workstation, "10.09")  # the drift continues: same NC, no second call

    call = AndonCall.objects.get()
    nc = Nonconformance.objects.get()
    assert call.kind == "quality" and call.source == "spc" and call.workstation == workstation
    assert call.note.startswith(nc.number)

    QualitySettings.objects.filter(site=site).update(spc_nonconformance=False)
    nc.status = "closed"  # out of the way: the next signal would open a new one
    nc.save()
    submit(bore, operator, workstation, "10.09")
    assert Nonconformance.objects.count() == 1
    assert SpcSignal.objects.filter(nonconformance__isnull=True).exists()


def test_a_submission_with_nothing_to_signal_pays_one_query_for_spc(bore, operator, workstation, monkeypatch):
    for value in BASE[:10]:
        submit(bore, operator, workstation, value)

    with CaptureQueriesContext(connection) as judged:
        submit(bore, operator, workstation, "10.00")
    monkeypatch.setattr(run_services, "spc_judge_responses", lambda **kwargs: [])
    with CaptureQueriesContext(connection) as skipped:
        submit(bore, operator, workstation, "10.00")

    assert len(judged) - len(skipped) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tablets_signalling_at_once_open_one_nonconformance(bore, operator, workstation):
    for value in BASE:
        submit(bore, operator, workstation, value)

    run_in_threads(lambda i: submit(bore, operator, workstation, "10.09"), 4)

    assert Nonconformance.objects.count() == 1
    assert SpcSignal.objects.filter(rule=1).count() == 4
    assert set(SpcSignal.objects.values_list("nonconformance", flat=True)) == {
        Nonconformance.objects.get().pk
    }
