"""Issue 21: a draw nobody can steer, operator and staff included (proof v3).

Acceptance on a real stack (the database, the services, the API, the sweeper's task) with
local drand relays over HTTP (tests/fake_drand.py): a silent one (accepts, never answers), a
lying one (serves rounds signed with another key) and an honest one. Then each of the four
attacks of the issue, and what the two verifiers (tools/verify_draw.py, stand-alone; and
``manage.py verify_draw``) say about the proof each leaves.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from beacon import drand
from draws import allocator, services, substitutions
from draws import tasks as draw_tasks
from draws.proof import MISSING_BEACON, chain_hash, first_round_at_or_after, verify, verify_report
from events.models import Entry, Event, Substitution
from events.services.entries import entry_join
from events.services.events import event_cancel, event_create
from lottery_site.errors import ApplicationError
from notifications import services as notify_services
from tests.conftest import client_for
from tests.factories import StaffFactory, UserFactory
from tests.fake_drand import (
    FakeDrandRelay,
    configure,
    public_key,
    signed_round,
)
from tests.test_fairness import load_verifier
from tests.test_metrics import TOKEN, scrape

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + timedelta(days=1)
PERIOD = 3
GENESIS = int(START.timestamp()) - 3000 * PERIOD
GAP = 10


@pytest.fixture
def relays(settings):
    """Three relays of one test chain: silent, lying, honest (in that order in DRAND_URLS)."""
    with (
        FakeDrandRelay(period=PERIOD, genesis_time=GENESIS) as silent,
        FakeDrandRelay(period=PERIOD, genesis_time=GENESIS) as liar,
        FakeDrandRelay(period=PERIOD, genesis_time=GENESIS) as honest,
    ):
        silent.state.silent = True
        liar.state.lie()
        configure(settings, [silent, liar, honest], timeout=0.5)
        settings.LOTTERY_REVEAL_GAP_SECONDS = GAP
        settings.DRAND_MAX_WAIT_SECONDS = 60
        settings.LOTTERY_MAX_SUBSTITUTIONS = 3
        yield silent, liar, honest


def make_event(*, entrants=6, prizes=(("一等奖", 1), ("二等奖", 2)), creator=None, **extra):
    event = event_create(
        creator=creator or UserFactory(),
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


def lock(event, *, late=timedelta(0)):
    assert services.event_lock(event_id=event.pk, now=event.lock_at + late)
    event.refresh_from_db()
    return event


def round_time(event):
    return timezone.datetime.fromtimestamp(
        GENESIS + (event.beacon_round - 1) * PERIOD, tz=timezone.get_current_timezone()
    )


def publish(relays, round_number):
    for relay in relays:
        relay.state.publish(round_number)


def proof_of(event) -> dict:
    return APIClient().get(f"/api/v1/events/{event.public_id}/proof").json()["data"]


def winners_of(event) -> dict:
    return APIClient().get(f"/api/v1/events/{event.public_id}/winners").json()["data"]


def keys_of(event) -> list[str]:
    return sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))


def standalone(event, tmp_path, *, proof=None, winners=True) -> int:
    """tools/verify_draw.py on the event's published documents (or a forged proof)."""
    (tmp_path / "proof.json").write_text(json.dumps(proof or proof_of(event)))
    (tmp_path / "entrants.txt").write_text("".join(key + "\n" for key in keys_of(event)))
    argv = ["--proof", str(tmp_path / "proof.json"), "--entrants", str(tmp_path / "entrants.txt")]
    if winners:
        (tmp_path / "winners.json").write_text(json.dumps(winners_of(event)))
        argv += ["--winners", str(tmp_path / "winners.json")]
    return load_verifier().main([*argv, "--expect-public-key", public_key()])


def server_verify(event, proof=None) -> list[str]:
    event.refresh_from_db()
    published = winners_of(event) if event.status == Event.Status.OPENED else None
    return verify(
        proof=proof or proof_of(event),
        entrant_keys=keys_of(event),
        winners=published and published["winners"],
        unawarded=published and published["unawarded"],
    )


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def bad_answers(reason: str) -> float:
    return scrape(APIClient())("lottery_beacon_bad_answers_total", reason=reason)


def overdue(waiting: str) -> float:
    return scrape(APIClient())("lottery_beacon_overdue", waiting=waiting)


# --- the chain is pinned ----------------------------------------------------------------------

MAINNET_72785 = {  # a real round of the League of Entropy's mainnet
    "round": 72785,
    "previous_signature": "a609e19a03c2fcc559e8dae14900aaefe517cb55c840f6e69bc8e4f66c8d18e8"
    "a609685d9917efbfb0c37f058c2de88f13d297c7e19e0ab24813079efe57a182554ff054c7638153f9b2"
    "6a60e7111f71a0ff63d9571704905d3ca6df0b031747",
    "signature": "82f5d3d2de4db19d40a6980e8aa37842a0e55d1df06bd68bddc8d60002e8e959eb9cfa368b"
    "3c1b77d18f02a54fe047b80f0989315f83b12a74fd8679c4f12aae86eaf6ab5690b34f1fddd50ee3cc6f6"
    "cdf59e95526d5a5d82aaa84fa6f181e42",
}
QUICKNET_1000 = {  # a real round of quicknet
    "round": 1000,
    "previous_signature": None,
    "signature": "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8d"
    "d2bacbe47e4b6b63ed5e39",
}


def test_both_built_in_chain_hashes_recompute_from_their_info_as_drand_defines_it():
    verifier = load_verifier()
    for chain in (drand.MAINNET, drand.QUICKNET_CHAIN):
        assert drand.chain_hash(chain) == chain.hash
        assert chain_hash(chain.as_json()) == chain.hash
        assert verifier.chain_hash(verifier.KNOWN_CHAINS[chain.hash]) == chain.hash
        shipped = verifier.KNOWN_CHAINS[chain.hash]  # the verifier ships the same keys
        assert (shipped["public_key"], shipped["scheme"]) == (chain.public_key, chain.scheme)
        assert (shipped["period"], shipped["genesis_time"]) == (chain.period, chain.genesis_time)
    assert drand.MAINNET.hash.startswith("8990e7a9") and drand.QUICKNET_CHAIN.hash.startswith(
        "52db9ba7"
    )


@pytest.mark.parametrize(
    ("chain", "real"), [(drand.MAINNET, MAINNET_72785), (drand.QUICKNET_CHAIN, QUICKNET_1000)]
)
def test_a_real_round_verifies_under_the_pinned_key_in_the_server_and_the_verifier(chain, real):
    signature = bytes.fromhex(real["signature"])
    beacon = {**real, "randomness": hashlib.sha256(signature).hexdigest()}
    drand.verify_signature(chain=chain, round_number=real["round"], beacon=beacon)
    assert load_verifier().bls_check(
        chain.as_json(), real["round"], real["signature"], real["previous_signature"] or ""
    )
    with pytest.raises(drand.BeaconError):  # under the other chain's key
        drand.verify_signature(
            chain=drand.MAINNET if chain is drand.QUICKNET_CHAIN else drand.QUICKNET_CHAIN,
            round_number=real["round"],
            beacon=beacon,
        )


def test_the_config_names_a_built_in_chain_or_one_whose_hash_checks(settings):
    settings.DRAND_URLS = ["http://127.0.0.1:9"]
    settings.DRAND_CHAINS = []
    settings.DRAND_CHAIN_HASH = "quicknet"
    assert drand.configured_chain() == drand.QUICKNET_CHAIN
    settings.DRAND_CHAIN_HASH = drand.MAINNET.hash
    assert drand.configured_chain() == drand.MAINNET
    settings.DRAND_PUBLIC_KEY = drand.QUICKNET_CHAIN.public_key  # a key of another chain
    with pytest.raises(drand.ChainConfigError, match="DRAND_PUBLIC_KEY"):
        drand.configured_chain()
    settings.DRAND_PUBLIC_KEY = ""
    settings.DRAND_CHAIN_HASH = "ab" * 32
    with pytest.raises(drand.ChainConfigError, match="neither built in"):
        drand.configured_chain()
    forged = {
        "public_key": public_key(),  # our own key under quicknet's name
        "period": 3,
        "genesis_time": drand.QUICKNET_CHAIN.genesis_time,
        "hash": drand.QUICKNET_CHAIN.hash,
        "groupHash": drand.QUICKNET_CHAIN.group_hash,
        "schemeID": drand.QUICKNET,
        "metadata": {"beaconID": "quicknet"},
    }
    settings.DRAND_CHAINS = [forged]
    with pytest.raises(drand.ChainConfigError, match="hashes to"):
        drand.configured_chain()


def test_the_proof_names_the_chain_with_what_its_hash_covers(relays):
    honest = relays[2]
    proof = proof_of(make_event())
    chain = proof["beacon_chain"]
    assert chain["hash"] == honest.state.chain_hash == chain_hash(chain)
    assert (chain["group_hash"], chain["beacon_id"]) == (
        honest.state.chain.group_hash,
        "lottery-test",
    )


# --- acceptance: silent, lying and honest relays -------------------------------------------


def test_one_honest_relay_suffices_whatever_the_silent_and_the_lying_ones_do(relays, tmp_path):
    silent, liar, honest = relays
    event = lock(make_event())
    publish([liar, honest], event.beacon_round)
    invalid, unreachable = bad_answers("invalid"), bad_answers("unreachable")

    assert services.event_draw(event_id=event.pk, now=event.draw_at)

    proof = proof_of(event)
    assert proof["beacon"]["relays"] == [honest.url]
    assert proof["beacon"]["randomness"] == signed_round(event.beacon_round)["randomness"]
    assert bad_answers("invalid") == invalid + 1  # the liar, counted, not decisive
    assert bad_answers("unreachable") == unreachable + 1  # the silent one timed out
    assert server_verify(event) == []
    assert standalone(event, tmp_path) == 0


def test_once_named_the_draw_never_falls_back_however_long_the_relays_fail(relays):
    silent, liar, honest = relays
    event = lock(make_event())
    publish([liar], event.beacon_round)  # only a lie is out there
    for later in (timedelta(0), timedelta(minutes=11), timedelta(days=30)):
        assert services.event_draw(event_id=event.pk, now=round_time(event) + later) is False
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING and event.beacon is None
    assert proof_of(event)["seed"] is None


def test_with_every_relay_silent_the_draw_waits_shows_it_and_is_drawn_when_one_comes_back(
    relays, time_machine
):
    silent, liar, honest = relays
    liar.state.silent = honest.state.silent = True
    creator = UserFactory()
    event = lock(make_event(creator=creator))
    overdue_at = round_time(event) + timedelta(seconds=61)
    time_machine.move_to(overdue_at, tick=False)
    publish([honest], event.beacon_round)

    draw_tasks.draw_event(event.pk)
    draw_tasks.sweep()  # also counts what waits too long for its round
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING
    assert overdue("draw") == 1
    wait = client_for(creator).get(f"/api/v1/events/{event.public_id}").json()["data"]
    assert wait["beacon_wait"]["round"] == event.beacon_round
    assert wait["beacon_wait"]["waiting"] and wait["beacon_wait"]["overdue"]
    assert wait["beacon_wait"]["settles"] == "draw"

    honest.state.silent = False  # one relay comes back
    draw_tasks.sweep()
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED
    assert overdue("draw") == 0
    assert server_verify(event) == []


def test_the_detail_says_from_creation_whether_the_event_is_drawn_with_a_beacon(
    relays, settings, entrant
):
    with_beacon = make_event(entrants=0)
    settings.DRAND_URLS = []
    without = make_event(entrants=0)
    shown = {
        event: client_for(entrant).get(f"/api/v1/events/{event.public_id}").json()["data"]
        for event in (with_beacon, without)
    }
    assert shown[with_beacon]["fairness"]["beacon"] is True
    assert shown[with_beacon]["fairness"]["beacon_chain"]["hash"] == relays[2].state.chain_hash
    assert shown[without]["fairness"] == {
        "algorithm": "sha256-fisher-yates-v3",
        "beacon": False,
        "beacon_chain": None,
        "note": shown[without]["fairness"]["note"],
    }
    assert "未配置公共随机信标" in shown[without]["fairness"]["note"]
    assert shown[without]["beacon_wait"] is None
    # Configuring a beacon later changes nothing for it: it never waits for one.
    relays[2].state.publish(1)
    without = lock(without)
    assert without.beacon_round is None
    assert services.event_draw(event_id=without.pk, now=without.draw_at)


# --- attack 1: forced fallback ------------------------------------------------------------


def test_attack_forced_fallback_a_draw_without_its_named_round_fails_both_verifiers(
    relays, tmp_path
):
    """Block the relays or serve a corrupt round: the server waits. A proof claiming a draw
    without the named round (as a seed holder would forge one) is not confirmed: exit 4."""
    silent, liar, honest = relays
    event = lock(make_event())
    publish([liar, honest], event.beacon_round)
    assert services.event_draw(event_id=event.pk, now=event.draw_at)
    honest_proof = proof_of(event)
    forged = dict(honest_proof, beacon=None, beacon_missing_reason="relays disagree")
    seed = bytes.fromhex(forged["seed"])
    keys = keys_of(event)
    allocation = allocator.allocate(
        seed=seed,
        entrants_digest=forged["entrants_digest"],
        entrant_count=len(keys),
        prizes=[(p["id"], p["quantity"]) for p in forged["prizes"]],
        algorithm=allocator.ALGORITHM_V3,
        prizes_digest=forged["prizes_digest"],
        beacon_randomness=None,
    )
    winners = {
        "winners": [
            {"user": {"id": keys[position]}, "prize": {"id": prize}}
            for position, prize in allocation.awards
        ],
        "unawarded": [],
    }
    problems = verify(proof=forged, entrant_keys=keys, winners=winners["winners"], unawarded=[])
    assert problems and all(p.startswith(MISSING_BEACON) for p in problems)
    (tmp_path / "proof.json").write_text(json.dumps(forged))
    (tmp_path / "entrants.txt").write_text("\n".join(keys))
    (tmp_path / "winners.json").write_text(json.dumps(winners))
    argv = [
        *("--proof", str(tmp_path / "proof.json"), "--entrants", str(tmp_path / "entrants.txt")),
        *("--winners", str(tmp_path / "winners.json"), "--expect-public-key", public_key()),
    ]
    assert load_verifier().main(argv) == load_verifier().EXIT_MISSING_BEACON == 4


def test_a_v2_proof_that_fell_back_is_no_longer_accepted_with_a_warning():
    keys = ["u_0000000000000001", "u_3k9x2m7q5w8e1r4t", "u_a1b2c3d4e5f6g7h8"]
    count, digest = allocator.entrants_digest(keys)
    seed = bytes(range(32))
    prizes_digest = allocator.prizes_digest([("p_gold", 1, "Gold")])
    chain = {"hash": "c0" * 32, "scheme": drand.CHAINED, "public_key": public_key()}
    chain.update(period=3, genesis_time=0)
    allocation = allocator.allocate(
        seed=seed,
        entrants_digest=digest,
        entrant_count=count,
        prizes=[("p_gold", 1)],
        algorithm=allocator.ALGORITHM_V2,
        prizes_digest=prizes_digest,
    )
    proof = {
        "algorithm": allocator.ALGORITHM_V2,
        "status": "opened",
        "commitment": allocator.commitment(seed),
        "seed": seed.hex(),
        "entrant_count": count,
        "entrants_digest": digest,
        "prizes": [{"id": "p_gold", "name": "Gold", "quantity": 1}],
        "prizes_digest": prizes_digest,
        "beacon_round": 5,
        "beacon_chain": chain,
        "beacon": None,
        "beacon_missing_reason": "relays disagree on round 5",
        "lock_at": "1970-01-01T00:00:01+00:00",
    }
    winners = [{"user": {"id": keys[allocation.awards[0][0]]}, "prize": {"id": "p_gold"}}]
    problems = verify(proof=proof, entrant_keys=keys, winners=winners)
    assert problems and problems[0].startswith(MISSING_BEACON)
    standalone_problems, _ = load_verifier().check_draw(
        proof=proof, keys=keys, winners=winners, unawarded=None, expect_public_key=public_key()
    )
    assert standalone_problems and all(p.startswith("missing beacon") for p in standalone_problems)


# --- attack 2: cancel once the round is public --------------------------------------------


def test_attack_cancel_after_the_round_is_public_publishes_the_would_be_winners_and_a_trace(
    relays, tmp_path
):
    silent, liar, honest = relays
    honest.state.silent = True  # the relays are blocked for the server
    event = lock(make_event())
    after_round = round_time(event) + timedelta(seconds=30)
    assert services.event_draw(event_id=event.pk, now=after_round) is False
    staff = StaffFactory()

    with pytest.raises(ApplicationError) as refused:  # no public reason, no cancel
        event_cancel(event=event, actor=staff, now=after_round, by_staff=True)
    assert refused.value.name == "invalid_input"
    with pytest.raises(ApplicationError) as refused:  # the creator cannot cancel at all
        event_cancel(event=event, actor=event.creator, now=after_round)
    assert refused.value.name == "event_locked"

    event_cancel(event=event, actor=staff, now=after_round, reason="奖品无法发放", by_staff=True)
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING  # waits for the same round as the draw
    assert proof_of(event)["seed"] is None and proof_of(event)["cancel_reason"] == "奖品无法发放"

    honest.state.silent = False
    publish([honest], event.beacon_round)
    assert services.event_draw(event_id=event.pk, now=after_round + timedelta(seconds=5))
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELED
    proof = proof_of(event)
    assert proof["beacon"]["round"] == event.beacon_round and proof["seed"]
    assert len(proof["would_be_winners"]) == 3 and proof["winners_url"]
    assert proof["cancel_requested_at"] and proof["canceled_at"]

    report = verify_report(proof=proof, entrant_keys=keys_of(event))
    assert report.problems == [] and report.late_cancel
    assert standalone(event, tmp_path, winners=False) == 5  # confirmed, with the trace
    call_command("verify_draw", event.public_id)

    hidden = dict(proof, would_be_winners=None)  # a cancel that omits them is not confirmed
    assert any("would-be winners" in p for p in server_verify(event, hidden))
    assert standalone(event, tmp_path, proof=hidden, winners=False) == 1


def test_a_cancel_asked_before_the_round_is_out_is_no_trace(relays, tmp_path):
    silent, liar, honest = relays
    event = lock(make_event())
    event_cancel(
        event=event, actor=StaffFactory(), now=event.locked_at, reason="违规", by_staff=True
    )
    publish([honest], event.beacon_round)
    assert services.event_draw(event_id=event.pk, now=round_time(event))
    report = verify_report(proof=proof_of(event), entrant_keys=keys_of(event))
    assert report.problems == [] and not report.late_cancel
    assert standalone(event, tmp_path, winners=False) == 0


# --- attack 3: the disqualification walk --------------------------------------------------


def drawn(relays, *, entrants=30, prizes=(("大奖", 1),), delivery="contact"):
    event = lock(make_event(entrants=entrants, prizes=prizes, delivery=delivery, claim_days=7))
    publish([relays[2]], event.beacon_round)
    assert services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    return event


def test_attack_disqualification_walk_the_alternate_is_unknown_when_disqualifying(relays, tmp_path):
    silent, liar, honest = relays
    event = drawn(relays)
    winner = Entry.objects.get(event=event, prize__isnull=False)
    at = event.drawn_at + timedelta(hours=1)

    sub = substitutions.winner_disqualify(
        event=event, actor=event.creator, user_key=winner.user_key, reason="fake_account", now=at
    )

    # Recorded with a round nobody knows yet: the first at or after now + the gap.
    assert sub.pending and sub.replacement_key == ""
    chain = drand.Chain.from_json(event.beacon_chain)
    assert chain.round_time(sub.beacon_round) >= (at + timedelta(seconds=GAP)).timestamp()
    assert chain.round_time(sub.beacon_round - 1) < (at + timedelta(seconds=GAP)).timestamp()
    assert winners_of(event)["winners"] == [] and winners_of(event)["unawarded"] == []
    assert substitutions.substitution_resolve(substitution_id=sub.pk, now=at) is False

    publish([honest], sub.beacon_round)
    resolved_at = timezone.datetime.fromtimestamp(
        chain.round_time(sub.beacon_round), tz=timezone.get_current_timezone()
    )
    assert substitutions.substitution_resolve(substitution_id=sub.pk, now=resolved_at)
    sub.refresh_from_db()
    assert not sub.pending and sub.replacement_key and sub.resolved_at == resolved_at
    assert sub.beacon["round"] == sub.beacon_round
    # The alternate is the one the round draws among those who never held a unit.
    keys = keys_of(event)
    expected = allocator.alternate_pick(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        prizes_digest=event.prizes_digest,
        beacon_randomness=bytes.fromhex(sub.beacon["randomness"]),
        number=1,
        entrant_count=len(keys),
        excluded=[keys.index(winner.user_key)],
    )
    assert keys[expected] == sub.replacement_key != winner.user_key
    assert server_verify(event) == []
    assert standalone(event, tmp_path) == 0
    call_command("verify_draw", event.public_id)

    # The creator hands the prize to a friend instead: both verifiers name it.
    proof = proof_of(event)
    friend = next(k for k in keys if k not in (winner.user_key, sub.replacement_key))
    proof["substitutions"][0]["replacement"] = friend
    assert any(p.startswith("substitution #1") for p in server_verify(event, proof))
    assert standalone(event, tmp_path, proof=proof) == 1


def test_an_expired_reason_before_the_holder_s_deadline_is_caught_by_both_verifiers(
    relays, tmp_path
):
    silent, liar, honest = relays
    event = drawn(relays)
    winner = Entry.objects.get(event=event, prize__isnull=False)
    sub = substitutions.winner_disqualify(
        event=event,
        actor=event.creator,
        user_key=winner.user_key,
        reason="ineligible",
        now=event.drawn_at + timedelta(seconds=1),
    )
    publish([honest], sub.beacon_round)
    assert substitutions.substitution_resolve(
        substitution_id=sub.pk, now=event.draw_at + timedelta(minutes=5)
    )
    proof = proof_of(event)
    assert proof["claim_days"] == 7
    assert proof["substitutions"][0]["replaced_deadline"]
    forged = json.loads(json.dumps(proof))
    forged["substitutions"][0]["reason"] = "expired"  # 1 s after the offer: not expired
    assert any("before the holder's deadline" in p for p in server_verify(event, forged))
    assert standalone(event, tmp_path, proof=forged) == 1


def test_the_sweeper_resolves_pending_substitutions_in_order_and_tells_nobody_early(
    relays, time_machine
):
    silent, liar, honest = relays
    event = drawn(relays, prizes=(("奖", 2),))
    first, second = Entry.objects.filter(event=event, prize__isnull=False).order_by("prize_rank")
    at = event.drawn_at + timedelta(minutes=1)
    one = substitutions.winner_disqualify(
        event=event, actor=event.creator, user_key=first.user_key, reason="rule_violation", now=at
    )
    two = substitutions.winner_disqualify(
        event=event, actor=event.creator, user_key=second.user_key, reason="rule_violation", now=at
    )
    chain = drand.Chain.from_json(event.beacon_chain)
    publish([honest], one.beacon_round)
    time_machine.move_to(
        timezone.datetime.fromtimestamp(
            chain.round_time(one.beacon_round), tz=timezone.get_current_timezone()
        ),
        tick=False,
    )
    assert two.beacon_round == one.beacon_round  # recorded in the same period
    draw_tasks.sweep()  # one at a time, in the order recorded: the second waits for the first
    pending = Substitution.objects.order_by("pk").values_list("pending", flat=True)
    assert list(pending) == [False, True]
    notify_services.substitutions_fan_out(now=timezone.now())
    assert Substitution.objects.get(pk=two.pk).notified_at is None  # nobody to tell yet
    draw_tasks.sweep()
    assert list(pending.all()) == [False, False]
    assert server_verify(event) == []


def test_max_substitutions_is_fixed_at_creation_and_in_the_proof(relays, settings):
    event = make_event(entrants=2)
    settings.LOTTERY_MAX_SUBSTITUTIONS = 9
    assert proof_of(event)["max_substitutions"] == 3


def test_without_a_beacon_an_alternate_is_drawn_at_once_and_verifies(settings, tmp_path):
    settings.DRAND_URLS = []
    settings.LOTTERY_REVEAL_GAP_SECONDS = 0
    event = lock(make_event(entrants=5))
    assert services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    winner = Entry.objects.filter(event=event, prize__isnull=False).order_by("prize_rank").first()
    sub = substitutions.winner_disqualify(
        event=event,
        actor=event.creator,
        user_key=winner.user_key,
        reason="duplicate_account",
        now=event.drawn_at + timedelta(minutes=1),
    )
    assert not sub.pending and sub.replacement_key and sub.beacon_round is None
    assert server_verify(event) == []
    verifier = load_verifier()
    (tmp_path / "proof.json").write_text(json.dumps(proof_of(event)))
    (tmp_path / "entrants.txt").write_text("\n".join(keys_of(event)))
    (tmp_path / "winners.json").write_text(json.dumps(winners_of(event)))
    argv = ["--proof", str(tmp_path / "proof.json"), "--entrants", str(tmp_path / "entrants.txt")]
    assert verifier.main([*argv, "--winners", str(tmp_path / "winners.json")]) == 0


# --- attack 4: the late lock ----------------------------------------------------------------


def test_attack_late_lock_the_round_is_named_from_the_actual_lock(relays, tmp_path):
    silent, liar, honest = relays
    late = timedelta(seconds=47)
    event = lock(make_event(), late=late)
    assert round_time(event) >= event.locked_at + timedelta(seconds=GAP)
    assert round_time(event) >= event.lock_at + late + timedelta(seconds=GAP)
    publish([honest], event.beacon_round)
    assert services.event_draw(event_id=event.pk, now=event.draw_at)
    assert server_verify(event) == []

    # A proof naming the round of the scheduled lock (public before the list) is refused.
    proof = proof_of(event)
    early_round = event.beacon_round - late.seconds // PERIOD
    forged = dict(proof, beacon_round=early_round, beacon=signed_round(early_round))
    assert any("the rule names round" in p for p in server_verify(event, forged))
    assert standalone(event, tmp_path, proof=forged) == 1
    drawn_too_soon = dict(proof, drawn_at=proof["locked_at"])
    assert any("sooner than locked_at" in p for p in server_verify(event, drawn_too_soon))
    assert standalone(event, tmp_path, proof=drawn_too_soon) == 1


# --- the verifiers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "extra"),
    [
        (allocator.ALGORITHM_V1, {}),  # keeps the beacon and prizes digest: v2 fields
        (allocator.ALGORITHM_V2, {}),  # keeps without_beacon and reveal_gap_seconds: v3 fields
    ],
)
def test_an_older_label_on_a_proof_with_later_fields_is_refused(relays, tmp_path, label, extra):
    event = drawn(relays, entrants=4)
    proof = dict(proof_of(event), algorithm=label, **extra)
    problems = server_verify(event, proof)
    assert len(problems) == 1 and "later fields" in problems[0]
    assert standalone(event, tmp_path, proof=proof) == 1


def test_manage_verify_draw_fails_for_a_draw_missing_its_beacon(relays):
    event = drawn(relays, entrants=4)
    Event.objects.filter(pk=event.pk).update(beacon=None, beacon_missing_reason="forced")
    with pytest.raises(CommandError):
        call_command("verify_draw", event.public_id)


# --- worked examples 4 and 5 of docs/fairness.md ------------------------------------------

EXAMPLE_KEYS = [
    "u_0000000000000001",
    "u_3k9x2m7q5w8e1r4t",
    "u_a1b2c3d4e5f6g7h8",
    "u_m0n1o2p3q4r5s6t7",
    "u_zzzzzzzzzzzzzzzz",
]
EXAMPLE_GENESIS = 1767225600  # 2026-01-01T00:00:00Z


def example_proof(**changes) -> dict:
    """The v3 proof of docs/fairness.md's worked example 4 (and, changed, example 5)."""
    from tests import fake_drand

    seed = bytes(range(32))
    count, digest = allocator.entrants_digest(EXAMPLE_KEYS)
    gold, silver = {"id": "p_gold", "name": "Gold"}, {"id": "p_silver", "name": "Silver"}
    proof = {
        "algorithm": "sha256-fisher-yates-v3",
        "event_id": "e_0000000000000001",
        "status": "opened",
        "commitment": allocator.commitment(seed),
        "committed_at": "2026-01-01T00:00:00+00:00",
        "entrant_count": count,
        "entrants_digest": digest,
        "seed": seed.hex(),
        "prizes": [{**gold, "quantity": 1}, {**silver, "quantity": 2}],
        "prizes_digest": "e31fb5f38884cb61e99c7db0e54f178576b07d5f9742e96aafc2db8a90d5f2a8",
        "without_beacon": False,
        "reveal_gap_seconds": 10,
        "beacon_chain": fake_drand.chain(period=3, genesis_time=EXAMPLE_GENESIS).as_json(),
        "beacon_round": 1000,
        "beacon": signed_round(1000),
        "beacon_missing_reason": None,
        "lock_at": "2026-01-01T00:49:00+00:00",
        "locked_at": "2026-01-01T00:49:47+00:00",
        "draw_at": "2026-01-01T00:50:00+00:00",
        "drawn_at": "2026-01-01T00:50:00+00:00",
        "max_substitutions": 3,
        "claim_days": 1,
        "substitutions": [
            {
                "unit": 1,
                "prize": silver,
                "replaced": "u_3k9x2m7q5w8e1r4t",
                "reason": "fake_account",
                "at": "2026-01-01T01:00:00+00:00",
                "pending": False,
                "beacon_round": 1205,
                "beacon": signed_round(1205),
                "drawn_at": "2026-01-01T01:00:12+00:00",
                "position": 3,
                "replacement": "u_m0n1o2p3q4r5s6t7",
                "step": None,
                "replaced_deadline": "2026-01-02T00:50:00+00:00",
                "deadline": "2026-01-02T01:00:12+00:00",
            },
            {
                "unit": 0,
                "prize": gold,
                "replaced": "u_0000000000000001",
                "reason": "expired",
                "at": "2026-01-02T00:50:00+00:00",
                "pending": False,
                "beacon_round": 29805,
                "beacon": signed_round(29805),
                "drawn_at": "2026-01-02T00:50:12+00:00",
                "position": 2,
                "replacement": "u_a1b2c3d4e5f6g7h8",
                "step": None,
                "replaced_deadline": "2026-01-02T00:50:00+00:00",
                "deadline": "2026-01-03T00:50:12+00:00",
            },
        ],  # fmt: skip
        "cancel_reason": None,
        "cancel_requested_at": None,
        "canceled_at": None,
        "would_be_winners": None,
    }
    proof.update(changes)
    return proof


EXAMPLE_WINNERS = [
    {"user": {"id": "u_a1b2c3d4e5f6g7h8"}, "prize": {"id": "p_gold"}},
    {"user": {"id": "u_m0n1o2p3q4r5s6t7"}, "prize": {"id": "p_silver"}},
    {"user": {"id": "u_zzzzzzzzzzzzzzzz"}, "prize": {"id": "p_silver"}},
]


def both_verifiers(proof, winners=None) -> tuple[list[str], list[str], list[str]]:
    report = verify_report(proof=proof, entrant_keys=EXAMPLE_KEYS, winners=winners)
    standalone_problems, notes = load_verifier().check_draw(
        proof=proof,
        keys=EXAMPLE_KEYS,
        winners=winners,
        unawarded=None,
        expect_public_key=public_key(),
    )
    return report.problems, standalone_problems, notes


def test_worked_example_4_v3_draw_and_fresh_round_substitutions():
    proof = example_proof()
    # The draw with round 1000: positions [0, 1, 4].
    stream = allocator.RandomStream(
        seed=bytes(range(32)),
        entrants_digest=proof["entrants_digest"],
        algorithm=allocator.ALGORITHM_V3,
        prizes_digest=proof["prizes_digest"],
        beacon_randomness=bytes.fromhex(proof["beacon"]["randomness"]),
    )
    assert stream.block(0).hex() == (
        "c17091d92cdb4f0161c103ba259ecdfc9a4ed450384b96fdd4b73cb791feefd2"
    )
    assert (
        first_round_at_or_after(
            proof["beacon_chain"], timezone.datetime.fromisoformat("2026-01-01T00:49:57+00:00")
        )
        == 1000
    )
    # Substitution 1: round 1205 (the first at or after 01:00:00 + 10 s), eligible [2, 3].
    first = signed_round(1205)
    assert first["randomness"] == (
        "9fbe0ff07620239bf90c27bb9d232bddb40846e3b4f2d05012fc3f5e96520499"
    )
    prefix = (
        allocator.ALTERNATE_LABEL.encode()
        + bytes(range(32))
        + bytes.fromhex(proof["entrants_digest"])
        + bytes.fromhex(proof["prizes_digest"])
        + bytes.fromhex(first["randomness"])
        + (1).to_bytes(8, "big")
    )
    assert len(prefix) == 168
    block = hashlib.sha256(prefix + bytes(8)).hexdigest()
    assert block == "0d9a5b5e96008f37a5785f09f1be95ceed18304050ae75d60bdbb2536a0732d1"
    assert int(block[:16], 16) == 980196330708176695  # odd: index 1 of [2, 3] -> position 3
    assert signed_round(29805)["randomness"] == (
        "cc22a9788d71f02c0e2681bd9daa05999f01be600c771ba7dded74217e5bb436"
    )
    server, standalone_problems, _ = both_verifiers(proof, EXAMPLE_WINNERS)
    assert server == [] and standalone_problems == []

    chosen = example_proof()
    chosen["substitutions"][0].update(replacement="u_a1b2c3d4e5f6g7h8", position=2)
    server, standalone_problems, _ = both_verifiers(chosen, EXAMPLE_WINNERS)
    assert server[0].startswith("substitution #1") and standalone_problems[0].startswith(
        "substitution #1"
    )


@pytest.mark.parametrize(("asked", "late"), [("00:49:52", False), ("00:50:30", True)])
def test_worked_example_5_a_canceled_event_publishes_its_would_be_winners(asked, late):
    proof = example_proof(
        status="canceled",
        drawn_at=None,
        substitutions=[],
        cancel_reason="prizes out of stock",
        cancel_requested_at=f"2026-01-01T{asked}+00:00",
        canceled_at="2026-01-01T00:50:30+00:00",
        would_be_winners=[
            {"user": {"id": "u_0000000000000001"}, "prize": {"id": "p_gold"}},
            {"user": {"id": "u_3k9x2m7q5w8e1r4t"}, "prize": {"id": "p_silver"}},
            {"user": {"id": "u_zzzzzzzzzzzzzzzz"}, "prize": {"id": "p_silver"}},
        ],
    )
    report = verify_report(proof=proof, entrant_keys=EXAMPLE_KEYS)
    assert report.problems == [] and report.late_cancel is late
    standalone_problems, notes = load_verifier().check_draw(
        proof=proof, keys=EXAMPLE_KEYS, winners=None, unawarded=None, expect_public_key=public_key()
    )
    assert standalone_problems == []
    assert any(note.startswith("canceled at") for note in notes) is late
    swapped = dict(proof, would_be_winners=list(reversed(proof["would_be_winners"])))
    assert verify(proof=swapped, entrant_keys=EXAMPLE_KEYS)
