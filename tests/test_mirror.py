"""The Redis mirror of open events (events.mirror): the event detail of an INIT event read
without a query, right at once after the viewer's own join or withdrawal and after every change
of the event, and dropped within two checks when it missed a change, whatever the cause.

Real commits (transactional_db): the mirror follows each change on its commit.
"""

import threading
import time

import pytest
import redis
from django.db import connection
from django.utils import timezone

from accounts.models import User
from draws import services as draw_services
from events import mirror
from events.models import Entry, Event
from events.services.entries import entry_join, entry_leave
from lottery_site import redis_breaker
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory
from tests.private_redis import PrivateRedis, redis_cache

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def url(event, suffix=""):
    return f"/api/v1/events/{event.public_id}{suffix}"


def detail(user, event) -> dict:
    """The event as ``user`` reads it (``user``: a user, or a client made for one)."""
    client = client_for(user) if isinstance(user, User) else user
    response = client.get(url(event))
    assert response.status_code == 200, response.content
    return response.json()["data"]


def mirrored(event) -> dict:
    """What the mirror holds for ``event`` (empty: none)."""
    return redis_breaker.client().hgetall(mirror._hash_key(event.pk))  # noqa: SLF001


@pytest.fixture
def event(creator):
    return EventFactory(creator=creator)


def test_the_detail_of_an_open_event_is_read_without_a_query_once_mirrored(
    event, entrant, outsider, django_assert_num_queries
):
    entry_join(event=event, user=entrant, now=timezone.now())
    detail(outsider, event)  # the first read finds no mirror: the database, and it builds one
    assert mirrored(event)[b"_n"] == b"1"
    entrant, outsider = client_for(entrant), client_for(outsider)
    detail(entrant, event)  # the entrant's first request loads their account
    with django_assert_num_queries(0):
        mine = detail(entrant, event)
    with django_assert_num_queries(0):
        theirs = detail(outsider, event)
    assert mine["participant_count"] == theirs["participant_count"] == 1
    assert mine["my_entry"]["joined"] is True and theirs["my_entry"]["joined"] is False


def test_an_entrant_sees_their_own_join_and_withdrawal_at_once(event, entrant, outsider):
    detail(outsider, event)  # mirrored
    joined = client_for(entrant).post(url(event, "/entry")).json()["data"]
    mine = detail(entrant, event)
    assert mine["my_entry"]["joined"] is True
    assert mine["my_entry"]["joined_at"] == joined["joined_at"]
    assert mine["participant_count"] == 1

    assert client_for(entrant).delete(url(event, "/entry")).status_code == 200
    mine = detail(entrant, event)
    assert mine["my_entry"]["joined"] is False and mine["participant_count"] == 0
    assert detail(outsider, event)["participant_count"] == 0


def test_the_detail_shows_the_creators_edit_and_cancel_at_once(event, creator, entrant):
    detail(entrant, event)  # mirrored
    edited = client_for(creator).patch(url(event), {"title": "新标题"}, format="json")
    assert edited.status_code == 200 and edited.json()["data"]["title"] == "新标题"
    assert detail(entrant, event)["title"] == "新标题"

    detail(entrant, event)  # mirrored again
    assert client_for(creator).post(url(event, "/cancel")).status_code == 200
    assert detail(entrant, event)["status"] == "canceled"
    assert not mirrored(event)


def test_a_locked_and_drawn_event_is_read_from_the_database(event, entrant, outsider):
    entry_join(event=event, user=entrant, now=timezone.now())
    detail(outsider, event)  # mirrored
    event.refresh_from_db()
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert not mirrored(event)
    assert detail(entrant, event)["status"] == "opening"
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    after = detail(entrant, event)
    assert after["status"] == "opened" and after["my_entry"]["prize"] is not None
    assert not mirrored(event)  # never built again for an event past INIT


def test_a_join_the_mirror_missed_shows_within_two_checks(event, entrant, outsider, settings):
    """Redis unreachable for the join's record (as for a process killed after its commit)."""
    settings.EVENT_MIRROR_CHECK_SECONDS = 0  # every read checks
    detail(outsider, event)  # mirrored
    redis_breaker.trip(ConnectionError("test: Redis unreachable"))
    assert client_for(entrant).post(url(event, "/entry")).status_code == 201
    redis_breaker.reset()
    assert Entry.objects.filter(event=event, user=entrant).exists()

    detail(outsider, event)  # a first check notes the missing change (it may still be late)
    assert detail(entrant, event)["my_entry"]["joined"] is True  # the second drops the mirror
    assert detail(entrant, event)["participant_count"] == 1
    assert mirrored(event)[b"_n"] == b"1"  # rebuilt from the database


def test_an_edit_written_around_the_services_shows_within_one_check(event, entrant, settings):
    settings.EVENT_MIRROR_CHECK_SECONDS = 0
    detail(entrant, event)  # mirrored
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELED)  # a shell
    assert detail(entrant, event)["status"] == "canceled"


def test_one_users_changes_recorded_out_of_order_leave_the_later_one(event, entrant, outsider):
    detail(outsider, event)  # mirrored, at change 0
    at = timezone.now().replace(microsecond=0)
    mirror.record(event_pk=event.pk, user_pk=entrant.pk, seq=2, joined_at=None)  # withdrawal
    mirror.record(event_pk=event.pk, user_pk=entrant.pk, seq=1, joined_at=at)  # its join, late
    assert mirror.read(event_pk=event.pk, user_pk=entrant.pk)[1:] == (0, None)
    mirror.record(event_pk=event.pk, user_pk=entrant.pk, seq=3, joined_at=at)  # joins again
    assert mirror.read(event_pk=event.pk, user_pk=entrant.pk)[1:] == (1, at)


def test_records_at_or_below_the_mirrors_own_change_number_are_already_in_it(event, outsider):
    first, second = UserFactory(), UserFactory()
    entry_join(event=event, user=first, now=timezone.now())
    entry_leave(event=event, user=first, now=timezone.now())
    entry_join(event=event, user=second, now=timezone.now())
    detail(outsider, event)  # built at change 3
    at = timezone.now()
    mirror.record(event_pk=event.pk, user_pk=first.pk, seq=1, joined_at=at)  # a very late one
    assert mirror.read(event_pk=event.pk, user_pk=first.pk)[1:] == (1, None)


def test_joins_and_reads_racing_the_build_leave_the_mirror_equal_to_the_database(event, outsider):
    users = UserFactory.create_batch(40)
    for user in users[:10]:
        entry_join(event=event, user=user, now=timezone.now())
    errors: list[BaseException] = []

    def joining(batch):
        try:
            for user in batch:
                entry_join(event=event, user=user, now=timezone.now())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def reading():
        try:
            for _ in range(30):
                mirror.forget(event.pk)  # and again: every read may build
                detail(outsider, event)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=joining, args=(users[n::3],)) for n in range(10, 13)]
    threads += [threading.Thread(target=reading) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    detail(outsider, event)  # the mirror the race left, or one built now
    for user in users:
        assert detail(user, event)["my_entry"]["joined"] is True
    event.refresh_from_db()
    assert event.participant_count == 40 == event.entry_seq
    assert detail(outsider, event)["participant_count"] == 40


def test_without_redis_the_detail_reads_the_database(event, entrant, django_assert_num_queries):
    entry_join(event=event, user=entrant, now=timezone.now())
    entrant = client_for(entrant)
    detail(entrant, event)  # the account loaded, the public part rendered, the mirror built
    redis_breaker.trip(ConnectionError("test: Redis unreachable"))
    with django_assert_num_queries(1):
        assert detail(entrant, event)["my_entry"]["joined"] is True


def test_a_redis_that_forgot_its_scripts_still_takes_the_record(event, entrant, outsider):
    detail(outsider, event)  # mirrored
    redis_breaker.client().script_flush()  # as after a Redis restart
    entry_join(event=event, user=entrant, now=timezone.now())
    assert detail(entrant, event)["my_entry"]["joined"] is True
    assert mirrored(event)[b"_n"] == b"1"


def test_a_join_lost_past_the_end_of_the_bitmap_shows_within_two_checks(event, outsider, settings):
    """Redis pauses its writes (``CLIENT PAUSE WRITE``, as during a failover) while a join
    commits: the joiner gets 201, the join's record is lost. Its change number lies past the
    last byte of the mirror's bitmap, where BITPOS, which clamps its range to the bitmap's
    length, never looks: the check must find it all the same, and the joiner read "joined"
    within two check periods, from then on."""
    with PrivateRedis() as server:  # the pause stops every writer of a server: ours alone
        settings.CACHES = redis_cache(server.url())
        settings.EVENT_MIRROR_CHECK_SECONDS = 0.5
        for user in UserFactory.create_batch(7):
            entry_join(event=event, user=user, now=timezone.now())
        detail(outsider, event)  # mirrored at change 7: a bitmap of one byte (changes 0-7)
        assert mirrored(event)[b"_n"] == b"7"

        joiner = client_for(UserFactory())
        redis.Redis(port=server.port).execute_command("CLIENT", "PAUSE", 1500, "WRITE")
        paused_at = time.monotonic()
        assert joiner.post(url(event, "/entry")).status_code == 201  # change 8
        time.sleep(max(0.0, paused_at + 1.6 - time.monotonic()))
        redis_breaker.reset()  # as any process whose breaker did not trip reads it

        started, reads = time.monotonic(), []
        while time.monotonic() < started + 3 * settings.EVENT_MIRROR_CHECK_SECONDS:
            reads.append((time.monotonic() - started, detail(joiner, event)["my_entry"]["joined"]))
            time.sleep(0.05)
    first = next((at for at, joined in reads if joined), None)
    assert first is not None, "the lost join never showed"
    assert first <= 2 * settings.EVENT_MIRROR_CHECK_SECONDS + 0.2, reads
    assert all(joined for at, joined in reads if at >= first), reads
