"""WeChat login, tokens and the profile: issue #2's acceptance list for accounts."""

import logging
import time

import pytest
import requests
import responses
import time_machine
from django.utils import timezone

from accounts import services
from accounts.models import User
from tests.conftest import client_for

JSCODE2SESSION = "https://wechat.test/sns/jscode2session"
pytestmark = pytest.mark.django_db


def wechat_answers(wechat, body=None, **kwargs):
    wechat.add(responses.GET, JSCODE2SESSION, json=body, **kwargs)


def login(api, code="code-1", **extra):
    return api.post("/api/v1/auth/login", {"code": code, **extra}, format="json")


def test_first_login_creates_the_user_and_second_logs_the_same_user_in(api, wechat):
    wechat_answers(wechat, {"openid": "o-alice", "session_key": "sk-1"})
    wechat_answers(wechat, {"openid": "o-alice", "session_key": "sk-2"})

    first = login(api, "c1", nickname="Alice")
    second = login(api, "c2")

    assert first.status_code == 201 and first.json()["data"]["created"] is True
    assert second.status_code == 200 and second.json()["data"]["created"] is False
    assert first.json()["data"]["user"]["id"] == second.json()["data"]["user"]["id"]
    assert User.objects.filter(openid="o-alice").count() == 1
    assert User.objects.get(openid="o-alice").session_key == "sk-2"


def test_login_sends_app_credentials_and_code_to_wechat(api, wechat):
    wechat_answers(wechat, {"openid": "o-1", "session_key": "sk"})
    login(api, "the-code")
    sent = wechat.calls[0].request
    assert "js_code=the-code" in sent.url and "appid=wx-test-app" in sent.url
    assert "grant_type=authorization_code" in sent.url


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [
        (40029, 400, 40010),
        (40163, 400, 40010),
        (45011, 429, 42910),
        (40226, 403, 40310),
        (-1, 503, 50300),
        (99999, 502, 50200),
    ],
)
def test_each_wechat_error_maps_to_its_status_and_creates_no_user(
    api, wechat, errcode, status, code
):
    wechat_answers(wechat, {"errcode": errcode, "errmsg": "nope"})
    response = login(api)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert User.objects.count() == 0


def test_non_json_reply_from_wechat_is_a_bad_gateway(api, wechat):
    wechat.add(responses.GET, JSCODE2SESSION, body="<html>oops</html>", status=200)
    response = login(api)
    assert response.status_code == 502 and response.json()["code"] == 50200
    assert User.objects.count() == 0


def test_wechat_5xx_or_connection_error_is_unavailable(api, wechat):
    wechat.add(responses.GET, JSCODE2SESSION, body="busy", status=503)
    wechat.add(responses.GET, JSCODE2SESSION, body=requests.ConnectionError("refused"))
    assert login(api).status_code == 503
    assert login(api).status_code == 503
    assert User.objects.count() == 0


def test_wechat_timeout_does_not_hang_the_request_past_its_timeout(api, settings, wechat):
    """A real socket that accepts and never answers: the read timeout must cut the request."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    wechat.add_passthru("http://127.0.0.1")
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{server.getsockname()[1]}"
    settings.WECHAT_READ_TIMEOUT = 0.5

    started = time.monotonic()
    response = login(api)
    elapsed = time.monotonic() - started
    server.close()

    assert response.status_code == 503 and response.json()["code"] == 50300
    assert elapsed < 3
    assert User.objects.count() == 0


def test_session_key_appears_in_no_response_and_no_log_record(api, wechat, caplog):
    secret = "SK-very-secret-9f8e7d"
    wechat_answers(wechat, {"openid": "o-bob", "session_key": secret, "unionid": "un-1"})
    caplog.set_level(logging.DEBUG)

    bodies = [login(api, nickname="Bob").content]
    client = client_for(User.objects.get(openid="o-bob"))
    bodies.append(client.get("/api/v1/me").content)
    bodies.append(client.patch("/api/v1/me", {"nickname": "Bobby"}, format="json").content)
    bodies.append(api.get("/api/schema/").content)

    assert all(secret.encode() not in body for body in bodies)
    assert all(b"openid" not in body.replace(b"openapi", b"") for body in bodies[:3])
    assert secret not in caplog.text
    assert User.objects.get(openid="o-bob").session_key == secret


def test_repr_of_a_wechat_session_hides_the_session_key():
    from wechat.session import WeChatSession

    assert "sk-secret" not in repr(WeChatSession(openid="o", session_key="sk-secret"))


def test_login_input_is_validated(api):
    response = api.post("/api/v1/auth/login", {"nickname": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert "code" in response.json()["data"]


def test_deactivated_user_cannot_log_in(api, wechat, user):
    services.user_deactivate(user=user, actor=None, reason="spam")
    wechat_answers(wechat, {"openid": user.openid, "session_key": "sk"})
    response = login(api)
    assert response.status_code == 403 and response.json()["code"] == 40302


def test_development_login_accepts_any_code_with_a_stable_openid(api, settings):
    settings.WECHAT_DEV_LOGIN = True
    first = login(api, "anything")
    again = login(api, "anything")
    other = login(api, "something-else")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["data"]["user"]["id"] == again.json()["data"]["user"]["id"]
    assert other.json()["data"]["user"]["id"] != first.json()["data"]["user"]["id"]


def test_development_login_cannot_be_enabled_with_debug_off():
    import subprocess
    import sys

    code = (
        "import os; os.environ.update(DJANGO_DEBUG='0', WECHAT_APP_ID='', "
        "DJANGO_SECRET_KEY='x'*60); import django; from django.conf import settings; "
        "os.environ['DJANGO_SETTINGS_MODULE']='lottery_site.settings'; django.setup(); "
        "print(settings.WECHAT_DEV_LOGIN)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- tokens ---------------------------------------------------------------------------------


def test_me_needs_a_token(api):
    response = api.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == 40100


def test_me_returns_the_profile_of_the_caller(user_client, user):
    data = user_client.get("/api/v1/me").json()["data"]
    assert data["id"] == user.public_id and data["nickname"] == user.nickname


def test_tampered_token_is_refused(api, user):
    token = services.tokens_for(user)["access"]
    head, payload, signature = token.split(".")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {head}.{payload}.{signature[::-1]}")
    response = api.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == 40101


def test_expired_access_token_is_refused(api, user):
    with time_machine.travel(timezone.now() - timezone.timedelta(hours=3), tick=False):
        token = services.tokens_for(user)["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me").status_code == 401


def test_access_token_lives_two_hours_at_most(user):
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken(services.tokens_for(user)["access"])
    assert token["exp"] - token["iat"] <= 2 * 3600


def test_deactivated_users_tokens_stop_working_at_once(user_client, user):
    assert user_client.get("/api/v1/me").status_code == 200
    services.user_deactivate(user=user, actor=None, reason="abuse")
    response = user_client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == 40102


def test_refresh_rotates_and_blacklists_the_old_refresh_token(api, user):
    pair = services.tokens_for(user)
    first = api.post("/api/v1/auth/refresh", {"refresh": pair["refresh"]}, format="json")
    assert first.status_code == 200
    new_pair = first.json()["data"]
    assert new_pair["refresh"] != pair["refresh"] and new_pair["access"]

    replay = api.post("/api/v1/auth/refresh", {"refresh": pair["refresh"]}, format="json")
    assert replay.status_code == 401 and replay.json()["code"] == 40101

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {new_pair['access']}")
    assert api.get("/api/v1/me").status_code == 200


def test_logout_blacklists_the_refresh_token(api, user):
    refresh = services.tokens_for(user)["refresh"]
    assert api.post("/api/v1/auth/logout", {"refresh": refresh}, format="json").status_code == 200
    again = api.post("/api/v1/auth/refresh", {"refresh": refresh}, format="json")
    assert again.status_code == 401


def test_garbage_refresh_token_is_a_401(api):
    response = api.post("/api/v1/auth/refresh", {"refresh": "not-a-token"}, format="json")
    assert response.status_code == 401 and response.json()["code"] == 40101


def test_deactivated_user_cannot_refresh(api, user):
    refresh = services.tokens_for(user)["refresh"]
    services.user_deactivate(user=user, actor=None, reason="abuse")
    response = api.post("/api/v1/auth/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 401


# --- profile --------------------------------------------------------------------------------


def test_patch_me_updates_nickname_and_avatar(user_client, user):
    response = user_client.patch(
        "/api/v1/me",
        {"nickname": "新名字", "avatar_url": "https://example.com/a.png"},
        format="json",
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.nickname, user.avatar_url) == ("新名字", "https://example.com/a.png")


@pytest.mark.parametrize(
    "body",
    [
        {"nickname": "x" * 65},
        {"nickname": ""},
        {"avatar_url": "not a url"},
        {"avatar_url": "http://insecure.example.com/a.png"},
        {"openid": "steal-me"},
        {"is_staff": True},
    ],
)
def test_patch_me_refuses_bad_or_unknown_fields(user_client, user, body):
    before = (user.nickname, user.avatar_url, user.openid, user.is_staff)
    response = user_client.patch("/api/v1/me", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == 40000
    user.refresh_from_db()
    assert (user.nickname, user.avatar_url, user.openid, user.is_staff) == before


@pytest.mark.mysql
def test_emoji_nickname_round_trips_on_mysql(user_client, user):
    nickname = "抽奖达人🎉🧧"
    user_client.patch("/api/v1/me", {"nickname": nickname}, format="json")
    assert user_client.get("/api/v1/me").json()["data"]["nickname"] == nickname
    user.refresh_from_db()
    assert user.nickname == nickname
