"""Alternates no one can pick (issue #12, section 2), as v2 events still in flight get them.

A prize unit whose claim window passes unclaimed, or whose winner the creator disqualifies,
passes to the next entrant of the draw's own order: its Fisher-Yates shuffle continued past the
winners (docs/fairness.md). The events here are v2 events (made v2 right after creation): the
rule every substitution of an event created before v3 keeps. The v3 rule (an alternate drawn
with a fresh beacon round) is tested in tests/test_draw_v3.py. Personas: the creator (owner),
the winner, another entrant, an outsider. Time is frozen at NOW; the event is drawn at its draw
time and the clock is then moved to either side of the claim deadlines.
"""

import json
from datetime import timedelta

import pytest
import responses
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from draws import allocator, substitutions
from draws import services as draw_services
from draws import tasks as draw_tasks
from draws.proof import verify
from events.models import Claim, Entry, Event, EventLog, Prize, RedeemCode, Substitution
from events.services.entries import entry_join
from notifications import selectors as inbox
from notifications import services as notify_services
from notifications import tasks as notify_tasks
from notifications.models import Delivery, SubscriptionQuota
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
DAYS = 7


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def keys(settings):
    settings.CLAIM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.LOTTERY_MAX_SUBSTITUTIONS = 3
    return settings


def drawn_event(creator, clock, *, entrants=6, prizes=None, delivery="contact"):
    """An event drawn at its draw time (the clock is left there), with ``entrants`` entrants."""
    event = v2_event(
        EventFactory(
            creator=creator,
            prizes=prizes or [{"name": "大奖", "quantity": 1}],
            delivery=delivery,
            claim_days=DAYS,
        )
    )
    for user in UserFactory.create_batch(entrants):
        entry_join(event=event, user=user, now=NOW)
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    clock.move_to(event.draw_at, tick=False)
    event.refresh_from_db()
    return event


def v2_event(event):
    """The event as an event created before v3 is: v2, its limit fixed at its first substitution."""
    Event.objects.filter(pk=event.pk).update(
        fairness_algorithm=allocator.ALGORITHM_V2,
        without_beacon=False,
        reveal_gap_seconds=None,
        max_substitutions=None,
    )
    event.refresh_from_db()
    return event


def order_of(event) -> list[str]:
    """The draw's order written out: every entrant key, winners first, then the alternates."""
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    positions = allocator.draw_positions(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=len(keys),
        k=len(keys),
        algorithm=event.fairness_algorithm,
        prizes_digest=event.prizes_digest,
        beacon_randomness=None,
    )
    return [keys[position] for position in positions]


def holder(event, unit=0) -> str | None:
    entry = Entry.objects.filter(event=event, prize_rank=unit).first()
    return entry.user_key if entry else None


def user_of(event, key):
    return Entry.objects.select_related("user").get(event=event, user_key=key).user


def sweep():
    draw_tasks.sweep()  # what beat does every few seconds (tasks run inline in tests)


def deadline_of(event):
    return event.drawn_at + timedelta(days=DAYS)


def disqualify(user, event, key, reason="fake_account"):
    return client_for(user).post(
        f"/api/v1/events/{event.public_id}/winners/{key}/disqualify",
        {"reason": reason},
        format="json",
    )


def proof_of(event):
    return client_for(UserFactory()).get(f"/api/v1/events/{event.public_id}/proof").json()["data"]


def winners_of(event):
    return client_for(UserFactory()).get(f"/api/v1/events/{event.public_id}/winners").json()["data"]


def my_entry(user, event):
    response = client_for(user).get(f"/api/v1/events/{event.public_id}")
    return response.json()["data"]["my_entry"]


# --- expiry -----------------------------------------------------------------------------------


def test_an_unclaimed_prize_stays_with_its_winner_until_the_deadline(creator, clock):
    event = drawn_event(creator, clock)
    winner = holder(event)
    clock.move_to(deadline_of(event) - timedelta(seconds=1), tick=False)
    sweep()
    assert holder(event) == winner
    assert not Substitution.objects.exists()


def test_at_the_deadline_an_unclaimed_prize_passes_to_the_first_alternate(creator, clock):
    event = drawn_event(creator, clock)
    order = order_of(event)
    assert holder(event) == order[0]

    clock.move_to(deadline_of(event), tick=False)
    sweep()

    assert holder(event) == order[1]  # step k = 1: the first entrant the draw did not pick
    sub = Substitution.objects.get(event=event)
    assert (sub.unit, sub.step, sub.reason) == (0, 1, "expired")
    assert (sub.replaced_key, sub.replacement_key) == (order[0], order[1])
    assert Claim.objects.get(entry__user_key=order[0], event=event).status == "forfeited"
    assert EventLog.objects.filter(event=event, action="substitute").count() == 1


def test_a_claimed_prize_never_expires(creator, clock):
    event = drawn_event(creator, clock)
    winner = user_of(event, holder(event))
    response = client_for(winner).post(f"/api/v1/events/{event.public_id}/claim", {}, "json")
    assert response.status_code == 200
    clock.move_to(deadline_of(event) + timedelta(days=1), tick=False)
    sweep()
    assert holder(event) == winner.public_id
    assert not Substitution.objects.exists()


def test_events_without_a_claim_step_never_expire(creator, clock):
    event = drawn_event(creator, clock, delivery="none")
    winner = holder(event)
    clock.move_to(deadline_of(event) + timedelta(days=1), tick=False)
    sweep()
    assert holder(event) == winner


def test_the_alternate_gets_a_full_window_from_the_substitution_and_is_told(
    creator, clock, settings
):
    settings.NOTIFY_TEMPLATES = {
        **settings.NOTIFY_TEMPLATES,
        "result": {**settings.NOTIFY_TEMPLATES["result"], "id": "tpl-result"},
    }
    event = drawn_event(creator, clock)
    order = order_of(event)
    alternate = user_of(event, order[1])
    SubscriptionQuota.objects.create(user=alternate, template_id="tpl-result", quota=1)
    passed_at = deadline_of(event) + timedelta(minutes=3)  # a late sweep: the window starts here
    clock.move_to(passed_at, tick=False)
    sweep()

    mine = my_entry(alternate, event)
    assert mine["prize"]["name"] == "大奖"
    assert mine["claim"]["state"] == "unclaimed"
    new_deadline = passed_at + timedelta(days=DAYS)
    assert mine["claim"]["deadline"] == timezone.localtime(new_deadline).isoformat()
    items = inbox.inbox_page(user_id=alternate.pk, cursor=None, size=10)["results"]
    offered = [item for item in items if item.kind == "offered"]
    assert len(offered) == 1 and offered[0].prize_name == "大奖"
    assert offered[0].deadline == new_deadline

    notify_services.substitutions_fan_out(now=passed_at)
    notify_services.substitutions_fan_out(now=passed_at)  # a rerun records nothing twice
    assert Delivery.objects.filter(user=alternate, kind="offered").count() == 1

    # The alternate can claim within their own window, after the event's first deadline.
    response = client_for(alternate).post(f"/api/v1/events/{event.public_id}/claim", {}, "json")
    assert response.status_code == 200


def test_the_replaced_winner_sees_the_prize_passed_on_and_can_no_longer_claim(creator, clock):
    event = drawn_event(creator, clock)
    winner = user_of(event, holder(event))
    clock.move_to(deadline_of(event), tick=False)
    sweep()

    mine = my_entry(winner, event)
    assert mine["prize"] is None
    assert mine["claim"]["state"] == "forfeited"
    response = client_for(winner).post(f"/api/v1/events/{event.public_id}/claim", {}, "json")
    assert response.json()["code"] == 40303  # not_winner


def test_an_alternate_who_does_not_claim_either_passes_it_to_the_next(creator, clock):
    event = drawn_event(creator, clock)
    order = order_of(event)
    clock.move_to(deadline_of(event), tick=False)
    sweep()
    second_deadline = deadline_of(event) + timedelta(days=DAYS)

    clock.move_to(second_deadline - timedelta(seconds=1), tick=False)
    sweep()
    assert holder(event) == order[1]

    clock.move_to(second_deadline, tick=False)
    sweep()
    assert holder(event) == order[2]
    assert list(Substitution.objects.values_list("step", flat=True)) == [1, 2]


def test_the_alternate_is_reminded_a_day_before_their_own_deadline(creator, clock):
    from events import claims

    event = drawn_event(creator, clock)
    clock.move_to(deadline_of(event), tick=False)
    sweep()
    alternate_claim = Claim.objects.get(event=event, status="unclaimed")
    assert claims.claims_remind_due(now=deadline_of(event)) == []
    day_before = alternate_claim.deadline - timedelta(days=1)
    assert [c.pk for c in claims.claims_remind_due(now=day_before)] == [alternate_claim.pk]


def test_sweeping_twice_or_expiring_a_claim_twice_substitutes_once(creator, clock):
    event = drawn_event(creator, clock)
    clock.move_to(deadline_of(event), tick=False)
    sweep()
    sweep()
    claim = Claim.objects.get(event=event, status="forfeited")
    assert substitutions.claim_expire(claim_id=claim.pk, now=timezone.now()) is None
    assert Substitution.objects.filter(event=event).count() == 1


def test_a_redeem_code_stays_with_its_unit_and_goes_to_the_alternate(creator, clock):
    prizes = [{"name": "券", "quantity": 2, "codes": ["CODE-A", "CODE-B"]}]
    event = drawn_event(creator, clock, delivery="code", prizes=prizes)
    assert RedeemCode.objects.filter(prize__event=event).count() == 2
    order = order_of(event)
    clock.move_to(event.drawn_at + timedelta(hours=1), tick=False)
    disqualify(creator, event, order[0])  # unit 0: the first of the prize's codes
    alternate = user_of(event, order[2])
    response = client_for(alternate).get(f"/api/v1/events/{event.public_id}/claim")
    assert response.json()["data"]["code"] == "CODE-A"
    second = user_of(event, order[1])
    response = client_for(second).get(f"/api/v1/events/{event.public_id}/claim")
    assert response.json()["data"]["code"] == "CODE-B"


# --- disqualification -------------------------------------------------------------------------


def test_the_creator_disqualifies_a_winner_with_a_public_reason(creator, clock):
    event = drawn_event(creator, clock)
    order = order_of(event)

    response = disqualify(creator, event, order[0], reason="duplicate_account")

    assert response.status_code == 200
    body = response.json()["data"]
    assert body["replaced"] == order[0] and body["replacement"] == order[1]
    assert (body["unit"], body["step"], body["reason"]) == (0, 1, "duplicate_account")
    assert body["prize"]["name"] == "大奖"
    assert [w["user"]["id"] for w in winners_of(event)["winners"]] == [order[1]]


# --- the disqualified winner is told ------------------------------------------------------------

STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
SUBSCRIBE_SEND = "https://wechat.test/cgi-bin/message/subscribe/send"


@pytest.fixture
def result_template(settings):
    settings.NOTIFY_TEMPLATES = {
        **settings.NOTIFY_TEMPLATES,
        "result": {
            "id": "tpl-result",
            "fields": {"title": "thing1", "result": "thing2", "draw_at": "time3"},
        },
    }


def wechat_sends(wechat) -> list[dict]:
    return [
        json.loads(call.request.body)
        for call in wechat.calls
        if call.request.url.split("?")[0] == SUBSCRIBE_SEND
    ]


def inbox_of(user) -> dict:
    return client_for(user).get("/api/v1/me/notifications").json()["data"]


def test_a_disqualified_winner_finds_it_in_their_inbox_with_the_prize_and_the_reason(
    creator, clock
):
    event = drawn_event(creator, clock)
    winner = user_of(event, order_of(event)[0])
    unread_before = inbox_of(winner)["unread_count"]
    clock.move_to(event.drawn_at + timedelta(days=1), tick=False)

    disqualify(creator, event, order_of(event)[0], reason="duplicate_account")

    inbox = inbox_of(winner)
    [item] = [item for item in inbox["results"] if item["kind"] == "disqualified"]
    assert item["id"] == f"disqualified-{event.public_id}"
    assert item["event"] == {"id": event.public_id, "title": event.title}
    assert item["prize"]["name"] == "大奖" and item["reason"] == "duplicate_account"
    assert item["read"] is False and inbox["unread_count"] == unread_before + 1
    assert inbox["results"][0] == item  # the newest


def test_with_consent_a_disqualified_winner_gets_one_subscribe_message_in_chinese(
    creator, clock, wechat, result_template
):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 0, "errmsg": "ok"})
    event = drawn_event(creator, clock)
    notify_tasks.sweep()  # the draw's own messages: nobody had allowed one
    winner, alternate = (user_of(event, key) for key in order_of(event)[:2])
    SubscriptionQuota.objects.create(user=winner, template_id="tpl-result", quota=1)

    disqualify(creator, event, order_of(event)[0], reason="fake_account")
    notify_tasks.sweep()
    notify_tasks.sweep()  # and again: nothing twice

    [message] = wechat_sends(wechat)
    assert message["touser"] == winner.openid and message["template_id"] == "tpl-result"
    assert message["data"]["thing1"] == {"value": event.title}
    assert message["data"]["thing2"] == {"value": "中奖资格已取消：虚假账号"}
    assert message["page"] == f"pages/event/detail?id={event.public_id}"
    assert SubscriptionQuota.objects.get(user=winner).quota == 0
    assert not Delivery.objects.filter(user=alternate).exists()  # no consent: the inbox only


def test_without_consent_a_disqualified_winner_is_told_in_the_inbox_only(
    creator, clock, wechat, result_template
):
    event = drawn_event(creator, clock)
    winner = user_of(event, order_of(event)[0])

    disqualify(creator, event, order_of(event)[0])
    notify_tasks.sweep()

    assert not Delivery.objects.filter(user=winner).exists() and not wechat.calls
    assert any(item["kind"] == "disqualified" for item in inbox_of(winner)["results"])


def test_a_winner_whose_window_passed_unclaimed_is_not_called_disqualified(
    creator, clock, result_template
):
    event = drawn_event(creator, clock)
    winner = user_of(event, holder(event))
    SubscriptionQuota.objects.create(user=winner, template_id="tpl-result", quota=1)
    clock.move_to(deadline_of(event), tick=False)
    sweep()

    notify_services.substitutions_fan_out(now=timezone.now())

    assert all(item["kind"] != "disqualified" for item in inbox_of(winner)["results"])
    assert not Delivery.objects.filter(user=winner, kind="disqualified").exists()


@pytest.mark.parametrize("persona", ["winner", "entrant", "outsider"])
def test_nobody_but_the_creator_may_disqualify(creator, clock, persona):
    event = drawn_event(creator, clock)
    order = order_of(event)
    user = {
        "winner": user_of(event, order[0]),
        "entrant": user_of(event, order[1]),
        "outsider": UserFactory(),
    }[persona]
    response = disqualify(user, event, order[0])
    assert response.status_code == 403 and response.json()["code"] == 40301
    assert holder(event) == order[0]


def test_a_reason_outside_the_public_list_is_a_400(creator, clock):
    event = drawn_event(creator, clock)
    order = order_of(event)
    for reason in ("expired", "i_dont_like_them", ""):
        response = disqualify(creator, event, order[0], reason=reason)
        assert response.status_code == 400 and response.json()["code"] == 40000
    assert holder(event) == order[0]


def test_only_a_current_winner_can_be_disqualified(creator, clock):
    event = drawn_event(creator, clock)
    order = order_of(event)
    assert disqualify(creator, event, order[3]).json()["code"] == 40403  # never won
    assert disqualify(creator, event, "u_nobody").json()["code"] == 40403
    assert disqualify(creator, event, order[0]).status_code == 200
    assert disqualify(creator, event, order[0]).json()["code"] == 40403  # already replaced


@pytest.mark.parametrize("alias", [str.upper, str.capitalize, lambda key: key + " "])
def test_a_winners_id_in_another_case_or_with_a_trailing_space_is_a_404(creator, clock, alias):
    event = drawn_event(creator, clock)
    winner = order_of(event)[0]

    response = disqualify(creator, event, alias(winner))

    assert response.status_code == 404 and response.json()["code"] == 40403
    assert holder(event) == winner and not Substitution.objects.exists()


def test_an_undrawn_event_has_nobody_to_disqualify(creator):
    event = EventFactory(creator=creator)
    response = disqualify(creator, event, "u_whoever")
    assert response.status_code == 409 and response.json()["code"] == 40905


def test_a_winner_whose_prize_shipped_cannot_be_disqualified(creator, clock):
    event = drawn_event(creator, clock, delivery="shipping")
    order = order_of(event)
    winner = user_of(event, order[0])
    address = {"name": "张三", "phone": "13800138000", "province": "广东省", "city": "广州市",
               "county": "天河区", "detail": "体育西路 1 号", "postal_code": "510000"}  # fmt: skip
    client_for(winner).post(
        f"/api/v1/events/{event.public_id}/claim", {"address": address}, format="json"
    )
    claim = Claim.objects.get(entry__user=winner)
    client_for(creator).post(
        f"/api/v1/events/{event.public_id}/claims/{claim.public_id}/ship",
        {"carrier": "顺丰", "tracking_number": "SF1"},
        format="json",
    )
    response = disqualify(creator, event, order[0])
    assert response.status_code == 409 and response.json()["code"] == 40910
    assert holder(event) == order[0]


def test_a_winner_who_claimed_can_still_be_disqualified_before_shipping(creator, clock):
    event = drawn_event(creator, clock)
    order = order_of(event)
    winner = user_of(event, order[0])
    client_for(winner).post(f"/api/v1/events/{event.public_id}/claim", {}, format="json")
    assert disqualify(creator, event, order[0], reason="ineligible").status_code == 200
    assert my_entry(winner, event)["claim"]["state"] == "forfeited"


# --- limits -----------------------------------------------------------------------------------


def test_a_unit_passes_at_most_max_substitutions_times_then_is_unawarded(creator, clock, settings):
    settings.LOTTERY_MAX_SUBSTITUTIONS = 2
    event = drawn_event(creator, clock)
    order = order_of(event)
    for expected in (order[1], order[2]):
        assert disqualify(creator, event, holder(event)).json()["data"]["replacement"] == expected

    last = disqualify(creator, event, order[2]).json()["data"]

    assert last["replacement"] is None and last["step"] is None
    assert holder(event) is None
    published = winners_of(event)
    assert published["winners"] == []
    assert published["unawarded"][0]["unawarded_units"] == 1
    assert Prize.objects.get(event=event).awarded == 0


def test_when_the_order_runs_out_the_unit_is_unawarded(creator, clock):
    event = drawn_event(creator, clock, entrants=2)
    order = order_of(event)
    assert disqualify(creator, event, order[0]).json()["data"]["replacement"] == order[1]
    assert disqualify(creator, event, order[1]).json()["data"]["replacement"] is None
    assert winners_of(event)["unawarded"][0]["unawarded_units"] == 1


def test_all_units_share_one_order_and_nobody_wins_twice(creator, clock):
    prizes = [{"name": "一等奖", "quantity": 1}, {"name": "二等奖", "quantity": 2}]
    event = drawn_event(creator, clock, entrants=8, prizes=prizes)
    order = order_of(event)  # units 0..2 went to order[0..2]; alternates from step 3

    assert disqualify(creator, event, order[2]).json()["data"]["step"] == 3
    assert disqualify(creator, event, order[0]).json()["data"]["step"] == 4

    assert [holder(event, unit) for unit in range(3)] == [order[4], order[1], order[3]]
    winners = winners_of(event)["winners"]
    assert [w["prize"]["name"] for w in winners] == ["一等奖", "二等奖", "二等奖"]


# --- the proof and the verifiers --------------------------------------------------------------


def test_the_proof_lists_every_substitution_and_both_verifiers_confirm_it(creator, clock, tmp_path):
    event = drawn_event(creator, clock, entrants=5, prizes=[{"name": "奖", "quantity": 2}])
    order = order_of(event)
    clock.move_to(event.drawn_at + timedelta(hours=1), tick=False)
    disqualify(creator, event, order[1], reason="rule_violation")
    clock.move_to(deadline_of(event), tick=False)
    sweep()  # order[0] never claimed; order[2], the first alternate, is still in their window

    proof = proof_of(event)
    assert proof["max_substitutions"] == 3
    assert [
        (s["unit"], s["replaced"], s["reason"], s["step"], s["replacement"])
        for s in proof["substitutions"]
    ] == [(1, order[1], "rule_violation", 2, order[2]), (0, order[0], "expired", 3, order[3])]
    assert proof["substitutions"][1]["at"] == timezone.localtime(deadline_of(event)).isoformat()

    call_command("verify_draw", event.public_id)  # raises CommandError when not confirmed
    assert run_tools_verifier(event, tmp_path, proof=proof) == 0


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda s, order: s.update(replacement=order[4]), id="another-alternate"),
        pytest.param(lambda s, order: s.update(step=4, replacement=order[4]), id="skipped-step"),
        pytest.param(lambda s, order: s.update(replaced=order[3]), id="wrong-replaced"),
        pytest.param(lambda s, order: s.update(reason="bribe"), id="secret-reason"),
        pytest.param(lambda s, order: s.update(step=None, replacement=None), id="early-unaward"),
    ],
)
def test_both_verifiers_reject_a_forged_substitution(creator, clock, tmp_path, forge):
    event = drawn_event(creator, clock, entrants=5)
    order = order_of(event)
    disqualify(creator, event, order[0])
    proof = proof_of(event)
    forge(proof["substitutions"][0], order)
    winners = winners_of(event)

    problems = verify(
        proof=proof,
        entrant_keys=order,
        winners=winners["winners"],
        unawarded=winners["unawarded"],
    )
    assert any(p.startswith("substitution #1") for p in problems)
    assert run_tools_verifier(event, tmp_path, proof=proof) == 1


def test_a_published_winner_who_is_not_the_order_s_alternate_is_caught(creator, clock, tmp_path):
    event = drawn_event(creator, clock, entrants=5)
    order = order_of(event)
    disqualify(creator, event, order[0])
    proof = proof_of(event)
    winners = winners_of(event)
    winners["winners"][0]["user"]["id"] = order[2]  # the server hands the prize to someone else
    problems = verify(proof=proof, entrant_keys=order, winners=winners["winners"])
    assert problems and problems[0].startswith("winner #1")


def run_tools_verifier(event, tmp_path, *, proof) -> int:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tools" / "verify_draw.py"
    spec = importlib.util.spec_from_file_location("verify_draw_standalone", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "entrants.txt").write_text("".join(key + "\n" for key in keys))
    (tmp_path / "winners.json").write_text(json.dumps(winners_of(event)))
    return module.main(
        [
            *("--proof", str(tmp_path / "proof.json")),
            *("--entrants", str(tmp_path / "entrants.txt")),
            *("--winners", str(tmp_path / "winners.json")),
        ]
    )


def test_a_canceled_or_undrawn_event_publishes_no_substitutions(creator):
    event = EventFactory(creator=creator)
    assert proof_of(event)["substitutions"] == []
    assert Event.objects.get(pk=event.pk).status == Event.Status.INIT


def test_staff_see_every_substitution_on_the_event_page(creator, clock, client):
    from django.urls import reverse

    from tests.factories import StaffFactory

    event = drawn_event(creator, clock)
    order = order_of(event)
    disqualify(creator, event, order[0], reason="duplicate_account")
    client.force_login(StaffFactory())

    page = client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()

    assert order[0] in page and order[1] in page
    assert "重复账号" in page  # the reason, in Chinese
    assert "已转给候补" in page  # the log row's action


def test_in_an_event_without_a_claim_step_a_disqualified_winner_s_alternate_never_expires(
    creator, clock
):
    event = drawn_event(creator, clock, delivery="none")
    order = order_of(event)
    assert disqualify(creator, event, order[0]).json()["data"]["replacement"] == order[1]
    clock.move_to(deadline_of(event) + timedelta(days=DAYS + 1), tick=False)
    sweep()
    assert holder(event) == order[1]
    assert my_entry(user_of(event, order[1]), event)["claim"] is None  # no claim step


def test_the_limit_is_fixed_at_the_event_s_first_substitution(creator, clock, settings):
    settings.LOTTERY_MAX_SUBSTITUTIONS = 1
    event = drawn_event(creator, clock)
    order = order_of(event)
    assert disqualify(creator, event, order[0]).json()["data"]["replacement"] == order[1]
    settings.LOTTERY_MAX_SUBSTITUTIONS = 5  # the operator changes the setting afterwards

    assert disqualify(creator, event, order[1]).json()["data"]["replacement"] is None
    assert proof_of(event)["max_substitutions"] == 1
    call_command("verify_draw", event.public_id)


def test_the_public_reasons_are_one_list_everywhere():
    from tests.test_fairness import load_verifier

    assert tuple(Substitution.Reason.values) == allocator.SUBSTITUTION_REASONS
    assert load_verifier().REASONS == allocator.SUBSTITUTION_REASONS
