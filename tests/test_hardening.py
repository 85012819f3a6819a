"""Issue #10's probe findings, each written from its reproduction: hostile input is a 4xx.

Personas: the creator of an event, an entrant who joined it, an outsider, and an anonymous
client that sends whatever it likes. WeChat is faked at the HTTP level (``responses``).
"""

import logging

import pytest

from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory

JSCODE2SESSION = "https://wechat.test/sns/jscode2session"
pytestmark = pytest.mark.django_db


@pytest.fixture
def creator():
    return UserFactory(nickname="发起人")


@pytest.fixture
def entrant():
    return UserFactory()


@pytest.fixture
def outsider():
    return UserFactory()


@pytest.fixture
def event(creator):
    return EventFactory(creator=creator)


def refused(response, status, code):
    body = response.json()
    return response.status_code == status and body["code"] == code


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
