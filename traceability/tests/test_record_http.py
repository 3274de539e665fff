"""The record pages, API and PDF over HTTP."""

from __future__ import annotations

import pytest

from mes import roles
from mes.signatures import Signature
from traceability.models import RecordReview
from traceability.record.exceptions import exceptions_for
from traceability.record.selectors import record_for
from traceability.tests.record_scenario import clean_order, with_every_exception

PASSWORD = "pass-word-1"


@pytest.fixture
def quality(make_user):
    return make_user(roles.QUALITY, username="quentin", first_name="Quentin", last_name="Quality")


@pytest.fixture
def scenario(site, operator, supervisor):
    return with_every_exception(clean_order(site=site, user=operator), supervisor=supervisor)


def test_the_review_page_opens_on_the_exceptions_then_the_record(client_for, quality, scenario):
    page = client_for(quality).get(f"/records/{scenario.order.number}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert html.index('id="exceptions"') < html.index('id="record"')
    assert html.count('class="card exception ') == len(exceptions_for(record_for(scenario.order)))
    assert f'href="#run-{scenario.extra["oos_response"].run_id}"' in html


def test_a_clean_record_says_it_has_no_exception(client_for, quality, site, operator):
    s = clean_order(site=site, user=operator, number="WO-CLEAN")
    html = client_for(quality).get(f"/records/{s.order.number}/").content.decode()
    assert "No exceptions: the record shows a normal run." in html


def test_comment_then_release_through_the_page_and_the_seal_shows(client_for, quality, scenario):
    browser = client_for(quality)
    for e in exceptions_for(record_for(scenario.order)):
        answer = browser.post(
            f"/records/{scenario.order.number}/comments/", {"exception_key": e.key, "text": "Seen"}
        )
        assert answer.status_code == 302

    refused = browser.post(f"/records/{scenario.order.number}/release/", {"password": "", "comment": "typed"})
    assert refused.status_code == 400 and "Enter your password to sign." in refused.content.decode()
    assert (
        'value="typed"' in refused.content.decode()
        and not Signature.objects.filter(object_id=str(scenario.order.pk)).exists()
    )

    assert (
        browser.post(f"/records/{scenario.order.number}/release/", {"password": PASSWORD}).status_code == 302
    )
    html = browser.get(f"/records/{scenario.order.number}/").content.decode()
    assert "Sealed: the record is unchanged since it was released." in html
    assert "Released by Quentin Quality" in html


def test_other_site_and_other_roles_are_refused(client_for, scenario, local_quality, operator):
    assert client_for(local_quality).get(f"/records/{scenario.order.number}/").status_code == 404
    assert (
        client_for(local_quality)
        .post(f"/records/{scenario.order.number}/release/", {"password": PASSWORD})
        .status_code
        == 404
    )
    assert client_for(operator).get(f"/records/{scenario.order.number}/").status_code == 403
    assert not RecordReview.objects.exists()


def test_api_record_list_and_decisions(client_for, quality, scenario, site, operator):
    clean = clean_order(site=site, user=operator, number="WO-CLEAN")
    api = client_for(quality)

    body = api.get(f"/api/v1/records/{scenario.order.number}/").json()
    assert body["status"] == "open" and body["record"]["order"]["number"] == scenario.order.number
    assert {e["kind"] for e in body["exceptions"]} >= {"out_of_spec", "hold", "offline_tap"}

    refused = api.post(f"/api/v1/records/{clean.order.number}/release/", {}, content_type="application/json")
    assert refused.status_code == 400 and "password" in refused.json()["errors"]
    released = api.post(
        f"/api/v1/records/{clean.order.number}/release/",
        {"password": PASSWORD},
        content_type="application/json",
    )
    assert released.status_code == 200 and released.json()["seal_intact"] is True
    again = api.post(
        f"/api/v1/records/{clean.order.number}/release/",
        {"password": PASSWORD},
        content_type="application/json",
    )
    assert again.status_code == 409 and "status" in again.json()["errors"]
    rejected = api.post(
        f"/api/v1/records/{scenario.order.number}/reject/",
        {"password": PASSWORD, "comment": "Open nonconformance"},
        content_type="application/json",
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    listed = api.get("/api/v1/records/?status=released").json()
    assert [r["number"] for r in listed["results"]] == ["WO-CLEAN"] and listed["count"] == 1
    assert api.get("/api/v1/records/?status=bogus").status_code == 400
    assert api.get("/records/?status=rejected").status_code == 200


def test_api_hides_another_sites_record(client_for, scenario, local_quality):
    answer = client_for(local_quality).get(f"/api/v1/records/{scenario.order.number}/")
    assert answer.status_code == 404
    assert client_for(local_quality).get("/api/v1/records/").json()["count"] == 0


def test_pdf_export_is_paged_with_the_hash(client_for, quality, scenario):
    answer = client_for(quality).get(f"/records/{scenario.order.number}/record.pdf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert (
        answer.content.startswith(b"%PDF")
        and answer["X-Content-SHA256"] == record_for(scenario.order).content_hash
    )


def test_the_page_names_reasons_in_the_readers_language_and_the_record_keeps_the_sites(
    client_for, quality, scenario
):
    from workorders.models import ReasonCode

    dent = ReasonCode.objects.get(code="DENT")
    dent.name, dent.translations = "Dented", {"de": {"name": "Delle"}}
    dent.save()
    quality.language = "de"
    quality.save(update_fields=["language"])

    html = client_for(quality).get(f"/records/{scenario.order.number}/").content.decode()
    assert "DENT Delle 1" in html
    assert "Dented" not in html
    # The record itself (what a release seals) holds the site's name, whoever reads it.
    (op,) = [op for op in record_for(scenario.order).content["operations"] if op["scrap"]]
    assert op["scrap"] == [{"reason": "DENT", "name": "Dented", "quantity": 1}]
