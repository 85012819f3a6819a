"""Validation messages a person reads (issue #11, section 5): the first field error is ``msg`` (a
toast shows only that), our own field errors come in English on request, and durations read as
people write them.
"""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from lottery_site.durations import humanize_duration
from tests.conftest import client_for
from tests.factories import UserFactory, event_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def creator():
    return client_for(UserFactory())


def create(client, language=None, **overrides):
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return client.post("/api/v1/events", event_payload(**overrides), format="json", **extra)


def soon(seconds: int) -> str:
    return (timezone.now() + timedelta(seconds=seconds)).isoformat()


def test_first_field_error_is_the_message(creator):
    body = create(creator, title="").json()

    assert body["code"] == 40000
    assert body["msg"] == body["data"]["title"][0]


def test_first_error_of_a_nested_field_is_the_message(creator):
    prizes = [{"name": "一等奖", "quantity": 1}, {"name": "二等奖", "quantity": 0}]

    body = create(creator, prizes=prizes, language="en").json()

    # A list's errors are keyed by the index of the item at fault (docs/api.md, "40000").
    assert body["data"] == {"prizes": {"1": {"quantity": [body["msg"]]}}}
    assert body["msg"] == "Ensure this value is greater than or equal to 1."


def test_draw_time_too_soon_reads_in_minutes_in_chinese_by_default(creator):
    body = create(creator, draw_at=soon(60)).json()

    assert body["msg"] == "开奖时间至少要在 5 分钟之后"
    assert body["data"] == {"draw_at": ["开奖时间至少要在 5 分钟之后"]}


def test_draw_time_too_soon_reads_in_english_on_request(creator):
    body = create(creator, language="en", draw_at=soon(60)).json()

    assert body["msg"] == "The draw time must be at least 5 minutes from now."


def test_a_development_lead_of_five_seconds_reads_five_seconds(creator, settings):
    settings.LOTTERY_MIN_DRAW_LEAD_SECONDS = 5

    zh = create(creator, draw_at=soon(2)).json()["msg"]
    en = create(creator, language="en", draw_at=soon(2)).json()["msg"]

    assert zh == "开奖时间至少要在 5 秒之后"
    assert en == "The draw time must be at least 5 seconds from now."


def test_draw_time_beyond_the_horizon_names_it_in_days(creator):
    body = create(creator, language="en", draw_at=soon(31 * 86_400)).json()

    assert body["msg"] == "The draw time must be at most 30 days from now."


@pytest.mark.parametrize(
    ("overrides", "english"),
    [
        ({"status": "opened"}, "Unknown field: status"),
        ({"draw_at": "2026-01-01T20:00:00"}, "The time must include a UTC offset"),
        ({"draw_mode": "count"}, "A count-mode event needs a target number of entrants."),
        ({"target_participants": 5}, "Only a count-mode event can have"),
        ({"prizes": [{"name": "奖", "quantity": 10_000}] * 11}, "At most 100000 prizes in all."),
    ],
)
def test_our_own_field_errors_are_english_on_request(creator, overrides, english):
    en = create(creator, language="en", **overrides).json()
    zh = create(creator, **overrides).json()

    assert en["code"] == zh["code"] == 40000
    assert en["msg"].startswith(english)
    assert zh["msg"] != en["msg"] and not zh["msg"].isascii()


def test_avatar_refusal_is_english_on_request(user_client):
    response = user_client.put(
        "/api/v1/me",
        {"avatar_url": "http://insecure.example.com/a.png"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.json()["msg"] == "The avatar URL must be an https link."


def test_inbox_page_size_refusal_is_english_on_request(user_client):
    response = user_client.get("/api/v1/me/notifications?page_size=0", HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["msg"] == "Must be 1 to 100."


@pytest.mark.parametrize(
    ("seconds", "english", "chinese"),
    [
        (0, "0 seconds", "0 秒"),
        (1, "1 second", "1 秒"),
        (5, "5 seconds", "5 秒"),
        (60, "1 minute", "1 分钟"),
        (90, "1 minute 30 seconds", "1 分钟 30 秒"),
        (300, "5 minutes", "5 分钟"),
        (3_600, "1 hour", "1 小时"),
        (5_430, "1 hour 30 minutes", "1 小时 30 分钟"),
        (86_400 + 61, "1 day 1 minute", "1 天 1 分钟"),
        (30 * 86_400, "30 days", "30 天"),
    ],
)
def test_durations_are_written_as_people_write_them(seconds, english, chinese):
    with translation.override("en"):
        assert humanize_duration(seconds) == english
    with translation.override("zh-hans"):
        assert humanize_duration(seconds) == chinese
