"""Issue 12 §0: every event transition has one owner, one log writer and one refusal map.

The state machine is ``events.transitions.TRANSITIONS`` (and the table in ``Event``'s docstring
and docs/api.md); these tests walk an event through it the way the app does and check that what
is logged and what is refused follow from that one place.
"""

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from draws import selectors as draw_selectors
from draws import services as draw_services
from draws import tasks
from events import claims, transitions
from events.models import Event, EventLog
from events.services.entries import entry_join, entry_leave
from events.services.events import event_cancel, event_update
from lottery_site.errors import ApplicationError
from tests.factories import EventFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + timedelta(days=1)
S = Event.Status
A = EventLog.Action


def make_event(**extra):
    return EventFactory(now=START, draw_at=START + timedelta(hours=1), **extra)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        tasks.sweep()


def history(event):
    return list(
        EventLog.objects.filter(event=event)
        .order_by("pk")
        .values_list("action", "from_status", "to_status")
    )


# --- the refusal map ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "allowed", "refusal"),
    [
        (S.INIT, {S.INIT}, None),
        (S.OPENING, {S.INIT}, "event_locked"),
        (S.OPENED, {S.INIT}, "event_drawn"),
        (S.CANCELED, {S.INIT}, "event_canceled"),
        (S.OPENING, {S.INIT, S.OPENING}, None),  # a staff cancel
        (S.OPENED, {S.INIT, S.OPENING}, "event_drawn"),
        (S.INIT, {S.OPENED}, "event_not_drawn"),  # a claim
        (S.OPENING, {S.OPENED}, "event_not_drawn"),
        (S.CANCELED, {S.OPENED}, "event_canceled"),
        (S.INIT, {S.OPENING, S.OPENED}, "event_not_locked"),
    ],
)
def test_a_refusal_is_named_after_the_status_and_what_the_request_needs(status, allowed, refusal):
    assert transitions.refusal(status, allowed) == refusal


def test_every_service_that_refuses_on_status_answers_from_the_one_map():
    creator, entrant, outsider = UserFactory.create_batch(3)
    canceled = make_event(creator=creator, draw_mode="manual")
    entry_join(event=canceled, user=entrant, now=START)
    event_cancel(event=canceled, actor=creator, now=START)
    canceled.refresh_from_db()
    attempts = {
        "join": lambda: entry_join(event=canceled, user=outsider, now=START),
        "leave": lambda: entry_leave(event=canceled, user=entrant, now=START),
        "edit": lambda: event_update(event=canceled, actor=creator, now=START, title="again"),
        "creator cancel": lambda: event_cancel(event=canceled, actor=creator, now=START),
        "staff cancel": lambda: event_cancel(
            event=canceled, actor=StaffFactory(), now=START, by_staff=True
        ),
        "manual draw": lambda: draw_services.event_draw_early(
            event=canceled, actor=creator, now=START
        ),
        "claim": lambda: claims.claim_submit(event=canceled, user=entrant, now=START, address=None),
    }
    answers = {}
    for name, attempt in attempts.items():
        with pytest.raises(ApplicationError) as refused:
            attempt()
        answers[name] = refused.value.name
    assert answers == dict.fromkeys(attempts, "event_canceled")


# --- the transition log ---------------------------------------------------------------------


def test_a_drawn_event_logs_exactly_the_transitions_of_the_table():
    event = make_event(draw_mode="count", target_participants=2)
    for user in UserFactory.create_batch(2):
        entry_join(event=event, user=user, now=START)
    sweep_at(START + timedelta(seconds=5))

    assert history(event) == [
        (A.CREATE, None, S.INIT),
        (A.LOCK, S.INIT, S.OPENING),
        (A.DRAW, S.OPENING, S.OPENED),
    ]
    for action, from_status, to_status in history(event):
        assert transitions.TRANSITIONS[(from_status, to_status)] == action


def test_a_staff_cancel_inside_the_lock_window_is_the_opening_to_canceled_transition():
    event = make_event()
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    event_cancel(
        event=event, actor=StaffFactory(), now=event.lock_at, reason="abuse", by_staff=True
    )
    assert history(event)[-1] == (A.UPDATE, None, None)  # asked: settled at the round
    settle_at = event.lock_at + timedelta(seconds=settings.LOTTERY_REVEAL_GAP_SECONDS)
    assert draw_services.event_draw(event_id=event.pk, now=settle_at)
    assert history(event)[-1] == (A.CANCEL, S.OPENING, S.CANCELED)


@pytest.mark.parametrize(
    ("action", "from_status", "to_status"),
    [
        ("locked", S.INIT, S.OPENING),  # not an action
        (A.DRAW, S.INIT, S.OPENED),  # not a transition
        (A.LOCK, S.OPENING, S.CANCELED),  # a transition, logged as another
        (A.CANCEL, None, None),  # a transition without its statuses
        (A.UPDATE, S.INIT, S.OPENING),  # an edit changes no status
    ],
)
def test_the_log_refuses_what_the_state_machine_does_not_have(action, from_status, to_status):
    event = make_event()
    with pytest.raises(ValueError):
        transitions.log(
            event.pk, action=action, from_status=from_status, to_status=to_status, now=START
        )


def test_log_actions_are_choices_staff_read_in_their_language():
    assert set(A.values) == {
        "create", "update", "lock", "draw", "cancel", "flag", "hide", "restore", "substitute"
    }  # fmt: skip
    assert EventLog(action=A.LOCK).get_action_display() == "已截止"  # the admin's language
    assert set(transitions.TRANSITIONS.values()) <= set(A.values)


def test_the_state_table_is_written_where_people_read_it():
    from pathlib import Path

    api = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    for (from_status, to_status), action in transitions.TRANSITIONS.items():
        row = (
            f"| `{Event.STATUS_NAMES[from_status] if from_status is not None else '—'}` "
            f"| `{Event.STATUS_NAMES[to_status]}` "
        )
        assert row in api, row
        assert f"({action})" in Event.__doc__


# --- count mode: the sweeper locks ------------------------------------------------------------


def test_a_count_target_is_locked_by_the_sweep_within_one_interval_and_only_then():
    event = make_event(draw_mode="count", target_participants=2)
    for user in UserFactory.create_batch(2):
        entry_join(event=event, user=user, now=START)
    event.refresh_from_db()
    assert event.status == S.INIT and not event.entrants_digest  # nothing published by a join
    assert draw_selectors.events_due_for_lock(now=START) == [event.pk]

    assert draw_services.event_lock(event_id=event.pk, now=START + timedelta(seconds=5))
    event.refresh_from_db()
    assert (event.status, event.entrant_count, event.lock_at) == (S.OPENING, 2, START)
    assert event.locked_at == START + timedelta(seconds=5)
    assert draw_selectors.events_due_for_draw(now=START + timedelta(seconds=5)) == [event.pk]


def test_a_count_target_not_locked_for_a_minute_is_overdue():
    event = make_event(draw_mode="count", target_participants=1)
    entry_join(event=event, user=UserFactory(), now=START)
    grace = tasks.OVERDUE_AFTER
    assert draw_selectors.overdue_counts(now=START + grace / 2, grace=grace)["lock"] == 0
    assert draw_selectors.overdue_counts(now=START + 2 * grace, grace=grace)["lock"] == 1


def test_a_count_event_below_its_target_is_left_to_its_lock_time():
    event = make_event(draw_mode="count", target_participants=3)
    entry_join(event=event, user=UserFactory(), now=START)
    assert draw_selectors.events_due_for_lock(now=START + timedelta(minutes=5)) == []
    event.refresh_from_db()
    assert event.lock_at == Event.scheduled_lock_at(event.draw_at)


def test_the_upgrade_hands_events_the_join_locked_without_a_digest_to_the_sweeper():
    """Before §0 the join reaching a target set OPENING itself and the next sweep published the
    digest. The migration puts such an event back to INIT for the sweeper's one lock."""
    event = make_event(draw_mode="count", target_participants=1)
    entry_join(event=event, user=UserFactory(), now=START)
    Event.objects.filter(pk=event.pk).update(status=S.OPENING)  # as the old join left it
    EventLog.objects.create(
        event=event, actor_kind="system", action=A.LOCK, from_status=0, to_status=1
    )
    migration = importlib.import_module("events.migrations.0009_eventlog_actions")

    migration.unlock_digestless(apps, None)

    sweep_at(START + timedelta(seconds=5))
    event.refresh_from_db()
    assert event.status == S.OPENED and event.entrant_count == 1
    assert [action for action, _, _ in history(event)] == [A.CREATE, A.LOCK, A.DRAW]
