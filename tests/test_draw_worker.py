"""The draw against real workers and real concurrency (MariaDB + Redis)."""

import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from draws import allocator, services, substitutions, tasks
from events.models import Claim, Entry, Event, EventLog, Substitution
from events.services.entries import entry_join
from events.services.events import event_cancel, event_create
from lottery_site.celery import app
from lottery_site.errors import ApplicationError
from tests.factories import UserFactory
from tests.live import wait_for

pytestmark = [pytest.mark.mysql, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parent.parent


def overdue_event(*, entrants: int, prizes=(("一等奖", 3), ("二等奖", 20))):
    """An event whose lock and draw times are already in the past, with its entrants."""
    past = timezone.now() - timedelta(hours=2)
    event = event_create(
        creator=UserFactory(),
        title="过期未开奖",
        draw_at=past + timedelta(hours=1),
        prizes=[{"name": name, "quantity": quantity} for name, quantity in prizes],
        now=past,
    )
    for user in UserFactory.create_batch(entrants):
        entry_join(event=event, user=user, now=past)
    return event


def worker_env() -> dict:
    database = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="lottery_site.test_settings",
        CELERY_TASK_ALWAYS_EAGER="0",
        DATABASE_URL=(
            f"mysql://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}"
            f":{database['PORT'] or 3306}/{database['NAME']}"
        ),
    )
    return env


def start_worker(queue: str, *, module: str, extra_env: dict | None = None) -> subprocess.Popen:
    args = [sys.executable, "-m", module]
    args += ["-A", "lottery_site", "worker"] if module == "celery" else []
    args += ["-Q", queue, "--concurrency", "1", "--loglevel", "WARNING"]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(
        args, cwd=REPO, env={**worker_env(), **(extra_env or {})}, start_new_session=True
    )


def stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    worker.wait(timeout=30)


def at_once(call, *, times: int = 2) -> tuple[list, list[Exception]]:
    """Run ``call`` in ``times`` threads released together; what they returned, what they raised."""
    results, errors, barrier = [], [], threading.Barrier(times)

    def run():
        try:
            barrier.wait()
            results.append(call())
        except Exception as error:  # noqa: BLE001 - returned to the test's assertion
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def two_sweeps_at_once() -> list[Exception]:
    """Run the sweeper in two threads released together; what either raised."""
    return at_once(tasks.sweep)[1]


def status_of(event) -> int:
    return Event.objects.values_list("status", flat=True).get(pk=event.pk)


def expected_winners(event) -> list[tuple[int, str]]:
    event.refresh_from_db()
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    prizes = list(event.prizes.order_by("position").values_list("public_id", "quantity"))
    allocation = allocator.allocate(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=event.entrant_count,
        prizes=prizes,
        algorithm=event.fairness_algorithm,
        prizes_digest=event.prizes_digest,
        beacon_randomness=bytes.fromhex(event.beacon["randomness"]) if event.beacon else None,
    )
    return [(keys[position], prize_id) for position, prize_id in allocation.awards]


def actual_winners(event) -> list[tuple[str, str]]:
    return list(
        Entry.objects.filter(event=event, prize__isnull=False)
        .order_by("prize_rank")
        .values_list("user_key", "prize__public_id")
    )


def test_worker_killed_mid_draw_leaves_nothing_and_a_new_worker_draws_exactly_once(tmp_path):
    event = overdue_event(entrants=60)
    queue = f"test-crash-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "mid-draw"
    crashing = start_worker(
        queue, module="tests.crashing_worker", extra_env={"CRASH_MARKER": str(marker)}
    )
    try:
        app.send_task("draws.tasks.lock_event", args=[event.pk], queue=queue)
        wait_for(marker.exists, timeout=60, what="the worker to be half-way through the draw")
        assert status_of(event) == Event.Status.OPENING  # nothing of the draw is committed
    finally:
        stop(crashing, signal.SIGKILL)

    assert status_of(event) == Event.Status.OPENING
    assert not Entry.objects.filter(event=event, prize__isnull=False).exists()

    worker = start_worker(queue, module="celery")
    try:
        app.send_task("draws.tasks.sweep", queue=queue)  # what beat does every few seconds
        wait_for(lambda: status_of(event) == Event.Status.OPENED, timeout=60, what="the draw")
    finally:
        stop(worker)

    assert actual_winners(event) == expected_winners(event)
    assert len(actual_winners(event)) == 23
    assert EventLog.objects.filter(event=event, action="draw").count() == 1


def test_two_sweepers_at_once_draw_once():
    event = overdue_event(entrants=40)
    services.event_lock(event_id=event.pk, now=timezone.now())
    results, errors = at_once(
        lambda: services.event_draw(event_id=event.pk, now=timezone.now()), times=4
    )

    assert errors == []
    assert sorted(results) == [False, False, False, True]
    assert actual_winners(event) == expected_winners(event)
    assert EventLog.objects.filter(event=event, action="draw").count() == 1


def test_two_sweepers_running_at_once_lock_once_and_draw_once():
    """What two beat processes would do: both sweep the same overdue event at the same moment."""
    event = overdue_event(entrants=40)

    assert two_sweeps_at_once() == []  # eager: each sweep runs its lock and draw tasks inline
    assert status_of(event) == Event.Status.OPENED
    assert actual_winners(event) == expected_winners(event)
    assert EventLog.objects.filter(event=event, action="lock").count() == 1
    assert EventLog.objects.filter(event=event, action="draw").count() == 1


def race_against_staff_cancel(event, staff, transition) -> dict[str, bool]:
    """Run ``transition(event_id=..., now=...)`` and a staff cancel at the same instant."""
    outcomes, barrier = {}, threading.Barrier(2)

    def move():
        barrier.wait()
        outcomes["move"] = transition(event_id=event.pk, now=timezone.now())
        connections.close_all()

    def cancel():
        barrier.wait()
        try:
            event_cancel(
                event=Event.objects.get(pk=event.pk),
                actor=staff,
                reason="abuse",
                now=timezone.now(),
                by_staff=True,
            )
            outcomes["cancel"] = True
        except ApplicationError:  # lost the race: a refusal is the right answer
            outcomes["cancel"] = False
        connections.close_all()

    threads = [threading.Thread(target=move), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def logged_actions(event) -> list[str]:
    return list(
        EventLog.objects.filter(event=event, action__in=["lock", "draw", "cancel"])
        .order_by("pk")
        .values_list("action", flat=True)
    )


def settle(event) -> bool:
    """The draw's step once the reveal gap has passed: draws it, or settles an asked cancel."""
    event.refresh_from_db()
    gap = timedelta(seconds=event.reveal_gap_seconds or 0)
    return services.event_draw(event_id=event.pk, now=max(timezone.now(), event.locked_at + gap))


def would_be(event) -> list[str]:
    event.refresh_from_db()
    return event.would_be_winners or []


def expected_keys(event) -> list[str]:
    return [key for key, _ in expected_winners(event)]


def test_lock_and_cancel_racing_end_in_exactly_one_state():
    from tests.factories import StaffFactory

    staff = StaffFactory()
    for _ in range(5):
        event = overdue_event(entrants=3)
        outcomes = race_against_staff_cancel(event, staff, services.event_lock)
        # Past its lock time the list is final: whichever comes first, the cancel is only
        # recorded (v3), the lock happens once, and the draw's step settles the cancel.
        assert outcomes == {"move": True, "cancel": True}
        assert status_of(event) == Event.Status.OPENING
        assert logged_actions(event) == ["lock"]
        assert settle(event)
        assert status_of(event) == Event.Status.CANCELED
        assert logged_actions(event) == ["lock", "cancel"]
        assert actual_winners(event) == [] and would_be(event) == expected_keys(event)


def test_draw_and_cancel_racing_end_drawn_with_winners_or_canceled_without():
    from tests.factories import StaffFactory

    staff = StaffFactory()
    for _ in range(5):
        event = overdue_event(entrants=5)
        services.event_lock(event_id=event.pk, now=timezone.now())
        outcomes = race_against_staff_cancel(event, staff, services.event_draw)
        assert outcomes["move"] is True  # the draw's step settles it either way
        if outcomes["cancel"]:  # asked first: settled as a cancel, the outcome published
            assert status_of(event) == Event.Status.CANCELED
            assert actual_winners(event) == []
            assert would_be(event) == expected_keys(event)
            assert logged_actions(event) == ["lock", "cancel"]
        else:  # drawn first: the cancel was refused
            assert status_of(event) == Event.Status.OPENED
            assert actual_winners(event) == expected_winners(event)
            assert logged_actions(event) == ["lock", "draw"]


# --- expiry: a claim window passing unclaimed hands the prize to the next alternate ---------


def drawn_with_expired_claims(*, entrants: int):
    """An overdue event, locked and drawn now, whose claim window (contact delivery) has passed.

    The draw time is moved back after the draw, as if it had happened ten days ago: the
    services take ``now`` and the sweeper reads the real clock.
    """
    event = overdue_event(entrants=entrants, prizes=(("一等奖", 1), ("二等奖", 2)))
    services.event_lock(event_id=event.pk, now=timezone.now())
    assert services.event_draw(event_id=event.pk, now=timezone.now())
    Event.objects.filter(pk=event.pk).update(
        delivery=Event.Delivery.CONTACT, drawn_at=timezone.now() - timedelta(days=10)
    )
    event.refresh_from_db()
    return event


def expected_after_expiry(event) -> list[str]:
    """The three alternates (v3, no beacon configured: drawn at once), whatever unit each got.

    Substitution n draws among those who never held a unit, from its own stream; the set of
    the three does not depend on which unit the sweeper handled first.
    """
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    held = [
        position
        for position, _ in allocator.allocate(
            seed=bytes(event.seed),
            entrants_digest=event.entrants_digest,
            entrant_count=event.entrant_count,
            prizes=[("p1", 1), ("p2", 2)],
            **substitutions.stream_inputs(event),
        ).awards
    ]
    for number in (1, 2, 3):
        held.append(
            allocator.alternate_pick(
                seed=bytes(event.seed),
                entrants_digest=event.entrants_digest,
                prizes_digest=event.prizes_digest,
                beacon_randomness=None,
                number=number,
                entrant_count=event.entrant_count,
                excluded=held,
            )
        )
    return sorted(keys[position] for position in held[3:])


def holders(event) -> list[str]:
    return sorted(
        Entry.objects.filter(event=event, prize__isnull=False).values_list("user_key", flat=True)
    )


def test_two_sweepers_at_once_pass_each_expired_prize_on_once():
    event = drawn_with_expired_claims(entrants=20)

    assert two_sweeps_at_once() == []  # eager: each sweep runs its expiry tasks inline
    assert Substitution.objects.filter(event=event).count() == 3
    assert not Substitution.objects.filter(event=event, pending=True).exists()
    positions = Substitution.objects.filter(event=event).values_list(
        "replacement_position", flat=True
    )
    assert len(set(positions)) == 3
    assert holders(event) == expected_after_expiry(event)
    assert EventLog.objects.filter(event=event, action="substitute").count() == 3


def test_worker_killed_mid_substitution_leaves_nothing_and_the_next_sweep_does_it_once(tmp_path):
    event = drawn_with_expired_claims(entrants=12)
    substitutions.claims_open_expired(now=timezone.now())
    before = holders(event)
    claim_id = Claim.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)[0]
    queue = f"test-crash-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "mid-substitution"
    crashing = start_worker(
        queue,
        module="tests.crashing_worker",
        extra_env={"CRASH_MARKER": str(marker), "CRASH_IN": "substitution"},
    )
    try:
        app.send_task("draws.tasks.expire_claim", args=[claim_id], queue=queue)
        wait_for(marker.exists, timeout=60, what="the worker to be half-way through")
    finally:
        stop(crashing, signal.SIGKILL)

    assert holders(event) == before  # nothing of the substitution is committed
    assert not Substitution.objects.filter(event=event).exists()
    assert set(Claim.objects.filter(event=event).values_list("status", flat=True)) == {"unclaimed"}

    worker = start_worker(queue, module="celery")
    try:
        app.send_task("draws.tasks.sweep", queue=queue)
        wait_for(
            lambda: Substitution.objects.filter(event=event).count() == 3,
            timeout=60,
            what="the expiry",
        )
    finally:
        stop(worker)

    assert holders(event) == expected_after_expiry(event)
    assert EventLog.objects.filter(event=event, action="substitute").count() == 3
