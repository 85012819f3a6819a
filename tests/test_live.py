"""Live draws (issue 25): the host's commands, the rounds and their chained proofs, the log.

Every round is drawn with the draws' own allocator and checked here with the standalone
verifier (tools/verify_draw.py, its round-proof mode), never with the server's code.
"""

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from draws import services as draw_services
from events.models import Event
from events.services.entries import entry_join
from events.services.events import event_cancel
from live import selectors, services, tasks
from live.models import LiveEvent, LiveMessage, LiveRound, LiveWinner, ScreenLink
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parent.parent

PRIZES = [
    {"name": "特等奖", "quantity": 1},
    {"name": "一等奖", "quantity": 2},
    {"name": "二等奖", "quantity": 3},
]


def verifier():
    spec = importlib.util.spec_from_file_location("verify_draw", REPO / "tools/verify_draw.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def party(creator):
    """A live event with three rounds (the lowest tier first) and 20 entrants."""
    now = timezone.now()
    event = EventFactory(creator=creator, prizes=PRIZES, draw_mode="manual", now=now)
    services.live_start(event=event, actor=creator, rounds=None, now=now)
    entrants = [UserFactory(nickname=f"张三{n}") for n in range(20)]
    for user in entrants:
        entry_join(event=event, user=user, now=now)
    event.refresh_from_db()
    return event


def gap(event, seconds):
    """The event's reveal gap, fixed at its creation (docs/fairness.md), set to ``seconds``."""
    Event.objects.filter(pk=event.pk).update(reveal_gap_seconds=seconds)
    event.refresh_from_db()


def draw_round(event, creator, now=None):
    now = now or timezone.now()
    this = services.round_lock(event=event, actor=creator, now=now)
    assert services.round_draw(round_id=this.pk, now=now)
    this.refresh_from_db()
    return this


def test_creator_makes_an_event_live_with_one_round_per_tier_lowest_first(creator):
    event = EventFactory(creator=creator, prizes=PRIZES)
    live = services.live_start(event=event, actor=creator, rounds=None, now=timezone.now())

    event.refresh_from_db()
    assert event.live and live.phase == LiveEvent.Phase.OPEN
    names = [
        [event.prizes.get(public_id=p).name for p in r.prizes]
        for r in LiveRound.objects.filter(live=live)
    ]
    assert names == [["二等奖"], ["一等奖"], ["特等奖"]]
    assert LiveMessage.objects.get(live=live).kind == "started"


def test_rounds_may_group_tiers_but_must_cover_each_prize_once(creator):
    event = EventFactory(creator=creator, prizes=PRIZES)
    ids = [p.public_id for p in event.prizes.order_by("position")]
    with pytest.raises(Exception, match="invalid_input"):
        services.live_start(event=event, actor=creator, rounds=[[ids[0]]], now=timezone.now())
    live = services.live_start(
        event=event, actor=creator, rounds=[[ids[2], ids[1]], [ids[0]]], now=timezone.now()
    )
    assert [r.prizes for r in live.rounds.all()] == [[ids[1], ids[2]], [ids[0]]]


def test_outsider_cannot_make_an_event_live(creator, outsider):
    event = EventFactory(creator=creator)
    response = client_for(outsider).post(f"/api/v1/events/{event.public_id}/live", {}, "json")
    assert response.status_code == 403 and response.json()["code"] == 40301


def test_an_event_someone_joined_cannot_become_live(creator, entrant):
    event = EventFactory(creator=creator)
    entry_join(event=event, user=entrant, now=timezone.now())
    response = client_for(creator).post(f"/api/v1/events/{event.public_id}/live", {}, "json")
    assert response.status_code == 409 and response.json()["code"] == 40904
    response = client_for(creator).post(f"/api/v1/events/{event.public_id}/live", {}, "json")
    assert not Event.objects.get(pk=event.pk).live


def test_a_party_of_three_rounds_gives_each_entrant_one_prize_at_most(party, creator):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    rounds = [draw_round(party, creator) for _ in range(3)]
    party.refresh_from_db()

    winners = list(LiveWinner.objects.filter(live_id=party.pk))
    assert len(winners) == 6 and len({w.entry_id for w in winners}) == 6
    assert [r.entrant_count for r in rounds] == [20, 17, 15]
    assert rounds[0].previous_result == party.entrants_digest
    assert rounds[1].previous_result == rounds[0].result_digest
    assert rounds[2].previous_result == rounds[1].result_digest
    with pytest.raises(Exception, match="live_no_rounds_left"):
        services.round_lock(event=party, actor=creator, now=timezone.now())


def test_the_standalone_verifier_confirms_every_round_and_the_chain(party, creator, api):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    for _ in range(3):
        draw_round(party, creator)
    proofs = api.get(f"/api/v1/events/{party.public_id}/live/proof").json()["data"]
    keys = api.get(f"/api/v1/events/{party.public_id}/entrants").getvalue().decode().split()

    problems, notes = verifier().check_live(proofs, keys)

    assert problems == []
    assert any("without a public beacon" in note for note in notes)


def test_the_verifier_catches_a_swapped_winner_and_a_broken_chain(party, creator, api):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    for _ in range(2):
        draw_round(party, creator)
    proofs = api.get(f"/api/v1/events/{party.public_id}/live/proof").json()["data"]
    keys = api.get(f"/api/v1/events/{party.public_id}/entrants").getvalue().decode().split()
    check = verifier().check_live

    swapped = json.loads(json.dumps(proofs))
    loser = next(
        k for k in keys if k not in {w["user"]["id"] for w in swapped["rounds"][0]["winners"]}
    )
    swapped["rounds"][0]["winners"][0]["user"]["id"] = loser
    assert any("round 1" in p and "winner #1" in p for p in check(swapped, keys)[0])

    rechained = json.loads(json.dumps(proofs))
    rechained["rounds"][1]["previous_result"] = "0" * 64
    assert any("round 2" in p and "previous" in p for p in check(rechained, keys)[0])


def test_a_round_waits_for_the_reveal_gap_after_its_lock(party, creator, settings):
    gap(party, 10)  # fixed at creation (v3 proofs): set on the event
    now = timezone.now()
    services.live_lock(event=party, actor=creator, now=now)
    this = services.round_lock(event=party, actor=creator, now=now)

    assert not services.round_draw(round_id=this.pk, now=now + timedelta(seconds=9))
    assert services.round_draw(round_id=this.pk, now=now + timedelta(seconds=10))
    assert not services.round_draw(round_id=this.pk, now=now + timedelta(seconds=11))  # once
    assert LiveWinner.objects.filter(round=this).count() == 3


def test_a_round_is_named_a_beacon_round_after_its_own_lock_and_waits_for_it(
    party, creator, settings
):
    chain = {"hash": "ab" * 32, "scheme": "pedersen-bls-unchained", "public_key": "cd" * 48,
             "period": 3, "genesis_time": 1_700_000_000}  # fmt: skip
    Event.objects.filter(pk=party.pk).update(beacon_chain=chain)
    party.refresh_from_db()
    gap(party, 10)  # fixed at creation (v3 proofs): set on the event
    settings.DRAND_URLS = []  # nobody serves the round: the draw waits, never falls back
    now = timezone.now()
    services.live_lock(event=party, actor=creator, now=now)
    this = services.round_lock(event=party, actor=creator, now=now)

    round_time = chain["genesis_time"] + (this.beacon_round - 1) * chain["period"]
    assert round_time >= (now + timedelta(seconds=10)).timestamp()
    assert round_time - chain["period"] < (now + timedelta(seconds=10)).timestamp()
    assert not services.round_draw(round_id=this.pk, now=now + timedelta(hours=1))
    this.refresh_from_db()
    assert this.status == LiveRound.Status.LOCKED


def test_host_commands_follow_the_phases(party, creator):
    now = timezone.now()
    with pytest.raises(Exception, match="event_not_locked"):
        services.round_lock(event=party, actor=creator, now=now)
    services.live_lock(event=party, actor=creator, now=now)
    services.live_pause(event=party, actor=creator, now=now)
    with pytest.raises(Exception, match="live_paused"):
        services.round_lock(event=party, actor=creator, now=now)
    services.live_resume(event=party, actor=creator, now=now)
    this = services.round_lock(event=party, actor=creator, now=now)
    services.live_end(event=party, actor=creator, now=now)
    # A round locked before the end is still drawn: its result was fixed at its lock.
    assert services.round_draw(round_id=this.pk, now=now)
    with pytest.raises(Exception, match="live_ended"):
        services.round_lock(event=party, actor=creator, now=now)
    kinds = list(LiveMessage.objects.filter(live_id=party.pk).values_list("kind", flat=True))
    assert kinds[-6:] == ["locked", "paused", "resumed", "round_locked", "ended", "round_drawn"]


def test_entrants_cannot_join_once_the_host_locked(party, creator, entrant):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    with pytest.raises(Exception, match="event_locked"):
        entry_join(event=party, user=entrant, now=timezone.now())


def test_the_draw_sweeper_never_draws_a_live_event_in_one_go(party, creator):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    assert not draw_services.event_draw(event_id=party.pk, now=party.draw_at + timedelta(hours=1))
    assert Event.objects.get(pk=party.pk).status == Event.Status.OPENING


def test_a_live_event_locked_on_schedule_is_drawn_by_its_host(party, creator):
    later = party.lock_at + timedelta(seconds=1)
    draw_services.event_lock(event_id=party.pk, now=later)
    this = services.round_lock(event=party, actor=creator, now=later)
    assert services.round_draw(round_id=this.pk, now=later)


def test_the_live_sweeper_draws_a_round_whose_task_was_lost(party, creator, settings):
    gap(party, 1)  # fixed at creation (v3 proofs): set on the event
    now = timezone.now()
    services.live_lock(event=party, actor=creator, now=now)
    this = services.round_lock(event=party, actor=creator, now=now)  # its task: not due yet
    assert LiveRound.objects.get(pk=this.pk).status == LiveRound.Status.LOCKED
    with time_machine.travel(now + timedelta(seconds=2), tick=False):
        tasks.sweep.apply()
        tasks.sweep.apply()  # twice: nothing more happens
    assert LiveRound.objects.get(pk=this.pk).status == LiveRound.Status.DRAWN
    assert LiveMessage.objects.filter(live_id=party.pk, kind="round_drawn").count() == 1


def test_the_log_is_numbered_without_gaps(party, creator):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    draw_round(party, creator)
    seqs = list(LiveMessage.objects.filter(live_id=party.pk).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert LiveEvent.objects.get(pk=party.pk).seq == seqs[-1]


def test_joins_are_announced_in_batches_with_masked_names(creator):
    now = timezone.now()
    event = EventFactory(creator=creator, now=now)
    services.live_start(event=event, actor=creator, rounds=None, now=now)
    for name in ("张三丰", "李四", "王"):
        entry_join(event=event, user=UserFactory(nickname=name), now=now)

    seq = services.joins_announce(live_id=event.pk, now=now)
    assert services.joins_announce(live_id=event.pk, now=now) is None  # nothing new

    message = LiveMessage.objects.get(live_id=event.pk, seq=seq)
    assert message.payload["count"] == 3
    assert [e["name"] for e in message.payload["entrants"]] == ["*", "李*", "张*丰"]


def test_anyone_reads_the_state_and_the_log_without_unmasked_names(party, creator, api):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    draw_round(party, creator)
    state = api.get(f"/api/v1/events/{party.public_id}/live").json()["data"]
    log = api.get(f"/api/v1/events/{party.public_id}/live/messages?after=0").json()["data"]

    assert state["phase"] == "locked" and state["count"] == 20
    assert [r["status"] for r in state["rounds"]] == ["drawn", "planned", "planned"]
    assert log["seq"] == state["seq"] and log["messages"][-1]["type"] == "round_drawn"
    text = json.dumps([state, log], ensure_ascii=False)
    assert "张三" not in text and "张*" in text  # every nickname here starts 张三


def test_host_draws_rounds_through_the_api(party, creator, django_capture_on_commit_callbacks):
    host = client_for(creator)
    assert host.post(f"/api/v1/events/{party.public_id}/live/lock").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = host.post(f"/api/v1/events/{party.public_id}/live/rounds/next")
    assert response.status_code == 202
    assert response.json()["data"]["rounds"][0]["status"] == "locked"
    # The draw task ran after the commit (CELERY_TASK_ALWAYS_EAGER, no reveal gap here).
    state = host.get(f"/api/v1/events/{party.public_id}/live").json()["data"]
    assert state["rounds"][0]["status"] == "drawn"
    assert (
        host.post(f"/api/v1/events/{party.public_id}/live/end").json()["data"]["phase"] == "ended"
    )


def test_an_entrant_cannot_drive_the_party(party, entrant):
    response = client_for(entrant).post(f"/api/v1/events/{party.public_id}/live/lock")
    assert response.status_code == 403


def test_a_screen_link_opens_the_page_and_stops_once_revoked(party, creator, client):
    host = client_for(creator)
    made = host.post(f"/api/v1/events/{party.public_id}/live/screens").json()["data"]
    path = made["url"].split("testserver", 1)[1]

    page = client.get(path)
    assert page.status_code == 200 and "现场开奖" in page.content.decode()
    assert "<svg" in page.content.decode()  # the "verify this draw" QR, drawn server-side

    revoked = host.delete(f"/api/v1/events/{party.public_id}/live/screens/{made['id']}")
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked_at"]
    assert client.get(path).status_code == 404
    assert ScreenLink.objects.get(public_id=made["id"]).revoked_at is not None


def test_a_screen_link_cannot_control_the_event(party, creator, api):
    _, token = services.screen_create(event=party, actor=creator, now=timezone.now())
    for header in (f"Bearer {token}", f"Screen {token}"):
        response = api.post(
            f"/api/v1/events/{party.public_id}/live/lock", HTTP_AUTHORIZATION=header
        )
        assert response.status_code == 401
    assert LiveEvent.objects.get(pk=party.pk).phase == LiveEvent.Phase.OPEN


def test_the_state_of_a_canceled_live_event_says_so(party, creator):
    event_cancel(event=party, actor=creator, now=timezone.now(), reason="")
    live = selectors.live_get(public_id=party.public_id)
    assert selectors.state(live)["phase"] == "canceled"
    with pytest.raises(Exception, match="event_canceled"):
        services.live_lock(event=party, actor=creator, now=timezone.now())


def test_verify_draw_live_mode_exits_zero_on_a_true_party_and_one_on_a_forged_one(
    party, creator, api, tmp_path, capsys
):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    for _ in range(3):
        draw_round(party, creator)
    proof = api.get(f"/api/v1/events/{party.public_id}/live/proof").json()
    keys = api.get(f"/api/v1/events/{party.public_id}/entrants").getvalue()
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "entrants.txt").write_bytes(keys)
    args = [
        "--live",
        "--proof",
        str(tmp_path / "proof.json"),
        "--entrants",
        str(tmp_path / "entrants.txt"),
    ]
    main = verifier().main

    assert main(args) == 0
    assert "3 round(s) confirmed" in capsys.readouterr().out
    proof["data"]["rounds"][2]["winners"][0]["user"]["id"] = "u_0000000000000000"
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    assert main(args) == 1
    capsys.readouterr()


def test_verify_draw_live_mode_exits_four_when_a_round_went_ahead_without_its_beacon(
    party, creator, api, tmp_path, capsys
):
    services.live_lock(event=party, actor=creator, now=timezone.now())
    draw_round(party, creator)
    proof = api.get(f"/api/v1/events/{party.public_id}/live/proof").json()
    keys = api.get(f"/api/v1/events/{party.public_id}/entrants").getvalue()
    proof["data"]["rounds"][0]["beacon_round"] = 123  # named, but none used
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "entrants.txt").write_bytes(keys)
    args = ["--live", "--proof", str(tmp_path / "proof.json"), "--entrants"]

    assert verifier().main([*args, str(tmp_path / "entrants.txt")]) == 4  # as for one draw
    assert "missing beacon" in capsys.readouterr().out
