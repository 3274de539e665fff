"""The API: its OpenAPI schema, its docs page and its JSON errors."""

import json

from mes import roles
from mes.api import SiteSerializer


def test_schema_is_openapi_3_and_lists_the_plant_endpoints(make_user, client_for):
    response = client_for(make_user(roles.AUDITOR)).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/sites/", "/api/v1/workstations/", "/api/v1/me/"} <= set(schema["paths"])
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_docs_page_is_served_without_a_cdn(make_user, client_for):
    page = client_for(make_user(roles.SUPERVISOR)).get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()


def test_validation_errors_name_the_field_and_the_reason():
    from rest_framework.exceptions import ValidationError

    from mes.api import exception_handler

    serializer = SiteSerializer(data={"code": "", "name": "x", "time_zone": "Mars/Olympus"})
    assert not serializer.is_valid()
    response = exception_handler(ValidationError(serializer.errors), {})
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert set(response.data["errors"]) == {"code", "time_zone"}
    assert "not a known IANA time zone" in response.data["errors"]["time_zone"][0]


def test_domain_errors_become_json_with_their_status(rf):
    from mes.api import exception_handler
    from mes.errors import Conflict

    response = exception_handler(Conflict("The order is on hold.", field="work_order", code="on_hold"), {})
    assert response.status_code == 409
    assert response.data == {
        "detail": "The order is on hold.",
        "code": "on_hold",
        "errors": {"work_order": ["The order is on hold."]},
    }


def test_unknown_objects_answer_404_json(make_user, client_for):
    response = client_for(make_user(roles.SUPERVISOR)).get("/api/v1/sites/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_plant_api_is_read_only(make_user, client_for):
    response = client_for(make_user(roles.ADMIN)).post(
        "/api/v1/sites/", {"code": "NEW", "name": "New"}, content_type="application/json"
    )
    assert response.status_code == 405
