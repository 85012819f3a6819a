"""Notifications (issue #5): the quota ledger, WeChat deliveries and the in-app inbox.

Real database and cache; WeChat is faked at the HTTP level with ``responses``.
"""

import json
from datetime import timedelta

import pytest
import requests
import responses
import time_machine
from django.utils import timezone

from draws import services as draw_services
from events.models import EventLog
from events.services.entries import entry_join
from events.services.events import event_cancel, event_create
from notifications import services, tasks
from notifications.models import Delivery, InboxState, SubscriptionQuota
from tests.conftest import client_for
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
SUBSCRIBE_SEND = "https://wechat.test/cgi-bin/message/subscribe/send"
RESULT, CANCEL = "tpl-result", "tpl-cancel"


@pytest.fixture(autouse=True)
def templates(settings):
    settings.NOTIFY_TEMPLATES = {
        "result": {
            "id": RESULT,
            "fields": {"title": "thing1", "result": "thing2", "draw_at": "time3"},
        },
        "cancel": {"id": CANCEL, "fields": {"title": "thing1", "reason": "thing2"}},
    }
    settings.NOTIFY_BATCH_SIZE = 3  # several batches even for a handful of entrants


@pytest.fixture
def wechat_ok(wechat):
    """WeChat hands out a token and accepts every message."""
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 0, "errmsg": "ok"})
    return wechat


def wechat_answers(wechat, *errcodes):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    for errcode in errcodes:
        wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": errcode, "errmsg": "x"})


def sends(wechat) -> list[dict]:
    return [
        json.loads(call.request.body)
        for call in wechat.calls
        if call.request.url.split("?")[0] == SUBSCRIBE_SEND
    ]


def token_fetches(wechat) -> int:
    return sum(1 for call in wechat.calls if call.request.url == STABLE_TOKEN)


def grant(user, *template_ids):
    for template_id in template_ids:
        services.subscription_accept(user=user, template_ids=[template_id])


def quota(user, template_id=RESULT) -> int:
    row = SubscriptionQuota.objects.filter(user=user, template_id=template_id).first()
    return row.quota if row else 0


def open_event(*, entrants, creator=None, prizes=(("一等奖", 1),)):
    """An event created two hours ago, its draw time past, with these users joined."""
    start = timezone.now() - timedelta(hours=2)
    event = event_create(
        creator=creator or UserFactory(),
        title="春节抽奖",
        draw_at=start + timedelta(hours=1),
        prizes=[{"name": name, "quantity": quantity} for name, quantity in prizes],
        now=start,
    )
    for user in entrants:
        entry_join(event=event, user=user, now=start)
    return event


def draw(event):
    draw_services.event_lock(event_id=event.pk, now=event.draw_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    return event


def cancel(event, *, by_staff=False, reason="奖品缺货"):
    actor = StaffFactory() if by_staff else event.creator
    return event_cancel(
        event=event, actor=actor, now=event.draw_at - timedelta(minutes=30),
        reason=reason, by_staff=by_staff,
    )  # fmt: skip


def notify():
    """What beat does every few seconds."""
    tasks.sweep()


def delivery(event, user, kind="result") -> Delivery:
    return Delivery.objects.get(event=event, user=user, kind=kind)


def winner_of(event):
    return event.entries.get(prize__isnull=False).user


# --- The quota ledger -----------------------------------------------------------------------


def test_accepting_templates_adds_one_unit_each(user):
    response = client_for(user).post(
        "/api/v1/me/subscriptions", {"accepted": [RESULT, CANCEL]}, format="json"
    )
    client_for(user).post("/api/v1/me/subscriptions", {"accepted": [RESULT]}, format="json")

    assert response.status_code == 200
    assert response.json()["data"] == {"quota": {RESULT: 1, CANCEL: 1}}
    assert (quota(user, RESULT), quota(user, CANCEL)) == (2, 1)


def test_unknown_template_is_refused_and_adds_nothing(user):
    response = client_for(user).post(
        "/api/v1/me/subscriptions", {"accepted": [RESULT, "tpl-nobody-configured"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == 40020
    assert response.json()["data"] == {"accepted": ["tpl-nobody-configured"]}
    assert not SubscriptionQuota.objects.filter(user=user).exists()


def test_reporting_that_nothing_was_accepted_changes_nothing(user):
    response = client_for(user).post("/api/v1/me/subscriptions", {"accepted": []}, format="json")
    assert response.json()["data"] == {"quota": {RESULT: 0, CANCEL: 0}}


def test_entrant_without_quota_gets_no_wechat_call_but_sees_the_result_in_the_inbox(wechat_ok):
    entrant = UserFactory()
    event = draw(open_event(entrants=[entrant]))

    notify()

    assert sends(wechat_ok) == [] and token_fetches(wechat_ok) == 0
    assert not Delivery.objects.filter(user=entrant).exists()
    inbox = client_for(entrant).get("/api/v1/me/notifications").json()["data"]
    assert [(item["kind"], item["event"]["id"], item["won"]) for item in inbox["results"]] == [
        ("result", event.public_id, True)
    ]


def test_entrant_with_two_units_receives_one_result_and_keeps_one_unit(wechat_ok):
    entrant = UserFactory()
    grant(entrant, RESULT, RESULT)
    event = draw(open_event(entrants=[entrant]))

    notify()

    assert [body["touser"] for body in sends(wechat_ok)] == [entrant.openid]
    assert delivery(event, entrant).state == Delivery.State.SENT
    assert quota(entrant) == 1


def test_winner_hears_the_prize_and_the_others_hear_they_did_not_win(wechat_ok):
    entrants = UserFactory.create_batch(4)
    for entrant in entrants:
        grant(entrant, RESULT)
    event = draw(open_event(entrants=entrants, prizes=[("扫地机器人", 1)]))

    notify()

    said = {body["touser"]: body["data"]["thing2"]["value"] for body in sends(wechat_ok)}
    winner = winner_of(event)
    assert said.pop(winner.openid) == "恭喜中奖：扫地机器人"
    assert set(said.values()) == {"很遗憾，未中奖"} and len(said) == 3
    body = sends(wechat_ok)[0]
    assert body["template_id"] == RESULT
    assert body["page"] == f"pages/event/detail?id={event.public_id}"
    assert body["data"]["thing1"] == {"value": "春节抽奖"}
    expected_time = timezone.localtime(event.drawn_at).strftime("%Y-%m-%d %H:%M")
    assert body["data"]["time3"] == {"value": expected_time}


def test_creator_gets_a_summary_of_entrants_winners_and_unawarded_prizes(wechat_ok):
    creator = UserFactory()
    grant(creator, RESULT)
    event = draw(
        open_event(creator=creator, entrants=UserFactory.create_batch(2), prizes=[("杯子", 5)])
    )

    notify()

    assert delivery(event, creator, "summary").state == Delivery.State.SENT
    [body] = [body for body in sends(wechat_ok) if body["touser"] == creator.openid]
    assert body["data"]["thing2"] == {"value": "2人参与，2人中奖"}


# --- Each errcode ends in its state -----------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "state"),
    [
        (0, Delivery.State.SENT),
        (43101, Delivery.State.REFUSED),
        (40003, Delivery.State.FAILED),
        (47003, Delivery.State.FAILED),
        (40037, Delivery.State.FAILED),
        (-1, Delivery.State.RETRYING),
    ],
)
def test_each_errcode_ends_in_its_state(wechat, errcode, state):
    wechat_answers(wechat, errcode)
    entrant = UserFactory()
    grant(entrant, RESULT)
    event = draw(open_event(entrants=[entrant]))

    notify()

    sent = delivery(event, entrant)
    assert (sent.state, sent.errcode if errcode else None) == (state, errcode or None)
    assert sent.attempts == 1


def test_refusal_sets_the_quota_to_zero_and_is_never_retried(wechat):
    wechat_answers(wechat, 43101)
    entrant = UserFactory()
    grant(entrant, RESULT, RESULT, RESULT)
    event = draw(open_event(entrants=[entrant]))
    notify()

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        notify()
        notify()

    assert len(sends(wechat)) == 1
    assert delivery(event, entrant).state == Delivery.State.REFUSED
    assert quota(entrant) == 0


@pytest.mark.parametrize("errcode", [40003, 47003, 40037])
def test_failure_of_our_request_is_not_retried_and_gives_the_unit_back(wechat, errcode):
    wechat_answers(wechat, errcode)
    entrant = UserFactory()
    grant(entrant, RESULT)
    event = draw(open_event(entrants=[entrant]))
    notify()

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        notify()

    assert len(sends(wechat)) == 1
    assert delivery(event, entrant).errmsg == "x"
    assert quota(entrant) == 1  # WeChat delivered nothing, so the user's grant is unused


@pytest.mark.parametrize(
    "trouble",
    [
        {"json": {"errcode": -1, "errmsg": "system busy"}},
        {"body": requests.Timeout("read timed out")},
        {"body": requests.ConnectionError("refused")},
        {"body": "bad gateway", "status": 502},
    ],
    ids=["busy", "timeout", "connection-error", "http-502"],
)
def test_trouble_at_wechat_is_retried_later_and_then_sent_once(wechat, trouble):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, SUBSCRIBE_SEND, **trouble)
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 0, "errmsg": "ok"})
    entrant = UserFactory()
    grant(entrant, RESULT, RESULT)
    event = draw(open_event(entrants=[entrant]))
    notify()
    notify()  # not due yet: backoff
    assert delivery(event, entrant).state == Delivery.State.RETRYING
    assert len(sends(wechat)) == 1

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        notify()
        notify()

    assert delivery(event, entrant).state == Delivery.State.SENT
    assert delivery(event, entrant).attempts == 2
    assert len(sends(wechat)) == 2
    assert quota(entrant) == 1  # one unit for the message, however many attempts


def test_retries_back_off_exponentially_with_jitter(settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 30
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (5, 480)]:
        delays = {services.retry_delay(attempts) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1


def test_retries_are_bounded_and_end_failed(wechat, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    wechat_answers(wechat, -1)
    entrant = UserFactory()
    grant(entrant, RESULT)
    event = draw(open_event(entrants=[entrant]))
    notify()

    for hours in range(1, 6):
        with time_machine.travel(timezone.now() + timedelta(hours=hours)):
            notify()

    assert len(sends(wechat)) == 3
    assert delivery(event, entrant).state == Delivery.State.FAILED
    assert delivery(event, entrant).errmsg.startswith("gave up after 3 attempts")


def test_rejected_access_token_is_refreshed_once_and_the_message_resent_once(wechat):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-2", "expires_in": 7200})
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 40001, "errmsg": "invalid"})
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 0, "errmsg": "ok"})
    entrants = UserFactory.create_batch(2)
    for entrant in entrants:
        grant(entrant, RESULT)
    event = draw(open_event(entrants=entrants))

    notify()

    assert token_fetches(wechat) == 2
    assert len(sends(wechat)) == 3  # the rejected one, its resend, the other entrant's
    assert {d.state for d in Delivery.objects.filter(event=event)} == {Delivery.State.SENT}


def test_many_sends_fetch_the_access_token_once(wechat_ok):
    entrants = UserFactory.create_batch(7)
    for entrant in entrants:
        grant(entrant, RESULT)
    draw(open_event(entrants=entrants, prizes=[("杯子", 3)]))

    notify()

    assert len(sends(wechat_ok)) == 7
    assert token_fetches(wechat_ok) == 1


# --- At most once -----------------------------------------------------------------------------


def test_fan_out_run_twice_delivers_each_message_once(wechat_ok):
    entrants = UserFactory.create_batch(5)
    for entrant in entrants:
        grant(entrant, RESULT, RESULT)
    event = draw(open_event(entrants=entrants))
    log = EventLog.objects.get(event=event, action="draw")

    tasks.fan_out(log.pk)
    tasks.fan_out(log.pk)
    EventLog.objects.filter(pk=log.pk).update(notified_at=None)  # as if the mark was lost
    tasks.fan_out(log.pk)
    notify()

    assert sorted(body["touser"] for body in sends(wechat_ok)) == sorted(e.openid for e in entrants)
    assert Delivery.objects.filter(event=event).count() == 5


def test_a_batch_delivered_twice_sends_nothing_the_second_time(wechat_ok):
    entrant = UserFactory()
    grant(entrant, RESULT, RESULT)
    event = draw(open_event(entrants=[entrant]))
    notify()

    tasks.send_batch([delivery(event, entrant).pk])

    assert len(sends(wechat_ok)) == 1


def test_outbox_row_is_marked_notified_only_after_its_deliveries_are_recorded(wechat_ok):
    entrant = UserFactory()
    grant(entrant, RESULT)
    event = draw(open_event(entrants=[entrant]))
    log = EventLog.objects.get(event=event, action="draw")
    assert log.notified_at is None

    notify()

    log.refresh_from_db()
    assert log.notified_at is not None
    assert delivery(event, entrant).created_at <= log.notified_at


def test_claim_of_a_worker_that_died_mid_send_ends_failed_and_is_not_resent(wechat_ok):
    entrant = UserFactory()
    grant(entrant, RESULT)
    event = draw(open_event(entrants=[entrant]))
    services.outbox_fan_out(
        log_id=EventLog.objects.get(event=event, action="draw").pk, now=timezone.now()
    )
    Delivery.objects.filter(event=event).update(
        state=Delivery.State.SENDING, claim="dead", attempts=1
    )

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        notify()
        notify()

    assert sends(wechat_ok) == []
    assert delivery(event, entrant).state == Delivery.State.FAILED
    assert "outcome unknown" in delivery(event, entrant).errmsg


def test_batch_stopped_by_its_time_limit_records_what_was_sent_and_hands_back_the_rest(
    wechat_ok, monkeypatch
):
    from celery.exceptions import SoftTimeLimitExceeded

    entrants = UserFactory.create_batch(3)
    for entrant in entrants:
        grant(entrant, RESULT)
    event = draw(open_event(entrants=entrants))
    log = EventLog.objects.get(event=event, action="draw")
    [batch] = services.outbox_fan_out(log_id=log.pk, now=timezone.now())
    send_one, calls = services._send_one, []

    def time_runs_out_after_one(delivery, fields):
        calls.append(delivery.pk)
        if len(calls) > 1:
            raise SoftTimeLimitExceeded()
        return send_one(delivery, fields)

    monkeypatch.setattr(services, "_send_one", time_runs_out_after_one)
    with pytest.raises(SoftTimeLimitExceeded):
        tasks.send_batch(batch)
    monkeypatch.undo()
    states = sorted(Delivery.objects.filter(event=event).values_list("state", flat=True))
    assert states == ["retrying", "retrying", "sent"]

    notify()

    assert sorted(body["touser"] for body in sends(wechat_ok)) == sorted(e.openid for e in entrants)
    assert {quota(entrant) for entrant in entrants} == {0}  # one unit each, spent once


def test_last_unit_shared_by_two_events_is_spent_on_one_message_only(wechat_ok):
    entrant = UserFactory()
    grant(entrant, RESULT)
    first, second = draw(open_event(entrants=[entrant])), draw(open_event(entrants=[entrant]))
    logs = EventLog.objects.filter(event__in=[first, second], action="draw")
    batches = [
        batch
        for log in logs
        for batch in services.outbox_fan_out(log_id=log.pk, now=timezone.now())
    ]  # both recorded while the unit was still there

    for batch in batches:
        tasks.send_batch(batch)

    assert len(sends(wechat_ok)) == 1
    states = {delivery(first, entrant).state, delivery(second, entrant).state}
    assert states == {Delivery.State.SENT, Delivery.State.SKIPPED}
    assert quota(entrant) == 0


def test_users_without_quota_when_the_event_is_drawn_get_no_delivery_row(wechat_ok):
    entrant = UserFactory()
    grant(entrant, RESULT)
    draw(open_event(entrants=[entrant]))
    draw(open_event(entrants=[entrant]))

    notify()

    assert len(sends(wechat_ok)) == 1
    assert Delivery.objects.filter(user=entrant).count() == 1


# --- Cancellation -----------------------------------------------------------------------------


@pytest.mark.parametrize("by_staff", [False, True], ids=["by-creator", "by-staff"])
def test_cancellation_notifies_entrants_with_the_reason(wechat_ok, by_staff):
    entrants = UserFactory.create_batch(3)
    for entrant in entrants:
        grant(entrant, CANCEL)
    cancel(open_event(entrants=entrants), by_staff=by_staff, reason="奖品缺货，改期再办")

    notify()

    bodies = sends(wechat_ok)
    assert sorted(body["touser"] for body in bodies) == sorted(e.openid for e in entrants)
    assert {body["template_id"] for body in bodies} == {CANCEL}
    assert {body["data"]["thing2"]["value"] for body in bodies} == {"奖品缺货，改期再办"}
    inbox = client_for(entrants[0]).get("/api/v1/me/notifications").json()["data"]
    assert [(item["kind"], item["reason"]) for item in inbox["results"]] == [
        ("cancel", "奖品缺货，改期再办")
    ]


# --- Staff retry ------------------------------------------------------------------------------


def test_staff_retry_of_failed_deliveries_sends_each_once_more(
    wechat, client, django_capture_on_commit_callbacks
):
    wechat_answers(wechat, 47003, 47003, 0)
    entrants = UserFactory.create_batch(2)
    for entrant in entrants:
        grant(entrant, RESULT)
    event = draw(open_event(entrants=entrants))
    notify()
    failed = list(Delivery.objects.filter(event=event, state=Delivery.State.FAILED))
    assert len(failed) == 2
    client.force_login(StaffFactory())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/notifications/delivery/",
            {"action": "retry_failed", "_selected_action": [d.pk for d in failed]},
        )
        client.post(
            "/admin/notifications/delivery/",
            {"action": "retry_failed", "_selected_action": [d.pk for d in failed]},
        )

    assert response.status_code == 302
    assert len(sends(wechat)) == 4
    assert {d.state for d in Delivery.objects.filter(event=event)} == {Delivery.State.SENT}
    assert Delivery.objects.filter(event=event).count() == 2


def test_back_office_counts_deliveries_per_event_in_chinese(wechat, client):
    wechat_answers(wechat, 0, 43101, 40003)
    entrants = UserFactory.create_batch(3)
    for entrant in entrants:
        grant(entrant, RESULT)
    event = draw(open_event(entrants=entrants))
    notify()
    client.force_login(StaffFactory())

    page = client.get(f"/admin/notifications/eventdeliveries/?q={event.public_id}")
    failures = client.get(
        f"/admin/notifications/delivery/?event__id__exact={event.pk}&state__in=failed,refused"
    )

    assert page.status_code == 200
    text = page.content.decode()
    assert "活动通知统计" in text and "已发送" in text and "被拒收" in text and "失败" in text
    listed = failures.content.decode()
    assert "43101" in listed and "40003" in listed
    assert failures.context["cl"].result_count == 2


# --- The in-app inbox -------------------------------------------------------------------------


def test_draw_writes_no_inbox_rows_per_entrant():
    entrants = UserFactory.create_batch(6)
    draw(open_event(entrants=entrants))
    notify()

    assert InboxState.objects.count() == 0
    assert Delivery.objects.count() == 0  # nobody granted quota
    for entrant in entrants:
        data = client_for(entrant).get("/api/v1/me/notifications").json()["data"]
        assert data["unread_count"] == 1


def test_inbox_lists_newest_first_across_pages(wechat_ok):
    entrant = UserFactory()
    events = [draw(open_event(entrants=[entrant])) for _ in range(3)]
    canceled = cancel(open_event(entrants=[entrant]))
    client = client_for(entrant)

    first = client.get("/api/v1/me/notifications?page_size=2").json()["data"]
    second = client.get(f"/api/v1/me/notifications?page_size=2&cursor={first['next']}").json()[
        "data"
    ]

    ids = [item["event"]["id"] for item in first["results"] + second["results"]]
    # the cancel happened before the lock, so before any of the draws
    assert ids == [event.public_id for event in reversed(events)] + [canceled.public_id]
    assert second["next"] is None
    assert first["unread_count"] == 4


def test_creator_sees_a_summary_and_an_entrant_result_in_the_inbox():
    creator = UserFactory()
    event = draw(
        open_event(creator=creator, entrants=[creator, UserFactory()], prizes=[("杯子", 3)])
    )

    items = client_for(creator).get("/api/v1/me/notifications").json()["data"]["results"]

    assert [item["kind"] for item in items] == ["result", "summary"]
    summary = items[1]
    assert (summary["entrants"], summary["winners"], summary["unawarded"]) == (2, 2, 1)
    assert items[0]["prize"]["name"] == "杯子" and items[0]["won"] is True
    assert summary["event"] == {"id": event.public_id, "title": "春节抽奖"}


def test_outsider_sees_nothing_in_the_inbox():
    draw(open_event(entrants=UserFactory.create_batch(2)))
    data = client_for(UserFactory()).get("/api/v1/me/notifications").json()["data"]
    assert data == {"results": [], "next": None, "unread_count": 0}


def test_marking_all_read_clears_the_unread_count():
    entrant = UserFactory()
    draw(open_event(entrants=[entrant]))
    client = client_for(entrant)

    response = client.post("/api/v1/me/notifications/read", {}, format="json")

    assert response.json()["data"] == {"unread_count": 0}
    items = client.get("/api/v1/me/notifications").json()["data"]["results"]
    assert [item["read"] for item in items] == [True]


def test_marking_read_up_to_a_time_leaves_later_ones_unread():
    entrant = UserFactory()
    older = draw(open_event(entrants=[entrant]))
    older_log = EventLog.objects.get(event=older, action="draw")
    draw(open_event(entrants=[entrant]))
    client = client_for(entrant)

    response = client.post(
        "/api/v1/me/notifications/read", {"up_to": older_log.created_at.isoformat()}, format="json"
    )

    assert response.json()["data"] == {"unread_count": 1}
    items = client.get("/api/v1/me/notifications").json()["data"]["results"]
    assert [item["read"] for item in items] == [False, True]


def test_read_mark_never_moves_back():
    entrant = UserFactory()
    draw(open_event(entrants=[entrant]))
    client = client_for(entrant)
    client.post("/api/v1/me/notifications/read", {}, format="json")

    response = client.post(
        "/api/v1/me/notifications/read", {"up_to": "2020-01-01T00:00:00+08:00"}, format="json"
    )

    assert response.json()["data"] == {"unread_count": 0}


def test_read_refuses_a_time_without_offset_and_unknown_fields(user):
    client = client_for(user)
    naive = client.post(
        "/api/v1/me/notifications/read", {"up_to": "2026-01-01T00:00:00"}, format="json"
    )
    extra = client.post("/api/v1/me/notifications/read", {"all": True}, format="json")
    assert (naive.status_code, extra.status_code) == (400, 400)


def test_inbox_query_count_does_not_grow_with_the_page(django_assert_max_num_queries):
    entrant = UserFactory()
    for _ in range(5):
        draw(open_event(creator=entrant, entrants=[entrant, UserFactory()]))
    client = client_for(entrant)
    client.get("/api/v1/me/notifications")  # the inactive-user list is read once a second

    # 6, two for the account notices (their page, their unread count), four for the claim
    # items (shipped, reminders, prizes offered to an alternate: a query each; one for their
    # unread count), two for disqualifications and two for the exclusions (each: their page,
    # their unread count).
    with django_assert_max_num_queries(16):
        data = client.get("/api/v1/me/notifications").json()["data"]

    assert len(data["results"]) == 10
