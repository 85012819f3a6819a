"""Lottery events through the API: create, read, edit, cancel, join, withdraw (issue #3).

Personas: the creator of an event, an entrant who joined it, an outsider who has nothing to do
with it. Time is frozen (``clock``) and moved explicitly, so "one second after the lock" means
exactly that.
"""

import hashlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.services import user_deactivate
from draws import services as draw_services
from events.models import Entry, Event, EventLog, Prize
from events.services.entries import entry_join, entry_leave
from events.services.events import event_cancel, event_update
from lottery_site.errors import ApplicationError
from tests.conftest import client_for, data, refused, url
from tests.factories import EventFactory, UserFactory, event_payload

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Frozen at NOW; tokens are issued at NOW and stay valid for the hours a test moves on."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


def join(event, *users, now=None):
    for user in users:
        entry_join(event=event, user=user, now=now or timezone.now())


def draw(event):
    """Lock at the lock time and draw at the draw time, as the sweeper would."""
    event.refresh_from_db()
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()


def create(user, **overrides):
    return client_for(user).post("/api/v1/events", event_payload(**overrides), format="json")


# --- create ---------------------------------------------------------------------------------


def test_creator_creates_an_event_and_gets_it_back(creator):
    response = create(
        creator, prizes=[{"name": "iPhone", "quantity": 1}, {"name": "红包", "quantity": 5}]
    )

    assert response.status_code == 201, response.content
    event = data(response)
    assert event["status"] == "init"
    assert event["creator"] == {
        "id": creator.public_id,
        "nickname": "发起人",
        "avatar_url": creator.avatar_url,
        "avatar": None,
    }
    assert [(p["name"], p["quantity"]) for p in event["prizes"]] == [("iPhone", 1), ("红包", 5)]
    assert event["participant_count"] == 0
    assert event["my_entry"] == {
        "joined": False,
        "joined_at": None,
        "prize": None,
        "claim": None,
    }
    stored = Event.objects.get(public_id=event["id"])
    assert stored.creator_id == creator.pk
    assert stored.lock_at == stored.draw_at - timedelta(seconds=settings.LOTTERY_LOCK_LEAD_SECONDS)
    assert EventLog.objects.filter(event=stored, action="create").count() == 1


def test_event_ids_are_opaque_and_not_the_primary_key(creator):
    first, second = data(create(creator)), data(create(creator))
    stored = Event.objects.get(public_id=first["id"])
    assert first["id"].startswith("e_") and len(first["id"]) == 18
    assert first["id"][2:] != second["id"][2:] and first["id"] != str(stored.pk)
    assert refused(client_for(creator).get(url(str(stored.pk))), 404, 40401)
    assert all(p["id"].startswith("p_") and len(p["id"]) == 18 for p in first["prizes"])
    assert first["creator"]["id"].startswith("u_")


def test_commitment_is_published_at_creation_and_the_seed_is_not(creator):
    event = data(create(creator))
    stored = Event.objects.get(public_id=event["id"])
    assert event["commitment"] == hashlib.sha256(bytes(stored.seed)).hexdigest()
    assert len(event["commitment"]) == 64
    assert "seed" not in event


def test_emoji_title_and_nickname_round_trip(creator):
    creator.nickname = "抽奖达人🎉"
    creator.save()
    title = "🧧新年红包🎉" + "😀" * 94  # 100 characters, each emoji outside the BMP
    response = create(creator, title=title, description="🎁" * 2000)

    assert response.status_code == 201, response.content
    stored = Event.objects.get(public_id=data(response)["id"])
    assert stored.title == title and stored.description == "🎁" * 2000
    shown = data(client_for(creator).get(url(stored)))
    assert shown["title"] == title and shown["creator"]["nickname"] == "抽奖达人🎉"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "   "),
        ("title", "x" * 101),
        ("description", "x" * 2001),
        ("prizes", []),
        ("prizes", [{"name": f"奖{i}", "quantity": 1} for i in range(21)]),
        ("prizes", [{"name": "", "quantity": 1}]),
        ("prizes", [{"name": "x" * 51, "quantity": 1}]),
        ("prizes", [{"name": "奖", "quantity": 0}]),
        ("prizes", [{"name": "奖", "quantity": 10_001}]),
        ("prizes", [{"name": f"奖{i}", "quantity": 10_000} for i in range(11)]),
        ("draw_mode", "lucky"),
        ("draw_at", "2030-01-01T20:00:00"),
        ("draw_at", "tomorrow"),
    ],
)
def test_create_refuses_invalid_field(creator, field, value):
    response = create(creator, **{field: value})
    assert refused(response, 400, 40000), response.content
    assert field in data(response)
    assert not Event.objects.exists()


def test_title_of_100_characters_and_20_prizes_totalling_100000_are_accepted(creator):
    prizes = [{"name": f"奖{i}", "quantity": 5_000} for i in range(20)]
    response = create(creator, title="x" * 100, prizes=prizes)
    assert response.status_code == 201, response.content
    assert Prize.objects.filter(event__public_id=data(response)["id"]).count() == 20


def test_naive_draw_time_is_refused_with_a_reason(creator):
    naive = (timezone.localtime(NOW) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    response = create(creator, draw_at=naive)
    assert refused(response, 400, 40000)
    assert "时区" in data(response)["draw_at"][0]


def test_draw_time_must_be_at_least_the_minimum_lead_ahead(creator):
    lead = timedelta(seconds=settings.LOTTERY_MIN_DRAW_LEAD_SECONDS)
    too_soon = create(creator, draw_at=(NOW + lead - timedelta(seconds=1)).isoformat())
    assert refused(too_soon, 400, 40000) and "draw_at" in data(too_soon)
    just_in_time = create(creator, draw_at=(NOW + lead).isoformat())
    assert just_in_time.status_code == 201, just_in_time.content


def test_draw_time_in_the_past_is_refused(creator):
    response = create(creator, draw_at=(NOW - timedelta(hours=1)).isoformat())
    assert refused(response, 400, 40000) and "draw_at" in data(response)


def test_draw_time_at_most_30_days_ahead(creator):
    horizon = timedelta(days=settings.LOTTERY_MAX_HORIZON_DAYS)
    too_far = create(creator, draw_at=(NOW + horizon + timedelta(seconds=1)).isoformat())
    assert refused(too_far, 400, 40000) and "draw_at" in data(too_far)
    at_the_horizon = create(creator, draw_at=(NOW + horizon).isoformat())
    assert at_the_horizon.status_code == 201, at_the_horizon.content


def test_draw_time_with_another_offset_means_the_same_instant(creator):
    moment = NOW + timedelta(hours=2)
    in_new_york = moment.astimezone(timezone.get_fixed_timezone(-300)).isoformat()
    response = create(creator, draw_at=in_new_york)
    assert Event.objects.get(public_id=data(response)["id"]).draw_at == moment


def test_count_mode_needs_a_target_and_only_count_mode_may_have_one(creator):
    no_target = create(creator, draw_mode="count")
    assert refused(no_target, 400, 40000) and "target_participants" in data(no_target)
    target_in_time_mode = create(creator, draw_mode="time", target_participants=10)
    assert refused(target_in_time_mode, 400, 40000)
    assert "target_participants" in data(target_in_time_mode)
    zero_target = create(creator, draw_mode="count", target_participants=0)
    assert refused(zero_target, 400, 40000)

    counted = create(creator, draw_mode="count", target_participants=10)
    assert counted.status_code == 201, counted.content
    assert data(counted)["draw_mode"] == "count" and data(counted)["target_participants"] == 10
    manual = create(creator, draw_mode="manual")
    assert manual.status_code == 201 and data(manual)["target_participants"] is None


@pytest.mark.parametrize(
    "extra",
    [{"status": "opened"}, {"creator": "u_someoneelse00000"}, {"participant_count": 1000}],
)
def test_create_refuses_fields_nobody_may_set(creator, extra):
    response = create(creator, **extra)
    assert refused(response, 400, 40000) and set(extra) <= set(data(response))
    assert not Event.objects.exists()


def test_anonymous_caller_cannot_create(api):
    response = api.post("/api/v1/events", event_payload(), format="json")
    assert refused(response, 401, 40100)


def test_deactivated_users_token_is_refused_when_creating_or_joining(creator, event, entrant):
    creator_client, entrant_client = client_for(creator), client_for(entrant)
    user_deactivate(user=creator, actor=None, reason="spam")
    user_deactivate(user=entrant, actor=None, reason="spam")

    assert refused(
        creator_client.post("/api/v1/events", event_payload(), format="json"), 401, 40102
    )
    assert refused(entrant_client.post(url(event, "/entry")), 401, 40102)
    assert Event.objects.count() == 1 and not Entry.objects.exists()


def test_service_refuses_deactivated_creator_and_entrant(creator, event, entrant):
    creator.is_active = entrant.is_active = False
    with pytest.raises(ApplicationError) as refusal:
        EventFactory(creator=creator)
    assert refusal.value.name == "account_disabled" and refusal.value.kind.code == 40302
    with pytest.raises(ApplicationError) as refusal:
        entry_join(event=event, user=entrant, now=NOW)
    assert refusal.value.name == "account_disabled"
    assert Event.objects.count() == 1 and not Entry.objects.exists()


# --- read -----------------------------------------------------------------------------------


def test_any_logged_in_user_reads_an_event_with_every_documented_field(event, outsider):
    response = client_for(outsider).get(url(event))
    assert response.status_code == 200
    shown = data(response)
    assert {
        "id",
        "title",
        "description",
        "draw_at",
        "lock_at",
        "status",
        "creator",
        "prizes",
        "participant_count",
        "created_at",
        "my_entry",
    } <= set(shown)
    assert shown["id"] == event.public_id and shown["status"] == "init"
    assert set(shown["creator"]) == {"id", "nickname", "avatar_url", "avatar"}
    assert [p["name"] for p in shown["prizes"]] == ["一等奖", "二等奖"]
    assert set(shown["prizes"][0]) == {"id", "name", "quantity", "image"}
    assert shown["cover"] is None
    assert shown["draw_at"] == timezone.localtime(event.draw_at).isoformat()
    assert shown["lock_at"] == timezone.localtime(event.lock_at).isoformat()
    assert shown["draw_at"].endswith("+08:00")  # shown in Asia/Shanghai
    assert shown["my_entry"] == {
        "joined": False,
        "joined_at": None,
        "prize": None,
        "claim": None,
    }


def test_anonymous_caller_cannot_read_an_event(api, event):
    assert refused(api.get(url(event)), 401, 40100)


def test_entrant_sees_their_entry_and_then_their_prize_once_drawn(creator):
    event = EventFactory(creator=creator, prizes=[{"name": "大奖", "quantity": 1}])
    winner = UserFactory()
    join(event, winner)
    entrant_view = data(client_for(winner).get(url(event)))["my_entry"]
    assert entrant_view["joined"] is True and entrant_view["prize"] is None

    draw(event)
    after = data(client_for(winner).get(url(event)))
    prize = Prize.objects.get(event=event)
    assert after["status"] == "opened"
    assert after["my_entry"]["prize"] == {"id": prize.public_id, "name": "大奖"}


def test_entrant_who_did_not_win_sees_no_prize(creator):
    event = EventFactory(creator=creator, prizes=[{"name": "大奖", "quantity": 1}])
    first, second = UserFactory(), UserFactory()
    join(event, first, second)
    draw(event)
    loser = Entry.objects.get(event=event, prize__isnull=True).user
    mine = data(client_for(loser).get(url(event)))["my_entry"]
    assert mine["joined"] is True and mine["prize"] is None


def test_unknown_event_is_a_404_on_every_events_endpoint(user_client):
    missing = "e_doesnotexist0000"
    for method, suffix in [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/entry"),
        ("delete", "/entry"),
        ("get", "/entries"),
    ]:
        response = getattr(user_client, method)(url(missing, suffix), {}, format="json")
        assert refused(response, 404, 40401), (method, suffix, response.content)


def test_a_cursor_the_server_did_not_issue_is_a_400_on_every_paged_list(event, outsider):
    """A 404 would read to a client as "this event is gone"; the inbox already says 400."""
    client = client_for(outsider)
    for path in (url(event, "/entries"), "/api/v1/me/events"):
        response = client.get(path, {"cursor": "not-a-cursor"})
        assert refused(response, 400, 40000), (path, response.content)
        assert "cursor" in response.json()["data"]


def test_no_openid_unionid_or_session_key_in_any_events_response(creator):
    creator.unionid = "union-secret-1"
    creator.save()
    winner = UserFactory(unionid="union-secret-2")
    event = EventFactory(creator=creator, prizes=[{"name": "大奖", "quantity": 1}])
    join(event, winner)
    draw(event)
    secrets = [
        creator.openid,
        winner.openid,
        "union-secret",
        "secret-session-key-value",
        "openid",
        "unionid",
        "session_key",
        '"seed"',
        bytes(event.seed).hex(),
    ]
    responses = [
        client_for(creator).post("/api/v1/events", event_payload(), format="json"),
        client_for(winner).get(url(event)),
        client_for(creator).get(url(event, "/entries")),
        *(client_for(winner).get(f"/api/v1/me/events?role={r}") for r in ("joined", "won")),
        client_for(creator).get("/api/v1/me/events?role=created"),
        client_for(creator).patch(url(data(create(creator))["id"]), {"title": "改"}, format="json"),
    ]
    for response in responses:
        assert response.status_code in (200, 201), response.content
        text = response.content.decode()
        for secret in secrets:
            assert secret not in text, (secret, response.request["PATH_INFO"])


# --- join and withdraw ----------------------------------------------------------------------


def test_entrant_joins_and_is_counted(event, entrant):
    response = client_for(entrant).post(url(event, "/entry"))
    assert response.status_code == 201, response.content
    assert data(response) == {
        "event_id": event.public_id,
        "joined": True,
        "joined_at": timezone.localtime(NOW).isoformat(),
    }
    event.refresh_from_db()
    assert event.participant_count == 1
    assert Entry.objects.get(event=event).user_id == entrant.pk


def test_second_join_returns_the_existing_entry_and_changes_nothing(event, entrant, clock):
    client = client_for(entrant)
    first = client.post(url(event, "/entry"))
    clock.shift(timedelta(seconds=30))
    second = client.post(url(event, "/entry"))

    assert (first.status_code, second.status_code) == (201, 200)
    assert data(second)["joined_at"] == data(first)["joined_at"]
    event.refresh_from_db()
    assert event.participant_count == 1
    assert Entry.objects.filter(event=event).count() == 1


def test_join_one_second_before_the_lock_is_accepted(event, entrant, clock):
    clock.move_to(event.lock_at - timedelta(seconds=1), tick=False)
    assert client_for(entrant).post(url(event, "/entry")).status_code == 201


@pytest.mark.parametrize("after_lock", [timedelta(0), timedelta(seconds=1)])
def test_join_at_or_after_the_lock_time_is_refused_though_status_is_still_init(
    event, entrant, clock, after_lock
):
    clock.move_to(event.lock_at + after_lock, tick=False)
    response = client_for(entrant).post(url(event, "/entry"))

    assert refused(response, 409, 40901), response.content
    event.refresh_from_db()
    assert event.status == Event.Status.INIT  # the sweeper has not run: the time rule holds
    assert event.participant_count == 0 and not Entry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_joins_in_a_request_commit_their_own_transaction_and_leave_none_open(
    event, entrant, outsider, clock
):
    """Outside any transaction (as in a request) a join begins and commits its own, without
    Django's atomic(); accepted, repeated or refused, it leaves the connection as it found it."""
    from django.db import connection

    def open_transaction() -> bool:
        if connection.vendor == "sqlite":
            return connection.connection.in_transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@in_transaction")
            return bool(cursor.fetchone()[0])

    assert not connection.in_atomic_block
    assert entry_join(event=event, user=entrant, now=NOW)[1] is True
    assert entry_join(event=event, user=entrant, now=NOW)[1] is False
    with pytest.raises(ApplicationError) as refusal:
        entry_join(event=event, user=outsider, now=event.lock_at)
    assert refusal.value.name == "event_locked"
    assert connection.get_autocommit() and not open_transaction()

    event.refresh_from_db()
    assert event.participant_count == 1
    assert list(Entry.objects.filter(event=event).values_list("user_id", flat=True)) == [entrant.pk]


def test_join_after_the_lock_job_ran_is_refused(event, entrant):
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert refused(client_for(entrant).post(url(event, "/entry")), 409, 40901)


def test_join_a_drawn_event_is_refused(event, entrant):
    join(event, UserFactory())
    draw(event)
    assert refused(client_for(entrant).post(url(event, "/entry")), 409, 40902)


def test_join_a_canceled_event_is_refused(event, entrant):
    event_cancel(event=event, actor=event.creator, now=NOW, reason="")
    response = client_for(entrant).post(url(event, "/entry"))
    assert refused(response, 409, 40903)
    assert not Entry.objects.exists()


def test_entrant_withdraws_and_is_no_longer_counted(event, entrant):
    join(event, entrant, UserFactory())
    response = client_for(entrant).delete(url(event, "/entry"))

    assert response.status_code == 200
    assert data(response) == {"event_id": event.public_id, "joined": False, "joined_at": None}
    event.refresh_from_db()
    assert event.participant_count == 1
    assert not Entry.objects.filter(event=event, user=entrant).exists()


def test_withdraw_when_not_joined_is_a_no_op(event, entrant):
    join(event, UserFactory())
    response = client_for(entrant).delete(url(event, "/entry"))
    assert response.status_code == 200 and data(response)["joined"] is False
    event.refresh_from_db()
    assert event.participant_count == 1


def test_withdraw_when_not_joined_is_a_no_op_even_after_the_lock(event, entrant, clock):
    clock.move_to(event.lock_at + timedelta(seconds=1), tick=False)
    assert client_for(entrant).delete(url(event, "/entry")).status_code == 200


def test_withdraw_after_the_lock_time_is_refused_and_the_entry_stays(event, entrant, clock):
    join(event, entrant)
    clock.move_to(event.lock_at + timedelta(seconds=1), tick=False)

    assert refused(client_for(entrant).delete(url(event, "/entry")), 409, 40901)
    event.refresh_from_db()
    assert event.participant_count == 1 and Entry.objects.filter(user=entrant).exists()


def test_withdraw_from_a_canceled_event_is_refused(event, entrant):
    join(event, entrant)
    event_cancel(event=event, actor=event.creator, now=NOW)
    assert refused(client_for(entrant).delete(url(event, "/entry")), 409, 40903)


def test_outsider_cannot_withdraw_someone_elses_entry(event, entrant, outsider):
    join(event, entrant)
    response = client_for(outsider).delete(url(event, "/entry"))
    assert response.status_code == 200  # withdraws the caller, who had not joined: a no-op
    event.refresh_from_db()
    assert event.participant_count == 1 and Entry.objects.filter(user=entrant).exists()


def test_participant_count_stays_exact_through_joins_withdrawals_and_repeats(event):
    users = UserFactory.create_batch(6)
    for user in users:
        client = client_for(user)
        client.post(url(event, "/entry"))
        client.post(url(event, "/entry"))
    for user in users[:3]:
        client_for(user).delete(url(event, "/entry"))
        client_for(user).delete(url(event, "/entry"))
    client_for(users[0]).post(url(event, "/entry"))

    event.refresh_from_db()
    assert event.participant_count == 4 == Entry.objects.filter(event=event).count()


def test_rejoining_after_withdrawing_is_a_new_entry(event, entrant, clock):
    client = client_for(entrant)
    client.post(url(event, "/entry"))
    client.delete(url(event, "/entry"))
    clock.shift(timedelta(seconds=5))
    again = client.post(url(event, "/entry"))
    assert again.status_code == 201
    assert data(again)["joined_at"] == timezone.localtime(NOW + timedelta(seconds=5)).isoformat()


def test_join_that_reaches_the_count_target_closes_entries_for_the_sweeper_to_lock(creator):
    event = EventFactory(creator=creator, draw_mode="count", target_participants=2)
    first, second, late = UserFactory.create_batch(3)
    assert client_for(first).post(url(event, "/entry")).status_code == 201
    assert client_for(second).post(url(event, "/entry")).status_code == 201

    assert refused(client_for(late).post(url(event, "/entry")), 409, 40901)
    assert client_for(second).post(url(event, "/entry")).status_code == 200  # still idempotent
    event.refresh_from_db()
    # The join changed no status: the sweeper locks it, like any event past its lock time.
    assert event.status == Event.Status.INIT and event.participant_count == 2
    assert event.lock_at == NOW
    detail = data(client_for(late).get(url(event)))
    assert (detail["status"], detail["phase"], detail["joinable"]) == ("init", "opening", False)
    assert not EventLog.objects.filter(event=event, action=EventLog.Action.LOCK).exists()


def test_nobody_withdraws_once_the_count_target_is_reached(creator, clock):
    event = EventFactory(creator=creator, draw_mode="count", target_participants=2)
    first, second, late = UserFactory.create_batch(3)
    join(event, first)
    join(event, second)

    assert refused(client_for(first).delete(url(event, "/entry")), 409, 40901)
    # Even a withdrawal stamped before the target was reached (a slow request) is refused: a
    # place freed now could go to a join that came after the list was final.
    with pytest.raises(ApplicationError, match="event_locked"):
        entry_leave(event=event, user=first, now=NOW - timedelta(seconds=1))
    with pytest.raises(ApplicationError, match="event_locked"):
        entry_join(event=event, user=late, now=NOW - timedelta(seconds=1))
    event.refresh_from_db()
    assert event.participant_count == 2 == Entry.objects.filter(event=event).count()


def test_below_the_count_target_a_withdrawal_frees_a_place(creator):
    event = EventFactory(creator=creator, draw_mode="count", target_participants=2)
    first, second, third = UserFactory.create_batch(3)
    join(event, first)
    assert client_for(first).delete(url(event, "/entry")).status_code == 200
    join(event, second)
    join(event, third)
    event.refresh_from_db()
    assert event.participant_count == 2 and event.lock_at == NOW


def test_creator_neither_edits_nor_cancels_once_the_count_target_is_reached(creator):
    event = EventFactory(creator=creator, draw_mode="count", target_participants=1)
    join(event, UserFactory())

    owner = client_for(creator)
    assert refused(owner.patch(url(event), {"title": "改名"}, format="json"), 409, 40901)
    assert refused(owner.post(url(event, "/cancel"), {}, format="json"), 409, 40901)


# --- edit -----------------------------------------------------------------------------------


def test_creator_edits_title_and_description_even_after_people_joined(event, entrant):
    join(event, entrant)
    response = client_for(event.creator).patch(
        url(event), {"title": "新标题", "description": "新说明"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (data(response)["title"], data(response)["description"]) == ("新标题", "新说明")
    event.refresh_from_db()
    assert (event.title, event.description) == ("新标题", "新说明")
    assert EventLog.objects.filter(event=event, action="update").count() == 1


def test_every_viewer_sees_an_edit_at_once(event, outsider, django_capture_on_commit_callbacks):
    viewer = client_for(outsider)
    assert data(viewer.get(url(event)))["title"] != "新标题"  # the public part is now cached
    with django_capture_on_commit_callbacks(execute=True):
        client_for(event.creator).patch(
            url(event),
            {"title": "新标题", "prizes": [{"name": "新奖", "quantity": 3}]},
            format="json",
        )
    shown = data(viewer.get(url(event)))
    assert shown["title"] == "新标题" and [p["name"] for p in shown["prizes"]] == ["新奖"]


def test_creator_cannot_edit_after_the_lock_time(event, clock):
    clock.move_to(event.lock_at + timedelta(seconds=1), tick=False)
    response = client_for(event.creator).patch(url(event), {"title": "改"}, format="json")
    assert refused(response, 409, 40901)
    event.refresh_from_db()
    assert event.title != "改"


def test_creator_moves_the_draw_and_replaces_prizes_while_nobody_has_joined(event):
    new_draw_at = NOW + timedelta(hours=3)
    response = client_for(event.creator).patch(
        url(event),
        {"draw_at": new_draw_at.isoformat(), "prizes": [{"name": "新奖", "quantity": 9}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert event.draw_at == new_draw_at
    assert event.lock_at == Event.scheduled_lock_at(new_draw_at)
    assert list(Prize.objects.filter(event=event).values_list("name", "quantity")) == [("新奖", 9)]
    assert [p["name"] for p in data(response)["prizes"]] == ["新奖"]


@pytest.mark.parametrize(
    "change",
    [
        {"draw_at": (NOW + timedelta(hours=3)).isoformat()},
        {"prizes": [{"name": "新奖", "quantity": 9}]},
    ],
)
def test_draw_time_and_prizes_are_frozen_once_someone_joined(event, entrant, change):
    join(event, entrant)
    before = (event.draw_at, list(Prize.objects.filter(event=event).values_list("pk", flat=True)))
    response = client_for(event.creator).patch(url(event), {**change, "title": "改"}, format="json")

    assert refused(response, 409, 40904)
    event.refresh_from_db()
    assert event.title != "改"  # the whole edit is refused, not half applied
    assert (event.draw_at, list(event.prizes.values_list("pk", flat=True))) == before


def test_edit_checks_the_new_draw_time_and_prizes_like_create(event):
    client = client_for(event.creator)
    too_soon = client.patch(url(event), {"draw_at": NOW.isoformat()}, format="json")
    assert refused(too_soon, 400, 40000) and "draw_at" in data(too_soon)
    naive = client.patch(url(event), {"draw_at": "2030-01-01T12:00:00"}, format="json")
    assert refused(naive, 400, 40000)
    no_prizes = client.patch(url(event), {"prizes": []}, format="json")
    assert refused(no_prizes, 400, 40000)
    too_many = [{"name": f"奖{i}", "quantity": 10_000} for i in range(11)]
    assert refused(client.patch(url(event), {"prizes": too_many}, format="json"), 400, 40000)
    assert refused(client.patch(url(event), {"title": ""}, format="json"), 400, 40000)


@pytest.mark.parametrize(
    "attempt",
    [
        {"status": "opened"},
        {"status": 2},
        {"creator": "u_someoneelse00000"},
        {"creator_id": 1},
        {"participant_count": 1000},
        {"title": "合法标题", "status": "canceled"},
        {"seed_commitment": "0" * 64},
    ],
)
def test_mass_assignment_is_refused_and_nothing_is_applied(event, outsider, attempt):
    response = client_for(event.creator).patch(url(event), attempt, format="json")

    assert refused(response, 400, 40000)
    assert set(attempt) - {"title"} <= set(data(response))
    event.refresh_from_db()
    assert event.status == Event.Status.INIT and event.creator_id != outsider.pk
    assert event.participant_count == 0 and event.title != "合法标题"


def test_outsider_cannot_edit_event(event, outsider):
    response = client_for(outsider).patch(url(event), {"title": "抢走了"}, format="json")
    assert refused(response, 403, 40301)
    event.refresh_from_db()
    assert event.title != "抢走了"


def test_entrant_cannot_edit_event(event, entrant):
    join(event, entrant)
    response = client_for(entrant).patch(url(event), {"title": "抢走了"}, format="json")
    assert refused(response, 403, 40301)


def test_service_refuses_edit_by_outsider(event, outsider):
    with pytest.raises(ApplicationError) as refusal:
        event_update(event=event, actor=outsider, now=NOW, title="抢走了")
    assert refusal.value.name == "not_owner"


# --- cancel ---------------------------------------------------------------------------------


def test_creator_cancels_with_a_reason_and_the_notification_record_is_written(event, entrant):
    join(event, entrant)
    response = client_for(event.creator).delete(url(event), {"reason": "奖品缺货"}, format="json")

    assert response.status_code == 200, response.content
    assert data(response)["status"] == "canceled" and data(response)["cancel_reason"] == "奖品缺货"
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELED and event.cancel_reason == "奖品缺货"
    log = EventLog.objects.get(event=event, action="cancel")
    assert (log.from_status, log.to_status) == (Event.Status.INIT, Event.Status.CANCELED)
    assert (log.actor_id, log.actor_kind, log.reason) == (event.creator.pk, "user", "奖品缺货")
    assert log.notified_at is None  # waiting for the notifications app


def test_creator_cancels_without_a_reason(event):
    response = client_for(event.creator).delete(url(event))
    assert response.status_code == 200, response.content
    assert EventLog.objects.get(event=event, action="cancel").reason == ""


def test_cancel_reason_longer_than_200_characters_is_refused(event):
    response = client_for(event.creator).delete(url(event), {"reason": "x" * 201}, format="json")
    assert refused(response, 400, 40000)
    event.refresh_from_db()
    assert event.status == Event.Status.INIT


def test_creator_cannot_cancel_after_the_lock_time(event, clock):
    clock.move_to(event.lock_at + timedelta(seconds=1), tick=False)
    response = client_for(event.creator).delete(url(event), {"reason": "晚了"}, format="json")
    assert refused(response, 409, 40901)
    event.refresh_from_db()
    assert event.status == Event.Status.INIT
    assert not EventLog.objects.filter(event=event, action="cancel").exists()


def test_creator_cannot_cancel_a_locked_or_drawn_event(event):
    join(event, UserFactory())
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert refused(client_for(event.creator).delete(url(event)), 409, 40901)
    draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    assert refused(client_for(event.creator).delete(url(event)), 409, 40902)


def test_canceling_twice_is_refused_and_logged_once(event):
    client = client_for(event.creator)
    client.delete(url(event))
    assert refused(client.delete(url(event)), 409, 40903)
    assert EventLog.objects.filter(event=event, action="cancel").count() == 1


def test_outsider_cannot_cancel_event(event, outsider):
    response = client_for(outsider).delete(url(event), {"reason": "捣乱"}, format="json")
    assert refused(response, 403, 40301)
    event.refresh_from_db()
    assert event.status == Event.Status.INIT


def test_canceled_event_cannot_be_edited(event):
    event_cancel(event=event, actor=event.creator, now=NOW)
    response = client_for(event.creator).patch(url(event), {"title": "改"}, format="json")
    assert refused(response, 409, 40903)


# --- entries list ---------------------------------------------------------------------------


def test_entries_are_listed_newest_first_without_private_fields(event, outsider, clock):
    users = UserFactory.create_batch(3)
    for user in users:
        join(event, user)
        clock.shift(timedelta(seconds=1))

    response = client_for(outsider).get(url(event, "/entries"))
    assert response.status_code == 200
    page = data(response)
    assert [item["user"]["id"] for item in page["results"]] == [
        u.public_id for u in reversed(users)
    ]
    assert page["next"] is None
    first = page["results"][0]
    assert set(first) == {"user", "joined_at"} and set(first["user"]) == {
        "id",
        "nickname",
        "avatar_url",
        "avatar",
    }
    assert first["joined_at"] == timezone.localtime(NOW + timedelta(seconds=2)).isoformat()


def test_entries_list_follows_the_cursor_to_the_last_page(event, outsider, clock):
    users = UserFactory.create_batch(7)
    for user in users:
        join(event, user)
        clock.shift(timedelta(milliseconds=1500))
    client = client_for(outsider)

    seen, cursor, pages = [], None, 0
    while True:
        query = f"?page_size=3&cursor={cursor}" if cursor else "?page_size=3"
        page = data(client.get(url(event, "/entries") + query))
        seen += [item["user"]["id"] for item in page["results"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [u.public_id for u in reversed(users)]


def test_entries_list_pages_through_entries_that_joined_in_the_same_instant(event, outsider):
    users = UserFactory.create_batch(5)
    join(event, *users)  # all at NOW: the cursor must still neither skip nor repeat anyone
    client = client_for(outsider)
    seen, cursor = [], None
    for _ in range(5):
        query = f"?page_size=2&cursor={cursor}" if cursor else "?page_size=2"
        page = data(client.get(url(event, "/entries") + query))
        seen += [item["user"]["id"] for item in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(u.public_id for u in users)


# --- my events ------------------------------------------------------------------------------


def make_events(creator, hours):
    """Events by ``creator`` drawn ``hours`` hours from NOW, in that order of creation."""
    return [
        EventFactory(
            creator=creator,
            draw_at=NOW + timedelta(hours=h),
            prizes=[{"name": "奖", "quantity": 1}],
        )
        for h in hours
    ]


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in data(response)["results"]]


def test_my_created_events_newest_draw_first(creator, outsider):
    early, late, middle = make_events(creator, [1, 3, 2])
    EventFactory(creator=outsider)

    response = client_for(creator).get("/api/v1/me/events?role=created")
    assert ids(response) == [late.public_id, middle.public_id, early.public_id]


def test_my_joined_events_newest_draw_first_with_my_entry(creator, entrant):
    early, late, not_joined = make_events(creator, [1, 2, 3])
    join(early, entrant)
    join(late, entrant)

    response = client_for(entrant).get("/api/v1/me/events?role=joined")
    assert ids(response) == [late.public_id, early.public_id]
    assert all(item["my_entry"]["joined"] for item in data(response)["results"])
    default = client_for(entrant).get("/api/v1/me/events")
    assert ids(default) == ids(response)


def test_my_won_events_lists_only_events_i_won(creator, entrant):
    won_early, won_late, lost = make_events(creator, [1, 2, 3])
    join(won_early, entrant)
    join(won_late, entrant)
    draw(won_early)
    draw(won_late)
    winner_of_lost = UserFactory()
    join(lost, winner_of_lost)
    draw(lost)

    response = client_for(entrant).get("/api/v1/me/events?role=won")
    assert ids(response) == [won_late.public_id, won_early.public_id]
    assert [item["my_entry"]["prize"]["name"] for item in data(response)["results"]] == ["奖", "奖"]
    assert ids(client_for(winner_of_lost).get("/api/v1/me/events?role=won")) == [lost.public_id]


def test_my_events_pages_with_a_cursor(creator):
    events = make_events(creator, range(1, 6))
    client = client_for(creator)
    first = data(client.get("/api/v1/me/events?role=created&page_size=2"))
    second = data(client.get(f"/api/v1/me/events?role=created&page_size=2&cursor={first['next']}"))
    shown = [e["id"] for e in first["results"] + second["results"]]
    assert shown == [e.public_id for e in reversed(events)][:4]


def test_my_events_refuses_an_unknown_role(user_client):
    response = user_client.get("/api/v1/me/events?role=everything")
    assert refused(response, 400, 40000) and "role" in data(response)


# --- query counts (no N+1) ------------------------------------------------------------------


def warm(client, path):
    """A first request fills the per-user and per-event caches; the pinned one comes after."""
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("prizes", [1, 20])
def test_event_detail_query_count_is_fixed(django_assert_num_queries, entrant, prizes):
    event = EventFactory(prizes=[{"name": f"奖{i}", "quantity": 1} for i in range(prizes)])
    join(event, entrant)
    client = client_for(entrant)
    warm(client, url(event))
    with django_assert_num_queries(1):  # the public part is cached: the live part with my entry
        response = client.get(url(event))
    assert len(data(response)["prizes"]) == prizes


@pytest.mark.parametrize("entrants", [1, 25])
def test_entries_list_query_count_is_fixed(django_assert_num_queries, event, outsider, entrants):
    join(event, *UserFactory.create_batch(entrants))
    client = client_for(outsider)
    warm(client, url(event, "/entries"))
    with django_assert_num_queries(1):  # one page of entries with their users
        response = client.get(url(event, "/entries"))
    assert len(data(response)["results"]) == min(entrants, 20)


@pytest.mark.parametrize("role", ["created", "joined", "won"])
@pytest.mark.parametrize("count", [1, 8])
def test_my_events_query_count_is_fixed(django_assert_num_queries, creator, role, count):
    me = creator
    events = [
        EventFactory(
            creator=creator,
            draw_at=NOW + timedelta(hours=1, minutes=i),
            prizes=[{"name": f"奖{j}", "quantity": 1} for j in range(3)],
        )
        for i in range(count)
    ]
    for event in events:
        join(event, me, *UserFactory.create_batch(2))
        if role == "won":
            draw(event)  # one entrant of three wins each prize: everyone wins here
    client = client_for(me)
    path = f"/api/v1/me/events?role={role}"
    warm(client, path)
    with django_assert_num_queries(3):  # events with creators, their prizes, my entries
        response = client.get(path)
    assert len(data(response)["results"]) == count
