"""One API convention: every answer under /api/ is the JSON envelope with a meaningful status."""

import json
import logging

import pytest
from django.test import Client

from lottery_site.errors import CATALOGUE
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def assert_envelope(response, status: int, code: int):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "msg", "data"}
    assert body["code"] == code and isinstance(body["msg"], str) and body["msg"]
    return body


def test_success_is_wrapped_with_code_zero(user_client):
    body = assert_envelope(user_client.get("/api/v1/me"), 200, 0)
    assert body["msg"] == "ok"


def test_unknown_api_path_is_a_json_404(user_client):
    assert_envelope(user_client.get("/api/v1/no-such-thing"), 404, 40400)
    assert_envelope(Client().get("/api/nothing/here/"), 404, 40400)


def test_wrong_method_is_a_405(user_client):
    assert_envelope(user_client.delete("/api/v1/me/events"), 405, 40500)


def test_malformed_json_is_a_400(api):
    response = api.post("/api/v1/auth/login", data='{"code": ', content_type="application/json")
    assert_envelope(response, 400, 40001)


def test_wrong_content_type_is_a_415(api):
    response = api.post("/api/v1/auth/login", data="code=abc", content_type="text/plain")
    assert_envelope(response, 415, 41500)


def test_form_encoded_body_is_a_415(api):
    response = api.post(
        "/api/v1/auth/login", data="code=abc", content_type="application/x-www-form-urlencoded"
    )
    assert_envelope(response, 415, 41500)


def test_oversized_body_is_a_413(api, settings):
    body = json.dumps({"code": "x" * (settings.API_MAX_BODY_BYTES + 10)})
    response = api.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_envelope(response, 413, 41300)


def test_non_object_json_body_is_a_400(api):
    response = api.post("/api/v1/auth/login", data="[1, 2]", content_type="application/json")
    assert_envelope(response, 400, 40000)


def test_messages_are_chinese_by_default_and_english_on_request(api):
    zh = api.get("/api/v1/me").json()["msg"]
    en = api.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en").json()["msg"]
    assert zh == CATALOGUE["not_authenticated"].zh
    assert en == CATALOGUE["not_authenticated"].en


def test_throttled_login_is_a_429_in_the_envelope(api, settings, monkeypatch):
    from lottery_site.throttling import LoginRateThrottle

    monkeypatch.setattr(LoginRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    for _ in range(2):
        api.post("/api/v1/auth/login", {}, format="json")
    response = api.post("/api/v1/auth/login", {}, format="json")
    body = assert_envelope(response, 429, 42900)
    assert body["data"]["retry_after"] > 0 and int(response["Retry-After"]) > 0


def test_each_user_has_their_own_request_budget(user_client, monkeypatch):
    """Every call is counted once, and one user's budget is not another's."""
    from lottery_site.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    for _ in range(3):
        assert_envelope(user_client.get("/api/v1/me"), 200, 0)
    body = assert_envelope(user_client.get("/api/v1/me"), 429, 42900)
    assert body["data"]["retry_after"] > 0
    assert_envelope(client_for(UserFactory()).get("/api/v1/me"), 200, 0)


def test_crash_in_a_drf_view_is_a_json_500_with_a_request_id(settings, caplog):
    settings.ROOT_URLCONF = "tests.urls_crash"
    caplog.set_level(logging.ERROR)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/test/drf-crash", HTTP_X_REQUEST_ID="req-123")
    assert_envelope(response, 500, 50000)
    assert response["X-Request-ID"] == "req-123"
    assert any(getattr(r, "request_id", None) == "req-123" for r in caplog.records)
    assert "boom" not in response.content.decode()


def test_crash_outside_drf_under_api_is_still_json(settings):
    settings.ROOT_URLCONF = "tests.urls_crash"
    response = Client(raise_request_exception=False).get("/api/v1/test/plain-crash")
    assert_envelope(response, 500, 50000)


def test_every_error_code_is_unique_and_starts_with_its_status():
    codes = [kind.code for kind in CATALOGUE.values()]
    assert len(codes) == len(set(codes))
    assert all(str(kind.code).startswith(str(kind.status)) for kind in CATALOGUE.values())


def test_error_catalogue_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    missing = [kind.code for kind in CATALOGUE.values() if str(kind.code) not in doc]
    assert missing == []


def test_naive_datetime_input_is_refused():
    from lottery_site.fields import AwareDateTimeField

    field = AwareDateTimeField()
    assert field.run_validation("2026-12-01T20:00:00+08:00").utcoffset() is not None
    assert field.run_validation("2026-12-01T12:00:00Z").utcoffset() is not None
    with pytest.raises(Exception, match="时区"):
        field.run_validation("2026-12-01T20:00:00")


def test_datetimes_are_rendered_with_an_offset(user_client):
    created_at = user_client.get("/api/v1/me").json()["data"]["created_at"]
    assert created_at.endswith("+08:00")


# --- health, docs, schema -------------------------------------------------------------------


def test_healthz_answers_without_touching_anything(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert_envelope(Client().get("/healthz"), 200, 0)


def test_readyz_checks_database_cache_and_broker():
    body = assert_envelope(Client().get("/readyz"), 200, 0)
    assert body["data"] == {"database": "ok", "cache": "ok", "broker": "ok", "degraded": []}


def test_readyz_stays_ready_but_says_degraded_when_the_broker_is_down(settings):
    """A load balancer must not take every instance out because the shared Redis is down."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    from lottery_site.celery import app

    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = Client().get("/readyz")
    finally:
        app.conf.broker_url = None
        app.config_from_object("django.conf:settings", namespace="CELERY")
    body = assert_envelope(response, 200, 0)
    assert body["data"]["broker"] == "down" and body["data"]["degraded"] == ["redis"]


def test_openapi_schema_and_docs_are_served_without_any_cdn():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/auth/login" in schema.json()["paths"]
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn." not in html and "unpkg" not in html


def test_schema_describes_the_envelope_and_errors():
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    me = paths["/api/v1/me"]["get"]["responses"]
    assert me["200"]["content"]["application/json"]["schema"]["required"] == [
        "code",
        "msg",
        "data",
    ]
    unauthorized = me["401"]["content"]["application/json"]["schema"]
    assert unauthorized["properties"]["code"]["enum"] == [40100, 40101, 40102]


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_a_lost_database_connection_is_a_503_to_retry_not_a_500(user_client, caplog):
    """Connections are reused without a ping per request; a restart of MariaDB meanwhile costs
    the next request of each worker its connection, which must read as "try again"."""
    import MySQLdb
    from django.db import connection

    user_client.get("/api/v1/events/e_0000000000000000")  # the connection is open now
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        (connection_id,) = cursor.fetchone()
    params = connection.get_connection_params()
    killer = MySQLdb.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "passwd", "password")}
    )
    try:
        killer.cursor().execute(f"KILL {int(connection_id)}")
    finally:
        killer.close()
    caplog.set_level(logging.ERROR)
    try:
        response = user_client.get("/api/v1/events/e_0000000000000000")
        assert_envelope(response, 503, 50301)
    finally:
        connection.close()  # what request_finished does outside the test client
    assert_envelope(user_client.get("/api/v1/events/e_0000000000000000"), 404, 40401)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, */*"])
def test_a_client_that_accepts_json_gets_the_envelope(user_client, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    assert_envelope(user_client.get("/api/v1/me", **headers), 200, 0)


def test_a_client_that_accepts_no_json_is_refused_in_json(user_client):
    """The negotiation's quick answer covers only what DRF's own parse would accept anyway."""
    assert_envelope(user_client.get("/api/v1/me", HTTP_ACCEPT="text/html"), 406, 40600)


def test_a_format_in_the_query_still_chooses_the_renderer(user_client):
    assert_envelope(user_client.get("/api/v1/me?format=json"), 200, 0)
    assert user_client.get("/api/v1/me?format=txt").status_code == 404  # DRF: no such renderer
    # ... however the query spells it (the quick path reads the raw query string).
    assert user_client.get("/api/v1/me?%66ormat=txt").status_code == 404
    assert user_client.get("/api/v1/me?page=1&format=txt").status_code == 404
