"""The whole flow with only what ``wx.request`` can send (issue #11, section 1).

``wx.request`` has GET, POST, PUT, DELETE (and HEAD, OPTIONS...) but no PATCH, and a DELETE with
a body does not reliably reach the server. ``WxRequestClient`` refuses both, so a test that
passes through it proves a mini-program can do the same. WeChat is faked at the HTTP level.
"""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import tokens_for
from events.models import Event
from tests.factories import UserFactory, event_payload

pytestmark = pytest.mark.django_db

JSCODE2SESSION = "https://wechat.test/sns/jscode2session"
WX_REQUEST_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT"}


class WxRequestClient(APIClient):
    """An API client limited to what ``wx.request`` can do: no PATCH, no body on a DELETE."""

    def generic(self, method, path, data="", content_type="application/octet-stream", **extra):
        assert method.upper() in WX_REQUEST_METHODS, f"wx.request cannot send {method}"
        assert not (method.upper() == "DELETE" and data), "wx.request cannot send a DELETE body"
        return super().generic(method, path, data, content_type, **extra)

    def login(self, code: str, **profile) -> dict:
        response = self.post("/api/v1/auth/login", {"code": code, **profile}, format="json")
        assert response.status_code in (200, 201), response.content
        tokens = response.json()["data"]
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return tokens


def wx_client_for(user) -> WxRequestClient:
    client = WxRequestClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    return client


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == 0
    return body["data"]


@pytest.fixture
def wechat_logins(wechat):
    """jscode2session answers each code with the openid of the same name."""

    def answer(request):
        code = dict(p.split("=", 1) for p in request.url.split("?", 1)[1].split("&"))["js_code"]
        return 200, {}, f'{{"openid": "o-{code}", "session_key": "sk-{code}"}}'

    wechat.add_callback(responses.GET, JSCODE2SESSION, callback=answer)
    return wechat


def test_wx_request_client_refuses_patch_and_delete_bodies():
    client = WxRequestClient()
    with pytest.raises(AssertionError, match="cannot send PATCH"):
        client.patch("/api/v1/me", {"nickname": "x"}, format="json")
    with pytest.raises(AssertionError, match="DELETE body"):
        client.delete("/api/v1/events/e_x", {"reason": "x"}, format="json")


def test_the_whole_flow_works_with_only_the_methods_wx_request_has(
    wechat_logins, django_capture_on_commit_callbacks
):
    creator, entrant = WxRequestClient(), WxRequestClient()
    creator_tokens = creator.login("creator", nickname="发起人")
    entrant.login("entrant")

    # Profile: PUT is a partial update, like PATCH (the avatar is left alone).
    me = ok(entrant.put("/api/v1/me", {"nickname": "小红"}, format="json"))
    assert me["nickname"] == "小红" and me["avatar_url"] == ""

    # Create a manual event; join, withdraw (DELETE without a body), join again.
    event = ok(
        creator.post("/api/v1/events", event_payload(draw_mode="manual"), format="json"), 201
    )
    entry = f"/api/v1/events/{event['id']}/entry"
    assert ok(entrant.post(entry), 201)["joined"] is True
    assert ok(entrant.delete(entry))["joined"] is False
    assert ok(entrant.post(entry), 201)["joined"] is True

    # Edit with PUT: only the title changes.
    edited = ok(creator.put(f"/api/v1/events/{event['id']}", {"title": "春节抽奖"}, format="json"))
    assert edited["title"] == "春节抽奖" and edited["prizes"] == event["prizes"]

    # Cancel another event the entrant joined, with a reason, by POST .../cancel.
    other = ok(creator.post("/api/v1/events", event_payload(), format="json"), 201)
    ok(entrant.post(f"/api/v1/events/{other['id']}/entry"), 201)
    canceled = ok(
        creator.post(f"/api/v1/events/{other['id']}/cancel", {"reason": "奖品缺货"}, format="json")
    )
    assert (canceled["status"], canceled["cancel_reason"]) == ("canceled", "奖品缺货")

    # Draw the manual event now: 202, the draw itself follows (here: on commit, inline).
    with django_capture_on_commit_callbacks(execute=True):
        ok(creator.post(f"/api/v1/events/{event['id']}/draw"), 202)
    winners = ok(entrant.get(f"/api/v1/events/{event['id']}/winners"))
    # Masked on the public list (docs/privacy.md): she did not choose to be shown.
    assert [w["user"]["nickname"] for w in winners["winners"]] == ["小*"]
    proof = ok(entrant.get(f"/api/v1/events/{event['id']}/proof"))
    assert proof["seed"] and proof["entrant_count"] == 1

    # The inbox has the result and the cancellation.
    inbox = ok(entrant.get("/api/v1/me/notifications"))
    assert {item["kind"] for item in inbox["results"]} == {"result", "cancel"}

    # Refresh, then log out with the new refresh token.
    pair = ok(
        creator.post("/api/v1/auth/refresh", {"refresh": creator_tokens["refresh"]}, format="json")
    )
    ok(creator.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}, format="json"))

    # Her data, then her account deleted: a DELETE without a body.
    assert ok(entrant.get("/api/v1/me/data"))["profile"]["nickname"] == "小红"
    assert ok(entrant.delete("/api/v1/me"))["deleted_at"]


def test_creator_cancels_with_a_delete_without_a_body_and_no_reason():
    client = wx_client_for(UserFactory())
    event = ok(client.post("/api/v1/events", event_payload(), format="json"), 201)

    canceled = ok(client.delete(f"/api/v1/events/{event['id']}"))

    assert (canceled["status"], canceled["cancel_reason"]) == ("canceled", "")
    assert Event.objects.get(public_id=event["id"]).status == Event.Status.CANCELED


def test_put_on_an_event_keeps_the_patch_rules():
    creator, outsider = wx_client_for(UserFactory()), wx_client_for(UserFactory())
    event = ok(creator.post("/api/v1/events", event_payload(), format="json"), 201)
    url = f"/api/v1/events/{event['id']}"

    by_outsider = outsider.put(url, {"title": "x"}, format="json")
    with_status = creator.put(url, {"status": "opened"}, format="json")
    too_soon = creator.put(
        url, {"draw_at": (timezone.now() + timedelta(seconds=10)).isoformat()}, format="json"
    )

    assert (by_outsider.status_code, by_outsider.json()["code"]) == (403, 40301)
    assert (with_status.status_code, with_status.json()["code"]) == (400, 40000)
    assert (too_soon.status_code, too_soon.json()["code"]) == (400, 40000)


def test_schema_offers_a_put_wherever_there_is_a_patch_and_no_delete_needs_a_body():
    from django.test import Client

    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths, components = schema["paths"], schema["components"]["schemas"]

    def body(operation) -> dict:
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[1]]

    for path, item in paths.items():
        if "patch" in item:
            assert "put" in item, f"{path} has PATCH but no PUT"
            put, patch = body(item["put"]), body(item["patch"])
            assert put["properties"] == patch["properties"] and not put.get("required"), path
        if "delete" in item:
            assert not item["delete"].get("requestBody", {}).get("required"), path
    cancel = paths["/api/v1/events/{event_id}/cancel"]["post"]
    assert cancel["operationId"] == "eventCancel"
