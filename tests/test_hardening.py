"""Issue #10's probe findings, each written from its reproduction: hostile input is a 4xx.

Personas: the creator of an event, an entrant who joined it, an outsider, and an anonymous
client that sends whatever it likes. WeChat is faked at the HTTP level (``responses``).
"""

import base64
import logging
import threading

import pytest
import requests
import responses

from accounts.models import User
from accounts.services import tokens_for
from tests.conftest import client_for, refused
from tests.factories import UserFactory

JSCODE2SESSION = "https://wechat.test/sns/jscode2session"
pytestmark = pytest.mark.django_db


def raw_post(api, path, body: str):
    return api.generic("POST", path, body, content_type="application/json")


# --- 1. Deeply nested JSON and huge numbers: a 400, never a 500 or a logged traceback -----------

HOSTILE_BODIES = {
    "nested arrays": "[" * 5000,
    "nested objects": '{"a":' * 5000,
    "nested arrays, closed": "[" * 3000 + "]" * 3000,
    "nested inside a field": '{"code": ' + "[" * 5000 + "}",
    "an exponent beyond float": '{"code": "c", "nickname": 1e999999}',
    "a negative exponent beyond float": '{"code": -1e999999}',
    "a 60 KiB integer": '{"code": ' + "9" * 60_000 + "}",
    "an integer past 64 bits": '{"code": "c", "avatar_url": ' + "9" * 40 + "}",
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_anonymous_hostile_json_to_login_is_a_400_envelope_without_a_traceback(
    api, wechat, caplog, body
):
    assert len(body.encode()) < 64 * 1024
    caplog.set_level(logging.WARNING)

    response = raw_post(api, "/api/v1/auth/login", body)

    assert response.status_code == 400
    assert response.json()["code"] in (40000, 40001)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_hostile_json_to_an_authenticated_endpoint_is_a_400(outsider):
    client = client_for(outsider)
    for body in HOSTILE_BODIES.values():
        response = client.generic("POST", "/api/v1/events", body, content_type="application/json")
        assert response.status_code == 400, body[:40]


def test_moderately_nested_json_is_still_read_and_refused_by_the_serializer(api):
    response = raw_post(api, "/api/v1/auth/login", '{"code": [[[["x"]]]]}')
    assert refused(response, 400, 40000)


# --- 2. A cursor we did not issue: 400, code 40000, the field named -----------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


FORGED_CURSORS = {
    "position garbage": _b64("p=garbage"),
    "offset garbage": _b64("o=lots"),
    "reverse garbage": _b64("r=maybe"),
    "a plausible position": _b64("p=2026-01-01 00:00:00+00:00"),
    "huge offset": _b64("o=" + "9" * 2000),  # a URL within API_MAX_URL_BYTES
    "not base64": "%%%not-base64",
    "empty": "",
}


@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
def test_forged_cursor_on_the_entries_list_is_a_400_naming_the_cursor(event, outsider, cursor):
    response = client_for(outsider).get(f"/api/v1/events/{event.public_id}/entries?cursor={cursor}")
    assert refused(response, 400, 40000)
    assert "cursor" in response.json()["data"]


@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
def test_forged_cursor_on_my_events_is_a_400_naming_the_cursor(outsider, cursor):
    response = client_for(outsider).get(f"/api/v1/me/events?role=created&cursor={cursor}")
    assert refused(response, 400, 40000)
    assert "cursor" in response.json()["data"]


@pytest.mark.parametrize(
    "cursor",
    [
        *FORGED_CURSORS.values(),
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00|" + b"9" * 40 + b"|0").decode(),
        base64.urlsafe_b64encode(b"garbage|1|0").decode(),
    ],
)
def test_forged_cursor_on_the_inbox_is_a_400_naming_the_cursor(outsider, cursor):
    response = client_for(outsider).get(f"/api/v1/me/notifications?cursor={cursor}")
    assert refused(response, 400, 40000)
    assert "cursor" in response.json()["data"]


def test_a_cursor_we_issued_still_leads_to_the_next_page(event, outsider):
    from django.utils import timezone

    from events.services.entries import entry_join

    for user in UserFactory.create_batch(3):
        entry_join(event=event, user=user, now=timezone.now())
    client = client_for(outsider)
    first = client.get(f"/api/v1/events/{event.public_id}/entries?page_size=2").json()["data"]
    second = client.get(
        f"/api/v1/events/{event.public_id}/entries?page_size=2&cursor={first['next']}"
    )
    assert second.status_code == 200
    assert len(second.json()["data"]["results"]) == 1


# --- 7. Unknown /api/ path with any method: the 404 envelope --------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_unknown_api_path_is_the_404_envelope_whatever_the_method(method):
    from django.test import Client

    # enforce_csrf_checks: a real browser-less client gets no CSRF exemption from the test client.
    client = Client(enforce_csrf_checks=True)
    response = client.generic(method, "/api/v1/no-such-thing", "{}", "application/json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == 40400


# --- 8. An event id matches exactly or is a 404; responses carry the canonical id -----------------


def _aliases(public_id: str) -> list[str]:
    return [
        public_id.upper(),
        public_id[:2] + public_id[2:].upper(),
        public_id.capitalize(),
        public_id + "%20",
        public_id + "%20%20",
    ]


def test_event_id_in_another_case_or_with_trailing_spaces_is_a_404(event, outsider):
    client = client_for(outsider)
    for alias in _aliases(event.public_id):
        for suffix in ("", "/entries", "/proof", "/winners", "/entrants"):
            response = client.get(f"/api/v1/events/{alias}{suffix}")
            assert response.status_code == 404, (alias, suffix)


def test_joining_through_an_alias_is_a_404_and_joins_nothing(event, entrant):
    client = client_for(entrant)
    for alias in _aliases(event.public_id):
        assert client.post(f"/api/v1/events/{alias}/entry").status_code == 404
    event.refresh_from_db()
    assert event.participant_count == 0


def test_creator_cannot_edit_or_cancel_through_an_alias(event, creator):
    client = client_for(creator)
    alias = event.public_id.upper()
    patched = client.patch(f"/api/v1/events/{alias}", {"title": "x"}, format="json")
    assert refused(patched, 404, 40401)
    assert refused(client.delete(f"/api/v1/events/{alias}"), 404, 40401)


def test_join_answers_with_the_canonical_event_id(event, entrant):
    response = client_for(entrant).post(f"/api/v1/events/{event.public_id}/entry")
    assert response.status_code == 201
    assert response.json()["data"]["event_id"] == event.public_id


# --- 9. One rule for avatar_url, at login and in PATCH /me ----------------------------------------


def test_login_refuses_the_http_avatar_that_patch_me_refuses(api, wechat, user):
    wechat.add(responses.GET, JSCODE2SESSION, json={"openid": "o-http", "session_key": "sk"})
    avatar = "http://thirdwx.qlogo.cn/avatar.png"

    login = api.post("/api/v1/auth/login", {"code": "c", "avatar_url": avatar}, format="json")
    patch = client_for(user).patch("/api/v1/me", {"avatar_url": avatar}, format="json")

    assert refused(login, 400, 40000) and "avatar_url" in login.json()["data"]
    assert refused(patch, 400, 40000) and "avatar_url" in patch.json()["data"]
    assert login.json()["data"]["avatar_url"] == patch.json()["data"]["avatar_url"]
    assert not User.objects.filter(avatar_url=avatar).exists()


def test_login_and_patch_me_both_accept_an_https_avatar(api, wechat, user):
    wechat.add(responses.GET, JSCODE2SESSION, json={"openid": "o-https", "session_key": "sk"})
    avatar = "https://thirdwx.qlogo.cn/avatar.png"
    login = api.post("/api/v1/auth/login", {"code": "c", "avatar_url": avatar}, format="json")
    patch = client_for(user).patch("/api/v1/me", {"avatar_url": avatar}, format="json")
    assert login.status_code == 201 and login.json()["data"]["user"]["avatar_url"] == avatar
    assert patch.status_code == 200 and patch.json()["data"]["avatar_url"] == avatar


# --- Also seen: what WeChat's own HTTP errors become ----------------------------------------------


def test_html_502_from_wechat_is_a_bad_gateway_as_the_catalogue_says(api, wechat):
    wechat.add(
        responses.GET,
        JSCODE2SESSION,
        body="<html><body><h1>502 Bad Gateway</h1></body></html>",
        status=502,
        content_type="text/html",
    )
    response = api.post("/api/v1/auth/login", {"code": "c"}, format="json")
    assert refused(response, 502, 50200)
    assert User.objects.count() == 0


@pytest.mark.parametrize("status", [503, 504])
def test_wechat_saying_it_is_busy_or_timing_out_is_unavailable(api, wechat, status):
    wechat.add(responses.GET, JSCODE2SESSION, body="busy", status=status)
    response = api.post("/api/v1/auth/login", {"code": "c"}, format="json")
    assert refused(response, 503, 50300)


# --- 5. Refresh rotation race: exactly one of eight simultaneous refreshes wins -------------------


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_eight_simultaneous_refreshes_of_one_token_leave_exactly_one_winner(live_server):
    """Eight threads, each its own connection to a live server (so its own DB connection)."""
    refresh = tokens_for(UserFactory())["refresh"]
    url = f"{live_server.url}/api/v1/auth/refresh"
    barrier = threading.Barrier(8)
    answers: list[tuple[int, int]] = []

    def refresh_once():
        session = requests.Session()
        barrier.wait()
        response = session.post(url, json={"refresh": refresh}, timeout=30)
        answers.append((response.status_code, response.json()["code"]))

    threads = [threading.Thread(target=refresh_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [(200, 0)] + [(401, 40101)] * 7
