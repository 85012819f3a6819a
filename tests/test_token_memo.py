"""Each process remembers the access tokens it has verified (issue 10, speed).

A token seen again skips PyJWT; everything that refuses a token still refuses it: its expiry,
a ban (within AUTH_BAN_CHECK_SECONDS, at once through the service), any change to its bytes.
"""

from datetime import timedelta

import jwt
import pytest
import time_machine
from django.utils import timezone

from accounts import services
from accounts.authentication import VERIFIED_TOKENS
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pyjwt_decodes(monkeypatch):
    """How many times PyJWT decoded a token (counted, still done by PyJWT)."""
    calls = []
    decode = jwt.decode

    def counted(*args, **kwargs):
        calls.append(1)
        return decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    return calls


def test_a_token_seen_again_is_not_verified_again(user_client, pyjwt_decodes):
    assert user_client.get("/api/v1/me").status_code == 200
    assert user_client.get("/api/v1/me").status_code == 200
    assert user_client.get("/api/v1/me").status_code == 200
    assert len(pyjwt_decodes) == 1


def test_a_remembered_token_still_expires(api, user):
    issued = timezone.now()
    with time_machine.travel(issued, tick=False):
        token = services.tokens_for(user)["access"]
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert api.get("/api/v1/me").status_code == 200
    with time_machine.travel(issued + timedelta(hours=2, seconds=-1), tick=False):
        assert api.get("/api/v1/me").status_code == 200
    with time_machine.travel(issued + timedelta(hours=2), tick=False):
        response = api.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == 40101


def test_a_banned_users_remembered_token_stops_working_at_once(user_client, user):
    assert user_client.get("/api/v1/me").status_code == 200
    services.user_deactivate(user=user, actor=None, reason="abuse")
    response = user_client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == 40102


def test_a_remembered_token_with_another_signature_is_refused(api, user):
    token = services.tokens_for(user)["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me").status_code == 200

    head, payload, signature = token.split(".")
    forged = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {head}.{payload}.{forged}")
    assert api.get("/api/v1/me").status_code == 401


def test_a_refused_token_is_not_remembered(api, user):
    with time_machine.travel(timezone.now() - timedelta(hours=3), tick=False):
        token = services.tokens_for(user)["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me").status_code == 401
    assert VERIFIED_TOKENS.get(token.encode()) is None


def test_the_memo_keeps_at_most_its_size(settings, user, entrant, outsider, pyjwt_decodes):
    settings.AUTH_TOKEN_MEMO_SIZE = 2
    clients = [client_for(person) for person in (user, entrant, outsider)]
    for client in clients:  # the third pushes the first out
        assert client.get("/api/v1/me").status_code == 200
    assert clients[0].get("/api/v1/me").status_code == 200
    assert clients[2].get("/api/v1/me").status_code == 200
    assert len(pyjwt_decodes) == 4  # three first sights and the forgotten first one


def test_changed_jwt_settings_forget_what_was_verified(settings, api, user):
    token = services.tokens_for(user)["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me").status_code == 200
    assert VERIFIED_TOKENS.get(token.encode()) is not None
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "another-key-" + "x" * 40}
    assert VERIFIED_TOKENS.get(token.encode()) is None


def test_pyjwts_own_algorithms_are_left_as_they_come():
    """No global patch of PyJWT: other code in the process verifies with PyJWT's own HS256."""
    from jwt.algorithms import HMACAlgorithm

    assert type(jwt.get_algorithm_by_name("HS256")) is HMACAlgorithm
