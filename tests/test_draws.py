"""The draw: lock on time, allocate exactly once, publish a proof anyone can check."""

from datetime import timedelta

import hypothesis
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from hypothesis import strategies as st

from draws import allocator, services, tasks
from draws.proof import parse_proof
from draws.selectors import events_due_for_draw, events_due_for_lock
from events.models import Entry, Event, EventLog, Prize
from events.services.entries import entry_join
from events.services.events import event_cancel, event_create
from tests.conftest import client_for
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + timedelta(days=1)


def make_event(*, creator=None, entrants=0, prizes=(("一等奖", 1), ("二等奖", 2)), **extra):
    creator = creator or UserFactory()
    with time_machine.travel(START, tick=False):
        event = event_create(
            creator=creator,
            title="新年抽奖",
            draw_at=START + timedelta(hours=1),
            prizes=[{"name": name, "quantity": quantity} for name, quantity in prizes],
            now=START,
            **extra,
        )
        for _ in range(entrants):
            entry_join(event=event, user=UserFactory(), now=START)
    event.refresh_from_db()
    return event


def lock_time(event):
    return event.lock_at


def run_sweeper_at(moment):
    with time_machine.travel(moment, tick=False):
        tasks.sweep()


# --- scheduling -----------------------------------------------------------------------------


def test_sweeper_locks_at_lock_time_and_draws_at_draw_time():
    event = make_event(entrants=5)

    run_sweeper_at(event.lock_at - timedelta(seconds=1))
    event.refresh_from_db()
    assert event.status == Event.Status.INIT

    run_sweeper_at(event.lock_at)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING
    assert event.entrant_count == 5 and len(event.entrants_digest) == 64

    run_sweeper_at(event.draw_at - timedelta(seconds=1))
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING

    run_sweeper_at(event.draw_at)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED
    assert Entry.objects.filter(event=event, prize__isnull=False).count() == 3


def test_event_overdue_by_days_is_locked_and_drawn_on_the_first_sweep():
    event = make_event(entrants=4)
    run_sweeper_at(event.draw_at + timedelta(days=3))
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED
    assert Entry.objects.filter(event=event, prize__isnull=False).count() == 3


def test_lock_freezes_the_sorted_entrant_list_and_logs_it():
    event = make_event(entrants=6)
    run_sweeper_at(event.lock_at)
    event.refresh_from_db()
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    assert (event.entrant_count, event.entrants_digest) == allocator.entrants_digest(keys)
    log = EventLog.objects.get(event=event, action="lock")
    assert (log.from_status, log.to_status) == (Event.Status.INIT, Event.Status.OPENING)


def test_running_the_sweeper_or_the_draw_twice_changes_nothing():
    event = make_event(entrants=10)
    run_sweeper_at(event.draw_at)
    first = list(Entry.objects.filter(event=event).values_list("pk", "prize_id", "prize_rank"))

    run_sweeper_at(event.draw_at + timedelta(seconds=5))
    with time_machine.travel(event.draw_at + timedelta(seconds=6), tick=False):
        tasks.draw_event(event.pk)
        tasks.lock_event(event.pk)
        assert services.event_draw(event_id=event.pk, now=timezone.now()) is False

    assert list(Entry.objects.filter(event=event).values_list("pk", "prize_id", "prize_rank")) == (
        first
    )
    assert EventLog.objects.filter(event=event, action="draw").count() == 1


def test_sweeper_looks_at_every_due_event_however_old():
    old = make_event(entrants=1)
    later = make_event(entrants=1)
    now = later.draw_at + timedelta(days=10)
    assert set(events_due_for_lock(now=now)) == {old.pk, later.pk}
    assert events_due_for_draw(now=now) == []


def test_draw_task_before_draw_time_does_nothing():
    event = make_event(entrants=3)
    run_sweeper_at(event.lock_at)
    with time_machine.travel(event.lock_at + timedelta(seconds=1), tick=False):
        tasks.draw_event(event.pk)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING


# --- allocation -----------------------------------------------------------------------------


def test_each_entrant_wins_at_most_one_prize_and_tiers_fill_in_order():
    event = make_event(entrants=3, prizes=(("gold", 1), ("silver", 1), ("bronze", 5)))
    run_sweeper_at(event.draw_at)
    won = Entry.objects.filter(event=event, prize__isnull=False)
    assert won.count() == 3
    assert len(set(won.values_list("user_id", flat=True))) == 3
    names = list(won.order_by("prize_rank").values_list("prize__name", flat=True))
    assert names == ["gold", "silver", "bronze"]
    bronze = Prize.objects.get(event=event, name="bronze")
    assert (bronze.quantity, bronze.awarded) == (5, 1)


def test_event_with_no_entrants_ends_opened_with_no_winners():
    event = make_event(entrants=0)
    run_sweeper_at(event.draw_at)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED and event.entrant_count == 0
    assert not Entry.objects.filter(event=event, prize__isnull=False).exists()
    assert set(Prize.objects.filter(event=event).values_list("awarded", flat=True)) == {0}


def test_draw_writes_the_notification_record_in_the_same_transaction():
    event = make_event(entrants=2)
    run_sweeper_at(event.draw_at)
    log = EventLog.objects.get(event=event, action="draw")
    assert (log.from_status, log.to_status) == (Event.Status.OPENING, Event.Status.OPENED)
    assert log.notified_at is None


def test_second_win_for_the_same_user_is_impossible_in_the_database():
    from django.db import IntegrityError, transaction

    event = make_event(entrants=1)
    entry = Entry.objects.get(event=event)
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(
            event=event, user=entry.user, user_key=entry.user_key, created_at=timezone.now()
        )


def test_entrant_list_changed_after_lock_refuses_to_draw():
    event = make_event(entrants=3)
    run_sweeper_at(event.lock_at)
    Entry.objects.filter(event=event).first().delete()  # what no service would ever do
    with time_machine.travel(event.draw_at, tick=False), pytest.raises(services.DrawIntegrityError):
        services.event_draw(event_id=event.pk, now=timezone.now())
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING


def test_staff_cancel_racing_the_draw_leaves_exactly_one_outcome():
    event = make_event(entrants=3)
    run_sweeper_at(event.draw_at)
    with pytest.raises(Exception, match="40902|drawn|event_drawn"):
        event_cancel(
            event=Event.objects.get(pk=event.pk),
            actor=StaffFactory(),
            reason="abuse",
            now=event.draw_at,
            by_staff=True,
        )
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED


def test_staff_cancel_before_the_draw_means_the_draw_never_happens():
    event = make_event(entrants=3)
    run_sweeper_at(event.lock_at)
    event_cancel(
        event=Event.objects.get(pk=event.pk),
        actor=StaffFactory(),
        reason="abuse",
        now=event.lock_at,
        by_staff=True,
    )
    run_sweeper_at(event.draw_at)
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELED
    assert not Entry.objects.filter(event=event, prize__isnull=False).exists()


# --- draw modes -----------------------------------------------------------------------------


def test_count_mode_closes_entries_at_the_target_and_the_next_sweep_locks_and_draws_it():
    event = make_event(draw_mode="count", target_participants=3, entrants=3)
    assert event.status == Event.Status.INIT and event.lock_at == START
    assert events_due_for_lock(now=START) == [event.pk]
    run_sweeper_at(START + timedelta(seconds=5))
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED and event.entrant_count == 3
    lock = EventLog.objects.get(event=event, action=EventLog.Action.LOCK)
    assert (lock.reason, lock.created_at) == ("target reached", START + timedelta(seconds=5))
    assert event.locked_at == START + timedelta(seconds=5)


def test_count_mode_not_reaching_its_target_is_drawn_at_draw_time():
    event = make_event(draw_mode="count", target_participants=50, entrants=2)
    run_sweeper_at(event.lock_at)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING
    run_sweeper_at(event.lock_at + timedelta(seconds=10))
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING
    run_sweeper_at(event.draw_at)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED


def test_creator_draws_a_manual_event_early(django_capture_on_commit_callbacks):
    creator = UserFactory()
    event = make_event(creator=creator, draw_mode="manual", entrants=2)
    with (
        time_machine.travel(START + timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(creator).post(f"/api/v1/events/{event.public_id}/draw")
    assert response.status_code == 202, response.content
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED


def test_manual_draw_needs_an_entrant_and_the_creator():
    creator = UserFactory()
    empty = make_event(creator=creator, draw_mode="manual")
    response = client_for(creator).post(f"/api/v1/events/{empty.public_id}/draw")
    assert response.status_code == 409 and response.json()["code"] == 40907

    event = make_event(creator=creator, draw_mode="manual", entrants=1)
    outsider = client_for(UserFactory()).post(f"/api/v1/events/{event.public_id}/draw")
    assert outsider.status_code == 403


def test_time_mode_event_cannot_be_drawn_early():
    creator = UserFactory()
    event = make_event(creator=creator, entrants=1)
    response = client_for(creator).post(f"/api/v1/events/{event.public_id}/draw")
    assert response.status_code == 400


# --- proof, winners, entrants, verifier -----------------------------------------------------


def test_commitment_is_public_from_creation_and_seed_only_after_the_draw(api):
    event = make_event(entrants=2)
    proof = api.get(f"/api/v1/events/{event.public_id}/proof").json()["data"]
    assert proof["commitment"] == event.seed_commitment and proof["seed"] is None
    assert proof["entrants_digest"] is None and proof["algorithm"] == allocator.ALGORITHM

    run_sweeper_at(event.lock_at)
    locked = api.get(f"/api/v1/events/{event.public_id}/proof").json()["data"]
    assert locked["seed"] is None and locked["entrant_count"] == 2

    run_sweeper_at(event.draw_at)
    drawn = api.get(f"/api/v1/events/{event.public_id}/proof").json()["data"]
    assert allocator.commitment(bytes.fromhex(drawn["seed"])) == drawn["commitment"]


def test_winners_are_hidden_before_the_draw_and_public_after(api):
    event = make_event(entrants=2)
    before = api.get(f"/api/v1/events/{event.public_id}/winners")
    assert before.status_code == 409 and before.json()["code"] == 40905

    run_sweeper_at(event.draw_at)
    data = api.get(f"/api/v1/events/{event.public_id}/winners").json()["data"]
    assert [w["prize"]["name"] for w in data["winners"]] == ["一等奖", "二等奖"]
    assert data["unawarded"] == [
        {
            "prize": {"id": data["unawarded"][0]["prize"]["id"], "name": "二等奖"},
            "unawarded_units": 1,
            "quantity": 1,
        }
    ]
    assert "openid" not in str(data)


def test_entrant_list_is_published_from_the_lock_and_hashes_to_the_digest(api):
    import hashlib

    event = make_event(entrants=5)
    assert api.get(f"/api/v1/events/{event.public_id}/entrants").status_code == 409
    run_sweeper_at(event.lock_at)
    response = api.get(f"/api/v1/events/{event.public_id}/entrants")
    body = b"".join(response.streaming_content)
    event.refresh_from_db()
    assert response["Content-Type"].startswith("text/plain")
    assert hashlib.sha256(body).hexdigest() == event.entrants_digest
    assert len(body.splitlines()) == 5


def test_unknown_event_is_a_404_everywhere(api):
    for suffix in ("proof", "winners", "entrants"):
        response = api.get(f"/api/v1/events/e_doesnotexist0000/{suffix}")
        assert response.status_code == 404 and response.json()["code"] == 40401


def test_verifier_confirms_a_real_draw_and_rejects_tampering(api, tmp_path):
    import json

    event = make_event(entrants=30, prizes=(("a", 2), ("b", 3)))
    run_sweeper_at(event.draw_at)
    base = f"/api/v1/events/{event.public_id}"
    proof = api.get(f"{base}/proof").json()
    winners = api.get(f"{base}/winners").json()
    entrants = b"".join(api.get(f"{base}/entrants").streaming_content).decode()
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "winners.json").write_text(json.dumps(winners))
    (tmp_path / "entrants.txt").write_text(entrants)
    files = [
        "--proof",
        str(tmp_path / "proof.json"),
        "--entrants",
        str(tmp_path / "entrants.txt"),
        "--winners",
        str(tmp_path / "winners.json"),
    ]
    from tools.verify_draw import main

    assert main(files) == 0

    tampered = json.loads(json.dumps(winners))
    first, second = tampered["data"]["winners"][:2]
    first["user"], second["user"] = second["user"], first["user"]
    (tmp_path / "winners.json").write_text(json.dumps(tampered))
    assert main(files) == 1

    (tmp_path / "winners.json").write_text(json.dumps(winners))
    bad_seed = json.loads(json.dumps(proof))
    bad_seed["data"]["seed"] = "00" * 32
    (tmp_path / "proof.json").write_text(json.dumps(bad_seed))
    assert main(files) == 1

    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "entrants.txt").write_text(entrants.replace(entrants.splitlines()[0], "u_x" * 6))
    assert main(files) == 1


def test_verify_draw_command_confirms_a_drawn_event(capsys):
    event = make_event(entrants=12)
    run_sweeper_at(event.draw_at)
    call_command("verify_draw", event.public_id)
    assert "OK" in capsys.readouterr().out


def test_verify_draw_command_reports_a_tampered_result():
    from django.core.management.base import CommandError

    event = make_event(entrants=12)
    run_sweeper_at(event.draw_at)
    winner = Entry.objects.filter(event=event, prize__isnull=False).order_by("prize_rank").first()
    loser = Entry.objects.filter(event=event, prize__isnull=True).first()
    Entry.objects.filter(pk=winner.pk).update(prize=None, prize_rank=None)
    Entry.objects.filter(pk=loser.pk).update(prize=winner.prize, prize_rank=winner.prize_rank)
    with pytest.raises(CommandError):
        call_command("verify_draw", event.public_id)


def test_proof_carries_everything_the_verifier_needs(api):
    event = make_event(entrants=3, prizes=(("一等奖", 1), ("二等奖", 2)))
    run_sweeper_at(event.draw_at)
    proof = api.get(f"/api/v1/events/{event.public_id}/proof").json()["data"]
    assert {
        "algorithm",
        "event_id",
        "status",
        "commitment",
        "entrant_count",
        "entrants_digest",
        "seed",
        "prizes",
        "committed_at",
        "lock_at",
        "draw_at",
        "drawn_at",
        "entrants_url",
        "winners_url",
    } <= set(proof)
    assert [(p["name"], p["quantity"]) for p in proof["prizes"]] == [("一等奖", 1), ("二等奖", 2)]
    assert proof["entrants_url"] == f"/api/v1/events/{event.public_id}/entrants"
    assert api.get(proof["winners_url"]).status_code == 200
    assert parse_proof(proof).seed_hex == proof["seed"]


def test_entrant_list_is_streamed_batch_by_batch_never_built_whole(api, monkeypatch):
    from draws import selectors

    monkeypatch.setattr(selectors, "STREAM_BATCH", 2)
    event = make_event(entrants=5)
    run_sweeper_at(event.lock_at)
    response = api.get(f"/api/v1/events/{event.public_id}/entrants")
    assert response.streaming
    chunks = list(response.streaming_content)
    assert [len(chunk.splitlines()) for chunk in chunks] == [2, 2, 1]


def test_nobody_can_draw_an_event_again_once_it_is_drawn():
    creator, staff = UserFactory(), StaffFactory()
    event = make_event(creator=creator, draw_mode="manual", entrants=4)
    run_sweeper_at(event.draw_at)
    winners = list(Entry.objects.filter(event=event).values_list("pk", "prize_id", "prize_rank"))

    by_staff = client_for(staff).post(f"/api/v1/events/{event.public_id}/draw")
    assert by_staff.status_code == 403
    by_creator = client_for(creator).post(f"/api/v1/events/{event.public_id}/draw")
    assert by_creator.status_code == 409 and by_creator.json()["code"] == 40902
    assert services.event_draw(event_id=event.pk, now=event.draw_at + timedelta(days=1)) is False

    assert list(Entry.objects.filter(event=event).values_list("pk", "prize_id", "prize_rank")) == (
        winners
    )
    assert EventLog.objects.filter(event=event, action="draw").count() == 1


def test_count_mode_refuses_the_join_after_the_target_and_draws_exactly_the_target():
    event = make_event(draw_mode="count", target_participants=2, entrants=2)
    with pytest.raises(Exception, match="event_locked|40901"):
        entry_join(event=event, user=UserFactory(), now=START)
    run_sweeper_at(START + timedelta(seconds=5))
    event.refresh_from_db()
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    assert (event.entrant_count, event.entrants_digest) == allocator.entrants_digest(keys)
    assert event.status == Event.Status.OPENED


def test_manual_event_not_drawn_early_is_drawn_at_its_draw_time():
    event = make_event(draw_mode="manual", entrants=2)
    run_sweeper_at(event.lock_at)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING
    run_sweeper_at(event.draw_at)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED


# --- properties of the draw as stored -------------------------------------------------------


@hypothesis.settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    entrants=st.integers(min_value=0, max_value=12),
    quantities=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=4),
)
def test_any_stored_draw_gives_distinct_entrants_min_k_n_prizes_in_tier_order(entrants, quantities):
    prizes = tuple((f"奖品{tier}", quantity) for tier, quantity in enumerate(quantities))
    event = make_event(entrants=entrants, prizes=prizes)
    run_sweeper_at(event.draw_at)
    event.refresh_from_db()
    won = list(
        Entry.objects.filter(event=event, prize__isnull=False)
        .order_by("prize_rank")
        .values_list("user_id", "user_key", "prize__position")
    )
    everyone = set(Entry.objects.filter(event=event).values_list("user_id", flat=True))
    assert event.status == Event.Status.OPENED
    assert len(won) == min(sum(quantities), entrants)
    assert len({user for user, _, _ in won}) == len(won) and {u for u, _, _ in won} <= everyone
    units = [tier for tier, quantity in enumerate(quantities) for _ in range(quantity)]
    assert [tier for _, _, tier in won] == units[: len(won)]
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    allocation = allocator.allocate(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=event.entrant_count,
        prizes=list(event.prizes.order_by("position").values_list("public_id", "quantity")),
        algorithm=event.fairness_algorithm,
        prizes_digest=event.prizes_digest,
        beacon_randomness=None,  # no beacon configured in tests
    )
    assert [key for _, key, _ in won] == [keys[position] for position, _ in allocation.awards]


@pytest.mark.parametrize("accept", ["text/plain", "text/plain; charset=utf-8", "*/*", "text/*"])
def test_entrant_list_answers_the_text_plain_it_declares(api, accept):
    event = make_event(entrants=3)
    run_sweeper_at(event.lock_at)

    response = api.get(f"/api/v1/events/{event.public_id}/entrants", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert len(b"".join(response.streaming_content).splitlines()) == 3


@pytest.mark.parametrize("accept", ["text/plain", "application/json"])
def test_entrant_list_refusal_is_the_json_envelope_whatever_was_accepted(api, accept):
    event = make_event(entrants=3)

    response = api.get(f"/api/v1/events/{event.public_id}/entrants", HTTP_ACCEPT=accept)

    assert response.status_code == 409 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == 40906


def test_entrant_list_in_a_format_it_does_not_offer_is_a_406(api):
    event = make_event(entrants=1)
    run_sweeper_at(event.lock_at)

    response = api.get(f"/api/v1/events/{event.public_id}/entrants", HTTP_ACCEPT="image/png")

    assert response.status_code == 406 and response.json()["code"] == 40600
