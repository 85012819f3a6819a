"""What the client must know from the server (issue #11, section 2): ``GET /api/v1/config`` and
whether an event can be joined now.

Time is frozen with time_machine, so "one second after the lock" means exactly that.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from draws import services as draw_services
from events.models import Event
from events.services.entries import entry_join
from events.services.events import event_cancel
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory, event_payload

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
CONFIG = "/api/v1/config"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def templates(settings):
    settings.NOTIFY_TEMPLATES = {
        "result": {"id": "tpl-result", "fields": {"title": "thing1"}},
        "cancel": {"id": "", "fields": {"title": "thing1"}},
    }


def test_anyone_reads_the_config_without_logging_in(api):
    response = api.get(CONFIG, HTTP_AUTHORIZATION="Bearer expired-or-garbage")

    assert response.status_code == 200
    config = response.json()["data"]
    assert config["server_time"] == timezone.localtime(NOW).isoformat()
    assert config["api_version"] == api.get("/api/schema/?format=json").json()["info"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", config["api_version"])


def test_config_lists_only_the_subscribe_templates_configured(api):
    config = api.get(CONFIG).json()["data"]

    assert config["subscribe_templates"] == {"result": "tpl-result"}


def test_config_limits_are_the_ones_the_server_enforces(api, settings):
    settings.LOTTERY_MIN_DRAW_LEAD_SECONDS = 5
    settings.LOTTERY_LOCK_LEAD_SECONDS = 2
    settings.LOTTERY_MAX_HORIZON_DAYS = 7
    limits = api.get(CONFIG).json()["data"]["limits"]
    creator = client_for(UserFactory())

    def create(**overrides):
        return creator.post("/api/v1/events", event_payload(**overrides), format="json")

    assert limits["title_length"] == {"min": 1, "max": 100}
    assert limits["prizes"] == {"min": 1, "max": 20}
    assert limits["prize_quantity"] == {"min": 1, "max": 10_000}
    assert (limits["min_draw_lead_seconds"], limits["lock_lead_seconds"]) == (5, 2)
    assert limits["max_horizon_seconds"] == 7 * 86_400
    at = NOW + timedelta(seconds=limits["min_draw_lead_seconds"])
    assert (
        create(title="x" * limits["title_length"]["max"], draw_at=at.isoformat()).status_code == 201
    )
    assert create(title="x" * (limits["title_length"]["max"] + 1)).status_code == 400
    assert create(draw_at=(at - timedelta(seconds=1)).isoformat()).status_code == 400
    latest = NOW + timedelta(seconds=limits["max_horizon_seconds"])
    assert create(draw_at=latest.isoformat()).status_code == 201
    assert create(draw_at=(latest + timedelta(seconds=1)).isoformat()).status_code == 400
    too_many = [{"name": "奖", "quantity": 1}] * (limits["prizes"]["max"] + 1)
    assert create(prizes=too_many).status_code == 400
    too_much = [{"name": "奖", "quantity": limits["prize_quantity"]["max"] + 1}]
    assert create(prizes=too_much).status_code == 400


def test_config_carries_an_etag_and_is_revalidated(api):
    response = api.get(CONFIG)

    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    assert response["Cache-Control"] == "public, no-cache"


def test_unchanged_config_is_a_304_without_a_body_even_as_time_moves_on(api, clock):
    etag = api.get(CONFIG)["ETag"]
    clock.shift(timedelta(seconds=30))

    again = api.get(CONFIG, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "public, no-cache"


def test_a_stale_etag_gets_the_new_config_with_a_fresh_server_time(api, clock, settings):
    etag = api.get(CONFIG)["ETag"]
    clock.shift(timedelta(seconds=30))
    settings.LOTTERY_LOCK_LEAD_SECONDS = 120  # a deploy changed a limit

    response = api.get(CONFIG, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200 and response["ETag"] != etag
    config = response.json()["data"]
    assert config["limits"]["lock_lead_seconds"] == 120
    assert config["server_time"] == timezone.localtime(NOW + timedelta(seconds=30)).isoformat()


# --- joinable / phase -------------------------------------------------------------------------


def live(client, event) -> dict:
    data = client.get(f"/api/v1/events/{event.public_id}").json()["data"]
    return {"status": data["status"], "phase": data["phase"], "joinable": data["joinable"]}


def test_open_event_is_joinable():
    event = EventFactory()

    assert live(client_for(UserFactory()), event) == {
        "status": "init",
        "phase": "init",
        "joinable": True,
    }


def test_event_past_its_lock_time_is_not_joinable_before_the_sweeper_runs(clock):
    event = EventFactory()
    entrant = client_for(UserFactory())
    clock.move_to(event.lock_at, tick=False)

    assert live(entrant, event) == {"status": "init", "phase": "opening", "joinable": False}
    join = entrant.post(f"/api/v1/events/{event.public_id}/entry")
    assert (join.status_code, join.json()["code"]) == (409, 40901)


def test_drawn_and_canceled_events_are_not_joinable(clock):
    creator = UserFactory()
    drawn, canceled = EventFactory(creator=creator), EventFactory(creator=creator)
    entry_join(event=drawn, user=UserFactory(), now=NOW)
    event_cancel(event=canceled, actor=creator, now=NOW)
    drawn.refresh_from_db()
    draw_services.event_lock(event_id=drawn.pk, now=drawn.lock_at)
    draw_services.event_draw(event_id=drawn.pk, now=drawn.draw_at)
    clock.move_to(drawn.draw_at, tick=False)
    viewer = client_for(creator)

    assert live(viewer, drawn) == {"status": "opened", "phase": "opened", "joinable": False}
    assert live(viewer, canceled) == {"status": "canceled", "phase": "canceled", "joinable": False}


def test_my_events_list_says_which_events_are_joinable(clock):
    creator = UserFactory()
    soon = EventFactory(creator=creator, draw_at=NOW + timedelta(minutes=10))
    later = EventFactory(creator=creator, draw_at=NOW + timedelta(hours=2))
    clock.move_to(soon.lock_at, tick=False)

    page = client_for(creator).get("/api/v1/me/events?role=created").json()["data"]

    joinable = {item["id"]: item["joinable"] for item in page["results"]}
    assert joinable == {soon.public_id: False, later.public_id: True}
    assert Event.objects.get(pk=soon.pk).status == Event.Status.INIT


def test_schema_declares_the_config_304_without_a_body_and_the_etag():
    from django.test import Client

    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    config = paths["/api/v1/config"]["get"]

    assert config["operationId"] == "configGet"
    assert "content" not in config["responses"]["304"]
    assert "ETag" in config["responses"]["200"]["headers"]
