"""Joins under load, against the real MariaDB and Redis (issue #3, "correctness under load").

Real HTTP through ``live_server``: every request is served on its own server thread with its own
database connection, as gunicorn workers would be. Nothing is mocked.
"""

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from accounts.services import tokens_for
from draws import allocator
from draws import services as draw_services
from events.models import Entry, Event
from events.services.entries import entry_join, entry_leave
from events.services.events import event_cancel
from lottery_site.errors import ApplicationError
from tests.factories import EventFactory, UserFactory

pytestmark = [
    pytest.mark.mysql,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

CLIENT_THREADS = 30  # well below MariaDB's default max_connections (151), shared with others


def post_joins_all_at_once(live_server, event, users, *, copies):
    """Each user sends ``copies`` join requests at the same moment; returns [(user, status)]."""
    endpoint = f"{live_server.url}/api/v1/events/{event.public_id}/entry"
    headers = {user.pk: {"Authorization": f"Bearer {tokens_for(user)['access']}"} for user in users}
    barriers = {user.pk: threading.Barrier(copies, timeout=30) for user in users}

    def send(user):
        barriers[user.pk].wait()  # the user's copies leave together: a double tap, tripled
        response = requests.post(endpoint, headers=headers[user.pk], timeout=30)
        return user, response.status_code, response.json()["code"]

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        futures = [pool.submit(send, user) for user in users for _ in range(copies)]
        return [future.result() for future in futures]


def test_300_concurrent_joins_from_100_users_make_exactly_100_entries(live_server):
    event = EventFactory()
    users = UserFactory.create_batch(100)

    results = post_joins_all_at_once(live_server, event, users, copies=3)

    assert len(results) == 300
    statuses = Counter(status for _, status, _ in results)
    assert set(statuses) <= {200, 201}, statuses
    assert statuses == {201: 100, 200: 200}
    created_per_user = Counter(user.pk for user, status, _ in results if status == 201)
    assert set(created_per_user.values()) == {1} and len(created_per_user) == 100
    event.refresh_from_db()
    assert event.participant_count == 100
    assert Entry.objects.filter(event=event).count() == 100
    assert Entry.objects.filter(event=event).values("user").distinct().count() == 100


def test_concurrent_joins_on_a_count_target_admit_exactly_the_target(live_server):
    event = EventFactory(draw_mode="count", target_participants=30)
    users = UserFactory.create_batch(60)

    results = post_joins_all_at_once(live_server, event, users, copies=2)

    outcomes = Counter((status, code) for _, status, code in results)
    assert set(outcomes) <= {(201, 0), (200, 0), (409, 40901)}, outcomes
    assert outcomes[(201, 0)] == 30
    event.refresh_from_db()
    assert event.status == Event.Status.INIT and event.lock_at <= timezone.now()  # for the sweeper
    assert event.participant_count == 30 == Entry.objects.filter(event=event).count()


def test_joins_racing_the_lock_never_leave_an_entry_at_or_after_the_lock_time():
    users = UserFactory.create_batch(800)
    # Created "earlier" so that its lock time falls 1.5 s from now, through the one write path.
    lock_at = timezone.now() + timedelta(seconds=1.5)
    draw_at = lock_at + timedelta(seconds=settings.LOTTERY_LOCK_LEAD_SECONDS)
    event = EventFactory(
        draw_at=draw_at, now=draw_at - timedelta(seconds=settings.LOTTERY_MIN_DRAW_LEAD_SECONDS)
    )
    assert event.lock_at == lock_at
    queue = iter(users)
    queue_lock = threading.Lock()
    stop_at = lock_at + timedelta(milliseconds=300)
    outcomes: list[tuple[bool | str, object]] = []
    locked_at: list = []

    def joiner():
        try:
            while timezone.now() < stop_at:
                with queue_lock:
                    user = next(queue, None)
                if user is None:
                    return
                # A request's clock is read when it arrives; the database work can come later (a
                # busy worker, a GC pause). Joins stamped just before the lock reach the
                # database just after it, where only the row lock keeps them out of the freeze.
                now = timezone.now() - timedelta(milliseconds=random.uniform(0, 50))
                try:
                    _, created = entry_join(event=event, user=user, now=now)
                    outcomes.append((created, now))
                except ApplicationError as refusal:
                    outcomes.append((refusal.name, now))
                except DatabaseError as error:  # a deadlock: a 500 in the making
                    outcomes.append((repr(error), now))
                # Pace the approach; race flat out around the lock. Flat out from 300 ms before
                # it, a fast machine used up all 800 entrants before the lock came.
                if now < lock_at - timedelta(milliseconds=100):
                    time.sleep(0.05)
        finally:
            connections.close_all()

    def locker():
        try:
            while timezone.now() < lock_at:
                time.sleep(0.001)
            while not draw_services.event_lock(event_id=event.pk, now=timezone.now()):
                time.sleep(0.001)
            locked_at.append(timezone.now())
        except DatabaseError as error:
            locked_at.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=joiner) for _ in range(8)]
    threads.append(threading.Thread(target=locker))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert len(locked_at) == 1 and not isinstance(locked_at[0], str), locked_at
    kinds = Counter(kind for kind, _ in outcomes)
    assert set(kinds) <= {True, "event_locked"}, kinds
    assert kinds[True] > 0 and kinds["event_locked"] > 0  # the race really crossed the lock
    assert all(now < lock_at for kind, now in outcomes if kind is True)
    assert not Entry.objects.filter(event=event, created_at__gte=lock_at).exists()

    event.refresh_from_db()
    entries = Entry.objects.filter(event=event)
    assert event.status == Event.Status.OPENING
    assert event.entrant_count == entries.count() == event.participant_count == kinds[True]
    keys = sorted(entries.values_list("user_key", flat=True))
    assert (event.entrant_count, event.entrants_digest) == allocator.entrants_digest(keys)


def test_joins_racing_the_creators_cancel_are_either_counted_or_refused():
    users = UserFactory.create_batch(300)
    event = EventFactory()
    queue = iter(users)
    queue_lock = threading.Lock()
    outcomes: list = []
    canceled: list = []

    def joiner():
        try:
            while True:
                with queue_lock:
                    user = next(queue, None)
                if user is None:
                    return
                try:
                    _, created = entry_join(event=event, user=user, now=timezone.now())
                    outcomes.append(created)
                except ApplicationError as refusal:
                    outcomes.append(refusal.name)
                except DatabaseError as error:  # a deadlock: a 500 in the making
                    outcomes.append(repr(error))
        finally:
            connections.close_all()

    def canceler():
        try:
            while len(outcomes) < 50:
                time.sleep(0.001)
            event_cancel(event=event, actor=event.creator, now=timezone.now())
            canceled.append(True)
        except DatabaseError as error:
            canceled.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=joiner) for _ in range(8)]
    threads.append(threading.Thread(target=canceler))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert canceled == [True]
    kinds = Counter(outcomes)
    assert set(kinds) <= {True, "event_canceled"}, kinds
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELED
    assert event.participant_count == Entry.objects.filter(event=event).count() == kinds[True]


def test_withdrawals_racing_a_count_target_never_reopen_the_final_list():
    """Joins, withdrawals (some stamped a little early, as slow requests are) and the sweeper
    race around the target. Once reached, the list is final: a withdrawal that slipped in after
    it would leave the event locked below its target, with nobody able to take the place."""
    target = 40
    event = EventFactory(draw_mode="count", target_participants=target)
    early = UserFactory.create_batch(20)
    for user in early:
        entry_join(event=event, user=user, now=timezone.now())
    joiners = iter(UserFactory.create_batch(60))
    leavers = iter(early)
    queue_lock = threading.Lock()
    joins: list = []
    leaves: list = []
    locked: list = []

    def worker(queue, act, outcomes, pause, skew_ms):
        try:
            while True:
                with queue_lock:
                    user = next(queue, None)
                if user is None:
                    return
                now = timezone.now() - timedelta(milliseconds=random.uniform(0, skew_ms))
                try:
                    outcomes.append(act(user, now))
                except ApplicationError as refusal:
                    outcomes.append(refusal.name)
                except DatabaseError as error:  # a deadlock: a 500 in the making
                    outcomes.append(repr(error))
                time.sleep(pause)
        finally:
            connections.close_all()

    def join(user, now):
        return entry_join(event=event, user=user, now=now)[1]

    def leave(user, now):
        return entry_leave(event=event, user=user, now=now)

    def sweeper():
        try:
            while not draw_services.event_lock(event_id=event.pk, now=timezone.now()):
                time.sleep(0.005)
            locked.append(True)
        except DatabaseError as error:
            locked.append(repr(error))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(joiners, join, joins, 0, 20)) for _ in range(6)
    ]
    # Withdrawals paced to go on past the target, some stamped well before it.
    threads += [
        threading.Thread(target=worker, args=(leavers, leave, leaves, 0.005, 300)) for _ in range(2)
    ]
    threads.append(threading.Thread(target=sweeper))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert locked == [True]
    assert set(Counter(joins)) <= {True, "event_locked"}, Counter(joins)
    assert set(Counter(leaves)) <= {True, "event_locked"}, Counter(leaves)
    assert "event_locked" in joins  # more joiners than places: the target was reached
    event.refresh_from_db()
    entries = Entry.objects.filter(event=event)
    assert event.status == Event.Status.OPENING
    assert event.entrant_count == event.participant_count == entries.count() == target
    assert joins.count(True) - leaves.count(True) == target - len(early)
    keys = sorted(entries.values_list("user_key", flat=True))
    assert (event.entrant_count, event.entrants_digest) == allocator.entrants_digest(keys)


def test_a_join_outside_any_transaction_is_one_round_trip_and_leaves_nothing_when_refused():
    """The request path: begin, gate, insert and commit go to MariaDB as one batch, on the
    join's own connection (events/join_sql.py)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from events import join_sql

    joiner, latecomer = UserFactory.create_batch(2)
    event = EventFactory(target_participants=1, draw_mode=Event.DrawMode.COUNT)
    now = timezone.now()

    batch = join_sql.batch_connection()
    with CaptureQueriesContext(connection) as queries, CaptureQueriesContext(batch) as batched:
        entry, created = entry_join(event=event, user=joiner, now=now)
    assert created and entry.pk is not None
    assert len(batched) == 1 and batched[0]["sql"].startswith("START TRANSACTION;")
    assert len(queries) == 1  # the count mode's "target reached?" read

    # Joining again: the unique constraint refuses the row, the batch's count is rolled back.
    again, created = entry_join(event=event, user=joiner, now=now)
    assert (again.pk, created) == (entry.pk, False)
    # The target is reached: the gate refuses, nothing is written.
    with pytest.raises(ApplicationError) as refused:
        entry_join(event=event, user=latecomer, now=now)
    assert refused.value.name == "event_locked"

    event.refresh_from_db()
    assert event.participant_count == Entry.objects.filter(event=event).count() == 1
    with batch.cursor() as cursor:  # the connection is in autocommit, usable, no open batch
        cursor.execute("SELECT @@autocommit, @@in_transaction")
        assert cursor.fetchone() == (1, 0)


def test_only_the_joins_own_connection_may_send_several_statements_at_once():
    from django.db import connection

    from events import join_sql

    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT 1; SELECT 2")
    with join_sql.batch_connection().cursor() as cursor:
        cursor.execute("SELECT 1; SELECT 2")
        assert cursor.fetchone() == (1,) and cursor.nextset() and cursor.fetchone() == (2,)
