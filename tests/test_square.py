"""The public square (issue #14): public events still open for joining, by hot, soon or new.

Anonymous readers, the creator, an entrant and an outsider see the same square. What leaves it
(canceled, hidden, locked by the clock or the sweeper, drawn) leaves at once; the order comes
from each process's snapshot and the hourly join counts in Redis, which the square survives
without and rebuilds after.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import upload_create, user_deactivate, user_reactivate
from draws import services as draw_services
from events import moderation, square
from events.models import Event
from events.services.entries import entry_join, entry_leave
from events.services.events import event_cancel, event_update
from lottery_site import caches, redis_breaker
from lottery_site.pagination import sign_cursor
from lottery_site.throttling import PublicRateThrottle
from tests.conftest import client_for
from tests.factories import EventFactory, StaffFactory, UserFactory
from tests.pictures import picture
from tests.private_redis import PrivateRedis, redis_cache

pytestmark = pytest.mark.django_db

SQUARE = "/api/v1/square"


@pytest.fixture(autouse=True)
def _fresh_square(settings):
    settings.SQUARE_REFRESH_SECONDS = 0  # re-sort on every request: what a test set up shows
    caches.reset_all()
    yield
    caches.reset_all()


def public_event(**kwargs) -> Event:
    return EventFactory(visibility=Event.Visibility.PUBLIC, **kwargs)


def listed(client=None, **query) -> list[str]:
    response = (client or APIClient()).get(SQUARE, query)
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["data"]["results"]]


def join(event: Event, n: int = 1, *, at=None) -> None:
    for _ in range(n):
        entry_join(event=event, user=UserFactory(), now=at or timezone.now())


# --- who sees what -----------------------------------------------------------------------------


def test_anyone_sees_public_events_and_never_unlisted_ones(creator, entrant, outsider):
    shown = public_event(creator=creator)
    EventFactory(creator=creator)  # unlisted: only who has the link

    for client in (APIClient(), client_for(creator), client_for(entrant), client_for(outsider)):
        assert listed(client) == [shown.public_id]


def test_an_expired_token_does_not_keep_anyone_off_the_square():
    shown = public_event()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert listed(client) == [shown.public_id]


def test_a_card_shows_title_cover_creator_prizes_times_and_counts(creator):
    cover = upload_create(
        owner=creator, purpose="cover", data=picture("PNG", (640, 360)), now=timezone.now()
    )
    event = public_event(creator=creator, cover=cover.public_id)
    join(event, 2)

    card = APIClient().get(SQUARE).json()["data"]["results"][0]

    assert card["id"] == event.public_id
    assert card["title"] == event.title
    assert card["cover"]["url"].startswith("http://testserver/")
    assert (card["cover"]["width"], card["cover"]["height"]) == (640, 360)
    assert card["creator"]["nickname"] == creator.nickname
    assert [(p["name"], p["quantity"]) for p in card["prizes"]] == [("一等奖", 1), ("二等奖", 2)]
    assert card["participant_count"] == 2
    assert card["draw_at"] and card["lock_at"] and card["created_at"]
    assert "openid" not in str(card) and "seed" not in card


def test_an_edit_of_the_title_shows_on_the_next_read(creator):
    event = public_event(creator=creator)
    listed()
    event_update(event=event, actor=creator, now=timezone.now(), title="改过的标题")

    card = APIClient().get(SQUARE).json()["data"]["results"][0]

    assert card["title"] == "改过的标题"


def test_making_an_event_public_or_unlisted_moves_it_on_or_off(creator):
    event = EventFactory(creator=creator)
    assert listed() == []

    event_update(event=event, actor=creator, now=timezone.now(), visibility="public")
    assert listed() == [event.public_id]

    event_update(event=event, actor=creator, now=timezone.now(), visibility="unlisted")
    assert listed() == []


# --- leaving at once ---------------------------------------------------------------------------


@pytest.fixture
def cached_square(settings):
    """The square of a process whose snapshot is not due for a re-sort for a long time."""
    settings.SQUARE_REFRESH_SECONDS = 3600
    return settings


def elsewhere() -> None:
    """What another process's commit hook does after a change: move the square's generation.

    (In a test the services' on_commit hooks do not run unless captured.)
    """
    redis_breaker.client().incr(square._generation_key())  # noqa: SLF001


@pytest.mark.redis  # another process's change reaches this one through Redis
def test_an_event_canceled_by_another_process_leaves_at_once_though_not_re_sorted_here(
    creator, cached_square
):
    event, other = public_event(creator=creator), public_event()
    assert set(listed()) == {event.public_id, other.public_id}

    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELED)
    elsewhere()

    assert listed() == [other.public_id]  # this process's snapshot still has it: checked


def test_a_change_that_bypassed_the_services_shows_within_the_refresh_period(
    cached_square, time_machine
):
    cached_square.SQUARE_REFRESH_SECONDS = 60
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    event = public_event(now=now)
    assert listed() == [event.public_id]

    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELED)  # no hook at all
    time_machine.move_to(now + timedelta(seconds=61), tick=False)

    assert listed() == []


@pytest.mark.redis
def test_without_redis_every_page_is_checked_in_the_database(cached_square, private_redis):
    event, other = public_event(), public_event()
    assert set(listed()) == {event.public_id, other.public_id}
    private_redis.stop()

    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELED)  # no hook at all

    assert listed() == [other.public_id]


def test_a_canceled_event_leaves_through_the_service(creator):
    event = public_event(creator=creator)
    event_cancel(event=event, actor=creator, now=timezone.now(), reason="奖品缺货")

    assert listed() == []


def test_a_hidden_event_leaves_at_once_and_comes_back_when_staff_restore_it(
    cached_square, django_capture_on_commit_callbacks
):
    event, staff = public_event(), StaffFactory()
    assert listed() == [event.public_id]

    with django_capture_on_commit_callbacks(execute=True):
        moderation.event_moderate(event=event, actor=staff, to="hidden", now=timezone.now())
    assert listed() == []

    with django_capture_on_commit_callbacks(execute=True):
        moderation.event_moderate(event=event, actor=staff, to="ok", now=timezone.now())
    assert listed() == [event.public_id]


def test_a_banned_creators_events_leave_at_once_and_come_back_when_unbanned(
    creator, cached_square, django_capture_on_commit_callbacks
):
    first, second, other = (
        public_event(creator=creator),
        public_event(creator=creator),
        public_event(),
    )
    staff = StaffFactory()
    assert set(listed()) == {first.public_id, second.public_id, other.public_id}

    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=creator, actor=staff, reason="刷单")
    assert listed() == [other.public_id]

    with django_capture_on_commit_callbacks(execute=True):
        user_reactivate(user=creator, actor=staff, reason="误封")
    assert set(listed()) == {first.public_id, second.public_id, other.public_id}


@pytest.mark.redis  # another process's change reaches this one through Redis
def test_a_creator_banned_through_another_process_leaves_at_once_though_not_re_sorted_here(
    creator, cached_square
):
    event, other = public_event(creator=creator), public_event()
    assert set(listed()) == {event.public_id, other.public_id}

    User.objects.filter(pk=creator.pk).update(is_active=False)
    elsewhere()

    assert listed() == [other.public_id]  # this process's snapshot still has it: checked


@pytest.mark.redis  # another process's change reaches this one through Redis
def test_an_event_under_review_or_with_unchecked_text_is_not_listed(cached_square):
    event, other = public_event(), public_event()
    listed()
    Event.objects.filter(pk=event.pk).update(moderation=Event.Moderation.REVIEW)
    Event.objects.filter(pk=other.pk).update(text_unchecked=True)
    elsewhere()

    assert listed() == []


def test_an_event_leaves_at_its_lock_time_before_the_sweeper_locks_it(time_machine):
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    event = public_event(now=now, draw_at=now + timedelta(minutes=10))
    assert listed() == [event.public_id]

    time_machine.move_to(event.lock_at, tick=False)

    assert listed() == []
    assert Event.objects.get(pk=event.pk).status == Event.Status.INIT  # no sweeper ran


def test_a_locked_and_then_drawn_event_is_not_listed(time_machine):
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    event = public_event(now=now, draw_at=now + timedelta(minutes=10))
    join(event)
    later = event.draw_at + timedelta(seconds=30)
    time_machine.move_to(later, tick=False)

    assert draw_services.event_lock(event_id=event.pk, now=later)
    assert listed() == []
    assert draw_services.event_draw(event_id=event.pk, now=later)
    assert listed() == []


def test_a_count_mode_event_leaves_when_its_target_locks_it(
    cached_square, django_capture_on_commit_callbacks
):
    event = public_event(draw_mode="count", target_participants=2)
    other = public_event()
    assert set(listed()) == {event.public_id, other.public_id}

    with django_capture_on_commit_callbacks(execute=True):
        join(event, 2)

    assert listed() == [other.public_id]


@pytest.mark.redis  # another process's change reaches this one through Redis
def test_a_page_of_events_that_left_is_filled_from_further_down(cached_square):
    now = timezone.now()
    events = [public_event(draw_at=now + timedelta(hours=1, minutes=n)) for n in range(12)]
    assert len(listed(sort="soon", page_size=4)) == 4
    Event.objects.filter(pk__in=[e.pk for e in events[:6]]).update(status=Event.Status.CANCELED)
    elsewhere()

    assert listed(sort="soon", page_size=4) == [e.public_id for e in events[6:10]]


# --- order and pages ---------------------------------------------------------------------------


def test_soon_lists_the_nearest_draw_first_and_new_the_newest_first(time_machine):
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    late = public_event(now=now, draw_at=now + timedelta(hours=5))
    time_machine.move_to(now + timedelta(minutes=1), tick=False)
    early = public_event(now=timezone.now(), draw_at=now + timedelta(hours=2))

    assert listed(sort="soon") == [early.public_id, late.public_id]
    assert listed(sort="new") == [early.public_id, late.public_id]
    time_machine.move_to(now + timedelta(minutes=2), tick=False)
    newest = public_event(now=timezone.now(), draw_at=now + timedelta(hours=9))
    assert listed(sort="new") == [newest.public_id, early.public_id, late.public_id]


def test_hot_lists_the_most_joined_in_the_window_first_and_a_join_changes_the_order(
    django_capture_on_commit_callbacks,
):
    now = timezone.now()
    first = public_event(draw_at=now + timedelta(hours=3))
    second = public_event(draw_at=now + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        join(first, 2)
        join(second, 1)
    assert listed(sort="hot") == [first.public_id, second.public_id]

    with django_capture_on_commit_callbacks(execute=True):
        join(second, 2)

    cards = APIClient().get(SQUARE, {"sort": "hot"}).json()["data"]["results"]
    assert [c["id"] for c in cards] == [second.public_id, first.public_id]
    assert [c["recent_joins"] for c in cards] == [3, 2]


def test_hot_counts_only_joins_in_the_window(time_machine, settings):
    settings.SQUARE_HOT_WINDOW_HOURS = 2
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    old_favourite = public_event(now=now, draw_at=now + timedelta(days=2))
    rising = public_event(now=now, draw_at=now + timedelta(days=2, hours=1))
    join(old_favourite, 3, at=now)
    time_machine.move_to(now + timedelta(hours=3), tick=False)
    join(rising, 1)

    assert listed(sort="hot") == [rising.public_id, old_favourite.public_id]


def test_ties_in_hot_go_to_the_sooner_draw():
    now = timezone.now()
    later = public_event(draw_at=now + timedelta(hours=3))
    sooner = public_event(draw_at=now + timedelta(hours=2))

    assert listed(sort="hot") == [sooner.public_id, later.public_id]


def test_a_withdrawal_counts_down_again(django_capture_on_commit_callbacks):
    now = timezone.now()
    first = public_event(draw_at=now + timedelta(hours=3))
    second = public_event(draw_at=now + timedelta(hours=2))
    leaver = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        join(first, 1)
        entry_join(event=first, user=leaver, now=now)
    assert listed(sort="hot") == [first.public_id, second.public_id]

    with django_capture_on_commit_callbacks(execute=True):
        entry_leave(event=first, user=leaver, now=timezone.now())
        join(second, 1)

    assert listed(sort="hot") == [second.public_id, first.public_id]


@pytest.mark.parametrize("sort", square.SORTS)
def test_pages_follow_each_other_without_duplicates_or_gaps(sort):
    now = timezone.now()
    events = [public_event(draw_at=now + timedelta(hours=1, minutes=n % 7)) for n in range(23)]
    client, seen, cursor = APIClient(), [], None
    while True:
        query = {"sort": sort, "page_size": 5, **({"cursor": cursor} if cursor else {})}
        data = client.get(SQUARE, query).json()["data"]
        seen += [item["id"] for item in data["results"]]
        cursor = data["next"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(e.public_id for e in events)
    assert len(seen) == len(set(seen)) == 23


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sort": "popular"}, "sort"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": ""}, "cursor"),  # not the first page: a cursor we did not issue
        ({"cursor": " "}, "cursor"),
        ({"cursor": sign_cursor(["soon", 1, 2])}, "cursor"),  # another sort's cursor
        ({"cursor": sign_cursor(["hot", "x", 1, 2])}, "cursor"),
        ({"sort": "new", "cursor": sign_cursor(["new", 1, 2])[:-2] + "xx"}, "cursor"),
    ],
)
def test_bad_queries_are_a_400_naming_the_field(query, field):
    client = APIClient()
    for _attempt in range(2):  # and again: only valid queries are remembered
        response = client.get(SQUARE, query)

        assert response.status_code == 400
        body = response.json()
        assert body["code"] == 40000
        assert field in body["data"]


def test_a_cursor_read_again_gives_the_same_page():
    now = timezone.now()
    for n in range(6):
        public_event(draw_at=now + timedelta(hours=1, minutes=n))
    client = APIClient()
    cursor = client.get(SQUARE, {"sort": "soon", "page_size": 3}).json()["data"]["next"]

    pages = [client.get(SQUARE, {"sort": "soon", "page_size": 3, "cursor": cursor}) for _ in "ab"]

    assert [p.status_code for p in pages] == [200, 200]
    assert pages[0].json()["data"] == pages[1].json()["data"]
    assert len(pages[0].json()["data"]["results"]) == 3


def test_the_square_is_throttled_per_client_address(monkeypatch):
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "2/min"})
    client = APIClient()

    codes = [client.get(SQUARE).status_code for _ in range(3)]

    assert codes == [200, 200, 429]


# --- without Redis, and after it returns ------------------------------------------------------


@pytest.fixture
def private_redis(settings):
    with PrivateRedis() as server:
        settings.CACHES = redis_cache(server.url())
        settings.REDIS_BREAKER_SECONDS = 0.05
        yield server
    caches.reset_all()


@pytest.mark.redis
def test_with_redis_down_the_square_answers_from_the_database(
    private_redis, django_capture_on_commit_callbacks
):
    now = timezone.now()
    quiet = public_event(draw_at=now + timedelta(hours=2))
    busy = public_event(draw_at=now + timedelta(hours=3))
    canceled = public_event()
    private_redis.stop()

    with django_capture_on_commit_callbacks(execute=True):
        join(busy, 2)  # the join succeeds; its count could not be pushed
    Event.objects.filter(pk=canceled.pk).update(status=Event.Status.CANCELED)

    assert listed(sort="hot") == [busy.public_id, quiet.public_id]
    assert listed(sort="soon") == [quiet.public_id, busy.public_id]


@pytest.mark.redis
def test_when_redis_returns_the_hot_counts_are_rebuilt_from_the_entries(
    private_redis, django_capture_on_commit_callbacks
):
    import time

    now = timezone.now()
    quiet = public_event(draw_at=now + timedelta(hours=2))
    busy = public_event(draw_at=now + timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        join(quiet, 1)
    assert listed(sort="hot") == [quiet.public_id, busy.public_id]  # counted through Redis

    private_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        join(busy, 3)  # not pushed: Redis is down
    private_redis.start()  # empty, as a replaced Redis comes back
    time.sleep(0.1)  # the breaker's period
    redis_breaker.reset()

    assert listed(sort="hot") == [busy.public_id, quiet.public_id]
    client = redis_breaker.client()  # the index itself, after the rebuild
    assert client.exists(square._built_key())  # noqa: SLF001
    with django_capture_on_commit_callbacks(execute=True):
        join(quiet, 3)
    assert listed(sort="hot") == [quiet.public_id, busy.public_id]  # counted through Redis again


@pytest.mark.redis  # another process's change reaches this one through Redis
def test_a_page_read_again_costs_no_query_until_something_leaves(
    cached_square, creator, django_assert_num_queries, django_capture_on_commit_callbacks
):
    event, other = public_event(creator=creator), public_event()
    listed()
    with django_assert_num_queries(0):
        assert set(listed()) == {event.public_id, other.public_id}

    with django_capture_on_commit_callbacks(execute=True):
        event_cancel(event=event, actor=creator, now=timezone.now())

    assert listed() == [other.public_id]


def test_a_page_carries_an_etag_and_is_a_304_while_unchanged(django_capture_on_commit_callbacks):
    event = public_event()
    client = APIClient()
    first = client.get(SQUARE)
    assert first["Cache-Control"] == "public, no-cache"

    again = client.get(SQUARE, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304

    with django_capture_on_commit_callbacks(execute=True):
        event_cancel(event=event, actor=event.creator, now=timezone.now())
    changed = client.get(SQUARE, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed.json()["data"]["results"] == []
