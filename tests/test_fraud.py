"""Anti-fraud people can see (issue 24): the creator's flags with reason codes and nothing
personal, exclusions for a public reason before the lock (counted in the proof, told to the
excluded), and staff bans that take entries out of open events.

Personas: the creator, entrants (flagged or not), an outsider, staff.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from draws import services as draw_services
from events import tasks
from events.models import Entry, Event, Exclusion
from events.services import retention
from events.services.entries import entry_join
from events.services.events import event_cancel
from tests.conftest import client_for, data, refused, url
from tests.factories import EventFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def seasoned(**kwargs):
    return UserFactory(created_at=NOW - timedelta(days=30), **kwargs)


def join_from(event, user, address):
    response = client_for(user).post(url(event, "/entry"), REMOTE_ADDR=address)
    assert response.status_code == 201, response.content


def flags(event, viewer=None):
    response = client_for(viewer or event.creator).get(url(event, "/flags"))
    assert response.status_code == 200, response.content
    return data(response)


@pytest.fixture
def event(creator):
    return EventFactory(creator=creator)


@pytest.fixture
def farm(event, clock):
    """Three accounts joining from one address within seconds, and one honest entrant."""
    bots = [seasoned() for _ in range(3)]
    for bot in bots:
        join_from(event, bot, "198.51.100.7")
        clock.shift(timedelta(seconds=2))
    honest = seasoned()
    join_from(event, honest, "203.0.113.20")
    return bots, honest


# --- flags ----------------------------------------------------------------------------------


def test_accounts_joining_from_one_address_within_seconds_are_flagged(event, farm):
    bots, honest = farm
    flagged = flags(event)["flagged"]
    assert [(flag["entrant"], flag["reasons"]) for flag in flagged] == [
        (bot.public_id, ["shared_network"]) for bot in bots
    ]
    assert honest.public_id not in json.dumps(flagged)


def test_joins_from_one_address_minutes_apart_are_not_flagged(event, clock):
    for _ in range(3):
        join_from(event, seasoned(), "198.51.100.7")
        clock.shift(timedelta(minutes=1))
    assert flags(event)["flagged"] == []


def test_an_account_made_minutes_before_it_joined_is_flagged(event, clock):
    fresh = UserFactory(created_at=NOW - timedelta(minutes=3))
    old = seasoned()
    join_from(event, fresh, "203.0.113.1")
    join_from(event, old, "203.0.113.2")
    assert [(flag["entrant"], flag["reasons"]) for flag in flags(event)["flagged"]] == [
        (fresh.public_id, ["new_account"])
    ]


def test_the_flags_say_reason_codes_and_nothing_personal(event, farm):
    bots, _honest = farm
    text = client_for(event.creator).get(url(event, "/flags")).content.decode()
    networks = set(Entry.objects.filter(event=event).values_list("network", flat=True))
    for secret in ["198.51.100.7", *networks, *(bot.openid for bot in bots)]:
        assert secret not in text
    for bot in bots:
        assert bot.nickname not in text


def test_the_address_is_kept_only_as_a_hash_that_differs_between_events(creator, farm, event):
    bots, _honest = farm
    other = EventFactory(creator=creator)
    join_from(other, bots[0], "198.51.100.7")
    keys = Entry.objects.filter(user=bots[0]).values_list("network", flat=True)
    assert len(set(keys)) == 2 and all(len(key) == 16 for key in keys)
    assert "198.51.100.7" not in "".join(keys)


@pytest.mark.parametrize("persona", ["entrant", "outsider", "staff"])
def test_only_the_creator_sees_the_flags_through_the_api(event, farm, persona):
    viewer = farm[0][0] if persona == "entrant" else (
        StaffFactory() if persona == "staff" else seasoned()
    )  # fmt: skip
    assert refused(client_for(viewer).get(url(event, "/flags")), 403, 40301)


# --- exclusions -----------------------------------------------------------------------------


def exclude(event, entrant, reason="fake_account", actor=None):
    return client_for(actor or event.creator).post(
        url(event, "/exclusions"), {"entrant": entrant.public_id, "reason": reason}, format="json"
    )


def test_the_creator_excludes_a_flagged_entrant_for_a_public_reason(event, farm):
    bots, _honest = farm
    response = exclude(event, bots[0], "duplicate_account")
    assert response.status_code == 201, response.content
    assert data(response)["reason"] == "duplicate_account"
    assert data(response)["flags"] == ["shared_network"]

    event.refresh_from_db()
    assert event.participant_count == 3
    assert not Entry.objects.filter(event=event, user=bots[0]).exists()
    again = exclude(event, bots[0], "duplicate_account")
    assert again.status_code == 200 and Exclusion.objects.count() == 1
    assert flags(event)["excluded"] == [{"reason": "duplicate_account", "count": 1}]


def test_an_excluded_entrant_cannot_join_again(event, farm):
    bot = farm[0][0]
    exclude(event, bot)
    response = client_for(bot).post(url(event, "/entry"))
    assert refused(response, 403, 40333)
    event.refresh_from_db()
    assert event.participant_count == 3


def test_the_excluded_entrant_is_told_why_in_their_inbox(event, farm):
    bot = farm[0][0]
    exclude(event, bot, "rule_violation")
    inbox = data(client_for(bot).get("/api/v1/me/notifications"))
    item = inbox["results"][0]
    assert (item["kind"], item["reason"], item["event"]["id"]) == (
        "excluded",
        "rule_violation",
        event.public_id,
    )
    assert inbox["unread_count"] == 1


def test_the_proof_counts_exclusions_per_reason(event, farm, outsider):
    bots, _honest = farm
    exclude(event, bots[0], "fake_account")
    exclude(event, bots[1], "fake_account")
    exclude(event, bots[2], "duplicate_account")
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    proof = data(client_for(outsider).get(url(event, "/proof")))
    assert proof["exclusions"] == [
        {"reason": "duplicate_account", "count": 1},
        {"reason": "fake_account", "count": 2},
    ]
    assert proof["entrant_count"] == 1


def test_an_entrant_who_is_not_flagged_cannot_be_excluded(event, farm):
    _bots, honest = farm
    assert refused(exclude(event, honest), 409, 40913)
    assert Entry.objects.filter(event=event, user=honest).exists()


@pytest.mark.parametrize("reason", ["account_banned", "i_dont_like_them"])
def test_the_creator_may_give_only_a_public_reason(event, farm, reason):
    assert refused(exclude(event, farm[0][0], reason), 400, 40000)


def test_outsider_cannot_exclude(event, farm, outsider):
    assert refused(exclude(event, farm[0][0], actor=outsider), 403, 40301)


def test_nobody_is_excluded_after_the_lock(event, farm, clock):
    clock.move_to(event.lock_at, tick=False)
    assert refused(exclude(event, farm[0][0]), 409, 40901)


# --- bans -----------------------------------------------------------------------------------


def test_a_ban_takes_the_users_entries_out_of_events_not_yet_locked(creator, clock):
    banned, staff = seasoned(), StaffFactory()
    open_event, locked_event = EventFactory(creator=creator), EventFactory(creator=creator)
    for event in (open_event, locked_event):
        entry_join(event=event, user=banned, now=NOW)
    draw_services.event_lock(event_id=locked_event.pk, now=locked_event.lock_at)

    with django_capture_on_commit():
        accounts_services.user_deactivate(user=banned, actor=staff, reason="刷单")

    assert not Entry.objects.filter(event=open_event, user=banned).exists()
    assert Entry.objects.filter(event=locked_event, user=banned).exists()  # the list is frozen
    exclusion = Exclusion.objects.get(user=banned)
    assert (exclusion.event_id, exclusion.reason, exclusion.actor) == (
        open_event.pk,
        "account_banned",
        staff,
    )
    assert Event.objects.get(pk=open_event.pk).participant_count == 0


def test_a_banned_user_reads_the_notice_once_let_back_in(creator):
    banned = seasoned()
    event = EventFactory(creator=creator)
    entry_join(event=event, user=banned, now=NOW)
    with django_capture_on_commit():
        accounts_services.user_deactivate(user=banned, actor=None, reason="刷单")
    accounts_services.user_reactivate(user=banned, actor=None)
    item = data(client_for(banned).get("/api/v1/me/notifications"))["results"][0]
    assert (item["kind"], item["reason"]) == ("excluded", "account_banned")


def test_the_sweep_catches_a_ban_written_outside_the_service_and_runs_twice_harmlessly(creator):
    banned = seasoned()
    event = EventFactory(creator=creator)
    entry_join(event=event, user=banned, now=NOW)
    User.objects.filter(pk=banned.pk).update(is_active=False)  # a shell, a data migration

    tasks.banned_entries_sweep()
    tasks.banned_entries_sweep()

    assert not Entry.objects.filter(user=banned).exists()
    assert Exclusion.objects.filter(user=banned).count() == 1
    assert Event.objects.get(pk=event.pk).participant_count == 0


def test_staff_ban_from_the_admin_takes_the_entries_out(creator, client):
    staff, banned = StaffFactory(), seasoned()
    event = EventFactory(creator=creator)
    entry_join(event=event, user=banned, now=NOW)
    client.force_login(staff)
    with django_capture_on_commit():
        response = client.post(
            "/admin/accounts/user/",
            {
                "action": "deactivate_users",
                "_selected_action": [banned.pk],
                "apply": "1",
                "reason": "批量刷号",
            },
        )
    assert response.status_code == 302
    assert not Entry.objects.filter(user=banned).exists()


def test_staff_see_the_flags_and_exclusions_on_the_events_admin_page(client, event, farm):
    exclude(event, farm[0][1])
    client.force_login(StaffFactory())
    page = client.get(f"/admin/events/event/{event.pk}/change/").content.decode()
    assert "shared_network" in page and farm[0][0].public_id in page
    assert "fake_account × 1" in page


# --- people's data (docs/privacy.md) --------------------------------------------------------


def test_my_data_shows_the_signals_of_my_entry_and_where_i_was_excluded(event, farm):
    bots, _honest = farm
    exclude(event, bots[0], "fake_account")
    Entry.objects.filter(user=bots[1]).update(risk_rank=1)  # as a risk-gated join records it

    kept = data(client_for(bots[1]).get("/api/v1/me/data"))
    (entry,) = kept["entries"]
    assert entry["network"] == Entry.objects.get(user=bots[1]).network != ""
    assert (entry["risk_rank"], kept["exclusions"]) == (1, [])
    out = data(client_for(bots[0]).get("/api/v1/me/data"))
    assert out["entries"] == []
    assert [(x["event"]["id"], x["reason"], x["flags"]) for x in out["exclusions"]] == [
        (event.public_id, "fake_account", ["shared_network"])
    ]


def test_deleting_an_account_forgets_its_network_keys_and_risk_ranks_not_its_exclusions(
    creator, event, farm, outsider
):
    bots, _honest = farm
    locked = EventFactory(creator=creator)
    join_from(locked, bots[1], "198.51.100.7")
    Entry.objects.filter(user=bots[1]).update(risk_rank=2)
    draw_services.event_lock(event_id=locked.pk, now=locked.lock_at)
    exclude(event, bots[0], "fake_account")

    for bot in bots[:2]:
        assert client_for(bot).delete("/api/v1/me").status_code == 200

    kept = Entry.objects.get(event=locked, user=bots[1])  # the frozen list keeps the entry
    assert (kept.network, kept.risk_rank) == ("", None)
    assert not Entry.objects.filter(event=event, user=bots[1]).exists()  # withdrawn
    exclusion = Exclusion.objects.get(user=bots[0])
    assert (exclusion.reason, exclusion.flags, exclusion.network) == (
        "fake_account",
        "shared_network",
        "",
    )
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    proof = data(client_for(outsider).get(url(event, "/proof")))
    assert proof["exclusions"] == [{"reason": "fake_account", "count": 1}]


# --- how long the signals are kept (docs/privacy.md) ----------------------------------------


def signals(event):
    """The network keys and risk ranks of ``event``'s entries, and its exclusions' keys."""
    entries = Entry.objects.filter(event=event).order_by("pk").values_list("network", "risk_rank")
    exclusions = Exclusion.objects.filter(event=event).order_by("pk")
    return list(entries), list(exclusions.values_list("network", flat=True))


@pytest.fixture
def signalled(event, farm):
    """The farm's event with a bot excluded and a risk rank recorded, not locked yet."""
    bots, _honest = farm
    exclude(event, bots[0], "fake_account")
    Entry.objects.filter(user=bots[1]).update(risk_rank=2)  # as a risk-gated join records it
    return event


def finish(event, how):
    """Draw or cancel ``event``; when that happened."""
    if how == "drawn":
        assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
        assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    else:
        event_cancel(event=event, actor=event.creator, now=NOW, reason="奖品缺货")
    event.refresh_from_db()
    return event.drawn_at or event.canceled_at


@pytest.mark.parametrize("how", ["drawn", "canceled"])
def test_an_entrants_signals_are_blanked_once_the_event_finished_long_enough_ago(
    signalled, farm, clock, settings, how
):
    settings.FRAUD_SIGNAL_ERASE_AFTER_DAYS = 90
    bots, honest = farm
    clock.move_to(finish(signalled, how) + timedelta(days=90))

    tasks.claims_sweep()

    entry = Entry.objects.get(event=signalled, user=bots[1])
    assert (entry.network, entry.risk_rank) == ("", None)
    assert signals(signalled) == ([("", None)] * 3, [""])
    # The entries and the exclusion stay: the proof names and counts them.
    assert Entry.objects.filter(event=signalled, user=honest).exists()
    exclusion = Exclusion.objects.get(event=signalled)
    assert (exclusion.user, exclusion.reason, exclusion.flags) == (
        bots[0],
        "fake_account",
        "shared_network",
    )


def test_signals_of_an_event_drawn_recently_are_kept(signalled, farm, clock, settings):
    settings.FRAUD_SIGNAL_ERASE_AFTER_DAYS = 90
    drawn_at = finish(signalled, "drawn")
    before = signals(signalled)
    clock.move_to(drawn_at + timedelta(days=89, hours=23))

    tasks.claims_sweep()

    assert signals(signalled) == before
    assert Entry.objects.get(event=signalled, user=farm[0][1]).risk_rank == 2
    assert all(network for network, _rank in before[0]) and before[1] != [""]


def test_signals_of_an_event_not_drawn_yet_are_kept_however_old(signalled, creator, clock):
    locked = EventFactory(creator=creator)
    join_from(locked, seasoned(), "198.51.100.9")
    assert draw_services.event_lock(event_id=locked.pk, now=locked.lock_at)
    before = signals(signalled), signals(locked)
    clock.move_to(NOW + timedelta(days=400))

    tasks.claims_sweep()

    assert (signals(signalled), signals(locked)) == before
    assert Event.objects.filter(signals_erased_at__isnull=False).count() == 0


def test_erasing_twice_blanks_nothing_more_and_keeps_the_first_time(signalled, clock, settings):
    settings.FRAUD_SIGNAL_ERASE_AFTER_DAYS = 90
    later = finish(signalled, "drawn") + timedelta(days=91)

    assert retention.events_erase_fraud_signals_due(now=later) == 4  # three entries, one exclusion
    assert retention.events_erase_fraud_signals_due(now=later) == 0
    assert retention.events_erase_fraud_signals_due(now=later + timedelta(days=1)) == 0

    assert Event.objects.get(pk=signalled.pk).signals_erased_at == later
    assert signals(signalled) == ([("", None)] * 3, [""])


def test_an_event_canceled_before_cancel_times_were_recorded_goes_by_its_draw_time(
    signalled, clock, settings
):
    settings.FRAUD_SIGNAL_ERASE_AFTER_DAYS = 90
    finish(signalled, "canceled")
    Event.objects.filter(pk=signalled.pk).update(canceled_at=None)  # canceled under 1.0.0

    assert retention.events_erase_fraud_signals_due(now=signalled.draw_at + timedelta(days=89)) == 0
    assert retention.events_erase_fraud_signals_due(now=signalled.draw_at + timedelta(days=90)) == 4


def test_a_backlog_is_worked_through_a_batch_a_sweep(creator, clock, settings, monkeypatch):
    settings.FRAUD_SIGNAL_ERASE_AFTER_DAYS = 90
    monkeypatch.setattr(retention, "ERASE_BATCH", 1)
    events = [EventFactory(creator=creator) for _ in range(2)]
    for event in events:
        join_from(event, seasoned(), "198.51.100.7")
        finish(event, "canceled")
    later = NOW + timedelta(days=90)

    assert retention.events_erase_fraud_signals_due(now=later) == 1
    assert sorted(signals(event)[0] == [("", None)] for event in events) == [False, True]
    assert retention.events_erase_fraud_signals_due(now=later) == 1
    assert all(signals(event)[0] == [("", None)] for event in events)


# The ban's signal is sent once the ban commits; a test in one transaction never commits.
def django_capture_on_commit():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)
