"""Issue 13: a draw nobody can steer (a drand beacon round named in advance), the reveal gap,
bound prizes, audited cancels, and an entrant's check of their own inclusion."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from beacon import drand
from draws import allocator, selectors, services
from draws.proof import verify
from events.models import Entry, Event
from events.services.entries import entry_join
from events.services.events import event_cancel, event_create
from tests.factories import StaffFactory, UserFactory
from tests.fake_drand import (
    OTHER_SECRET_KEY,
    FakeDrandRelay,
    configure,
    public_key,
    signed_round,
)

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + timedelta(days=1)
PERIOD = 3
GENESIS = int(START.timestamp()) - 3000 * PERIOD


def make_event(*, entrants=3, prizes=(("一等奖", 1), ("二等奖", 2)), **extra):
    event = event_create(
        creator=extra.pop("creator", None) or UserFactory(),
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


def proof_of(event) -> dict:
    response = APIClient().get(f"/api/v1/events/{event.public_id}/proof")
    assert response.status_code == 200
    return response.json()["data"]


def verify_published(event) -> list[str]:
    event.refresh_from_db()
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    winners = APIClient().get(f"/api/v1/events/{event.public_id}/winners").json()["data"]
    return verify(
        proof=proof_of(event),
        entrant_keys=keys,
        winners=winners["winners"],
        unawarded=winners["unawarded"],
    )


@pytest.fixture
def relays(settings):
    """Two fake relays of one chain, configured as the beacon."""
    with (
        FakeDrandRelay(period=PERIOD, genesis_time=GENESIS) as first,
        FakeDrandRelay(period=PERIOD, genesis_time=GENESIS) as second,
    ):
        configure(settings, [first, second])
        settings.DRAND_MAX_WAIT_SECONDS = 300
        settings.LOTTERY_REVEAL_GAP_SECONDS = 10
        yield first, second


def round_time(event) -> timezone.datetime:
    seconds = GENESIS + (event.beacon_round - 1) * PERIOD
    return timezone.datetime.fromtimestamp(seconds, tz=timezone.get_current_timezone())


def lock_and_reach_draw_time(event):
    assert services.event_lock(event_id=event.pk, now=event.lock_at)
    event.refresh_from_db()
    return event.draw_at


# --- the beacon ---------------------------------------------------------------------------


def test_event_pins_its_chain_at_creation_and_names_its_round_at_the_lock(relays):
    first, _ = relays
    event = make_event()
    assert event.fairness_algorithm == allocator.ALGORITHM_V3
    proof = proof_of(event)
    assert proof["beacon_round"] is None  # nobody can name a round before the list is final
    assert proof["beacon_chain"]["hash"] == first.state.chain_hash
    assert proof["beacon_chain"]["public_key"] == public_key()
    assert proof["without_beacon"] is False and proof["reveal_gap_seconds"] == 10
    assert proof["beacon"] is None and proof["beacon_missing_reason"] is None

    late = event.lock_at + timedelta(seconds=7)
    assert services.event_lock(event_id=event.pk, now=late)
    event.refresh_from_db()
    assert round_time(event) >= late + timedelta(seconds=10)
    assert round_time(event) - timedelta(seconds=PERIOD) < late + timedelta(seconds=10)
    assert proof_of(event)["beacon_round"] == event.beacon_round


def test_draw_waits_for_the_round_then_mixes_it_in_and_the_proof_verifies(relays):
    first, second = relays
    event = make_event(entrants=6)
    draw_time = lock_and_reach_draw_time(event)
    # Not out yet on any relay: the worker does not wait, the next sweep asks again.
    assert services.event_draw(event_id=event.pk, now=draw_time) is False
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING

    first.state.publish(event.beacon_round)
    second.state.publish(event.beacon_round)
    assert services.event_draw(event_id=event.pk, now=draw_time + timedelta(seconds=5))

    proof = proof_of(event)
    assert proof["algorithm"] == "sha256-fisher-yates-v3"
    assert proof["beacon"]["round"] == event.beacon_round
    assert proof["beacon"]["randomness"] == signed_round(event.beacon_round)["randomness"]
    assert proof["beacon_missing_reason"] is None
    assert verify_published(event) == []
    # The beacon changes the outcome's input: the same draw without it is another stream.
    without = dict(proof, beacon=None)
    assert allocator.RandomStream(
        seed=bytes.fromhex(proof["seed"]),
        entrants_digest=proof["entrants_digest"],
        algorithm=allocator.ALGORITHM_V3,
        prizes_digest=proof["prizes_digest"],
        beacon_randomness=bytes.fromhex(proof["beacon"]["randomness"]),
    ).block(0) != allocator.RandomStream(
        seed=bytes.fromhex(without["seed"]),
        entrants_digest=without["entrants_digest"],
        algorithm=allocator.ALGORITHM_V3,
        prizes_digest=without["prizes_digest"],
    ).block(0)


def test_a_round_with_a_wrong_signature_is_refused_and_the_draw_waits_however_long(relays):
    first, second = relays
    event = make_event()
    draw_time = lock_and_reach_draw_time(event)
    first.state.publish(event.beacon_round, secret_key=OTHER_SECRET_KEY)
    second.state.publish(event.beacon_round, secret_key=OTHER_SECRET_KEY)

    assert services.event_draw(event_id=event.pk, now=draw_time) is False
    long_after = round_time(event) + timedelta(days=3)  # far past DRAND_MAX_WAIT_SECONDS
    assert services.event_draw(event_id=event.pk, now=long_after) is False
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING and proof_of(event)["seed"] is None

    second.state.publish(event.beacon_round)  # an honest answer, at last
    assert services.event_draw(event_id=event.pk, now=long_after)
    assert proof_of(event)["beacon"]["relays"] == [second.url]
    assert verify_published(event) == []


def test_one_valid_answer_is_the_round_whatever_another_relay_says(relays):
    first, second = relays
    event = make_event()
    draw_time = lock_and_reach_draw_time(event)
    first.state.publish(event.beacon_round, secret_key=OTHER_SECRET_KEY)  # a liar, asked first
    second.state.publish(event.beacon_round)
    chain = drand.Chain.from_json(event.beacon_chain)
    beacon = drand.fetch_round(
        chain=chain, round_number=event.beacon_round, urls=[first.url, second.url], timeout=5
    )
    assert beacon["randomness"] == signed_round(event.beacon_round)["randomness"]
    assert beacon["relays"] == [second.url]
    assert services.event_draw(event_id=event.pk, now=draw_time)


def test_a_relay_serving_another_round_is_refused(relays):
    first, second = relays
    event = make_event()
    lock_and_reach_draw_time(event)
    other = signed_round(event.beacon_round - 100)  # validly signed, but published before lock
    first.state.override[event.beacon_round] = other
    second.state.override[event.beacon_round] = other
    chain = drand.Chain.from_json(event.beacon_chain)
    with pytest.raises(drand.BeaconError, match="no relay gave a valid round"):
        drand.fetch_round(
            chain=chain, round_number=event.beacon_round, urls=[first.url, second.url], timeout=5
        )


def test_one_relay_down_is_tolerated(relays):
    first, second = relays
    event = make_event()
    lock_and_reach_draw_time(event)
    second.state.publish(event.beacon_round)
    chain = drand.Chain.from_json(event.beacon_chain)
    beacon = drand.fetch_round(
        chain=chain,
        round_number=event.beacon_round,
        urls=["http://127.0.0.1:9/", second.url],
        timeout=2,
    )
    assert beacon["round"] == event.beacon_round and beacon["relays"] == [second.url]


def test_without_a_beacon_configured_the_proof_says_so_plainly(settings):
    settings.DRAND_URLS = []
    settings.LOTTERY_REVEAL_GAP_SECONDS = 10
    event = make_event()
    assert event.beacon_round is None and event.without_beacon
    assert proof_of(event)["without_beacon"] is True  # from creation, before anyone joins
    draw_time = lock_and_reach_draw_time(event)
    assert services.event_draw(event_id=event.pk, now=draw_time)
    proof = proof_of(event)
    assert proof["beacon"] is None
    assert proof["beacon_missing_reason"] == "no beacon was configured when the event was created"
    assert verify_published(event) == []


def test_an_event_drawn_under_v1_still_verifies(settings):
    settings.DRAND_URLS = []
    event = make_event(entrants=4)
    Event.objects.filter(pk=event.pk).update(fairness_algorithm=allocator.ALGORITHM_V1)
    draw_time = lock_and_reach_draw_time(event)
    assert services.event_draw(event_id=event.pk, now=draw_time)
    assert proof_of(event)["algorithm"] == "sha256-fisher-yates-v1"
    assert verify_published(event) == []


# --- the reveal gap, the lock time, the prizes --------------------------------------------


def test_manual_draw_reveals_the_seed_no_sooner_than_the_gap_after_the_lock(settings):
    settings.DRAND_URLS = []
    settings.LOTTERY_REVEAL_GAP_SECONDS = 10
    creator = UserFactory()
    event = make_event(creator=creator, draw_mode="manual")
    now = START + timedelta(minutes=5)
    services.event_draw_early(event=event, actor=creator, now=now)
    event.refresh_from_db()
    assert event.locked_at == now and event.entrants_digest
    assert services.event_draw(event_id=event.pk, now=now) is False
    assert proof_of(event)["seed"] is None
    assert services.event_draw(event_id=event.pk, now=now + timedelta(seconds=9)) is False
    assert services.event_draw(event_id=event.pk, now=now + timedelta(seconds=10))
    assert proof_of(event)["locked_at"] is not None


def test_count_mode_publishes_the_digest_first_and_draws_only_after_the_gap(settings):
    settings.DRAND_URLS = []
    settings.LOTTERY_REVEAL_GAP_SECONDS = 10
    event = make_event(draw_mode="count", target_participants=3, entrants=3)
    assert event.status == Event.Status.INIT and not event.entrants_digest
    sweep = START + timedelta(seconds=5)
    assert services.event_lock(event_id=event.pk, now=sweep)
    event.refresh_from_db()
    assert event.entrants_digest and event.locked_at == sweep and event.prizes_digest
    assert event.lock_at == START  # when the target was reached: the list was final from then
    assert services.event_draw(event_id=event.pk, now=sweep) is False
    assert services.event_draw(event_id=event.pk, now=sweep + timedelta(seconds=9)) is False
    assert services.event_draw(event_id=event.pk, now=sweep + timedelta(seconds=10))


def test_an_early_lock_names_a_round_after_the_gap_so_the_draw_need_not_wait_for_the_schedule(
    relays,
):
    creator = UserFactory()
    event = make_event(creator=creator, draw_mode="manual")
    now = START + timedelta(minutes=5)
    services.event_draw_early(event=event, actor=creator, now=now)
    event.refresh_from_db()
    assert now + timedelta(seconds=10) <= round_time(event) < event.lock_at + timedelta(minutes=1)
    assert round_time(event) >= now + timedelta(seconds=10)


def test_a_count_target_names_its_round_at_the_sweepers_lock_after_the_list_was_final(relays):
    event = make_event(draw_mode="count", target_participants=3, entrants=3)
    sweep = START + timedelta(seconds=5)
    assert services.event_lock(event_id=event.pk, now=sweep)
    event.refresh_from_db()
    assert round_time(event) < event.draw_at
    # Unknown to anyone when the list froze (START) and when its digest went public (sweep).
    assert round_time(event) >= sweep + timedelta(seconds=10) > event.lock_at


def test_the_prizes_digest_is_published_at_the_lock_and_binds_the_prizes(settings):
    settings.DRAND_URLS = []
    event = make_event()
    assert proof_of(event)["prizes_digest"] is None
    draw_time = lock_and_reach_draw_time(event)
    proof = proof_of(event)
    expected = allocator.prizes_digest(
        (prize["id"], prize["quantity"], prize["name"]) for prize in proof["prizes"]
    )
    assert proof["prizes_digest"] == expected
    event.prizes.filter(position=1).update(quantity=5)  # someone edits the database after
    with pytest.raises(services.DrawIntegrityError):
        services.event_draw(event_id=event.pk, now=draw_time)


def test_a_staff_cancel_after_the_lock_reveals_the_seed_and_keeps_the_entrant_list(settings):
    settings.DRAND_URLS = []
    event = make_event()
    assert services.event_lock(event_id=event.pk, now=event.lock_at)
    event_cancel(
        event=event, actor=StaffFactory(), now=event.lock_at, reason="abuse", by_staff=True
    )
    assert proof_of(event)["status"] == "opening"  # asked; settled after the reveal gap
    assert services.event_draw(event_id=event.pk, now=event.lock_at + timedelta(seconds=10))
    proof = proof_of(event)
    assert proof["status"] == "canceled"
    assert allocator.commitment(bytes.fromhex(proof["seed"])) == proof["commitment"]
    response = APIClient().get(f"/api/v1/events/{event.public_id}/entrants")
    assert response.status_code == 200


def test_the_reveal_time_counts_from_the_actual_lock(settings):
    settings.LOTTERY_REVEAL_GAP_SECONDS = 10
    event = make_event()
    late = event.draw_at + timedelta(days=2)
    assert services.event_lock(event_id=event.pk, now=late)
    event.refresh_from_db()
    assert selectors.reveal_time(event) == late + timedelta(seconds=10)


def test_an_entrant_checks_their_own_place_in_the_frozen_list_without_downloading_it(settings):
    from tests.conftest import client_for

    settings.DRAND_URLS = []
    participant, outsider = UserFactory(), UserFactory()
    event = make_event(entrants=4)
    entry_join(event=event, user=participant, now=START)
    url = f"/api/v1/events/{event.public_id}/entrants/me"
    assert client_for(participant).get(url).status_code == 409  # not locked yet
    assert services.event_lock(event_id=event.pk, now=event.lock_at)
    event.refresh_from_db()

    mine = client_for(participant).get(url).json()["data"]
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    assert mine["key"] == participant.public_id and mine["included"] is True
    assert keys[mine["position"]] == participant.public_id
    assert (mine["entrant_count"], mine["entrants_digest"]) == allocator.entrants_digest(keys)

    theirs = client_for(outsider).get(url).json()["data"]
    assert theirs["included"] is False and theirs["position"] is None
    assert APIClient().get(url).status_code == 401


# --- the stand-alone verifier --------------------------------------------------------------


def load_verifier():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tools" / "verify_draw.py"
    spec = importlib.util.spec_from_file_location("verify_draw_standalone", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def saved_documents(event, tmp_path, *, proof=None) -> list[str]:
    import json

    event.refresh_from_db()
    client = APIClient()
    proof = proof or proof_of(event)
    keys = sorted(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "entrants.txt").write_text("".join(key + "\n" for key in keys))
    winners = client.get(f"/api/v1/events/{event.public_id}/winners").json()
    (tmp_path / "winners.json").write_text(json.dumps(winners))
    return [
        *("--proof", str(tmp_path / "proof.json")),
        *("--entrants", str(tmp_path / "entrants.txt")),
        *("--winners", str(tmp_path / "winners.json")),
    ]


def test_the_verifier_is_a_second_implementation_importing_nothing_of_the_server():
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "tools" / "verify_draw.py").read_text()
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"draws", "events", "lottery_site", "django"}


def test_the_verifier_checks_the_beacon_signature_and_says_so_without_py_ecc(
    relays, tmp_path, capsys, monkeypatch
):
    first, second = relays
    event = make_event(entrants=5)
    draw_time = lock_and_reach_draw_time(event)
    first.state.publish(event.beacon_round)
    second.state.publish(event.beacon_round)
    assert services.event_draw(event_id=event.pk, now=draw_time)
    verifier = load_verifier()
    key = ["--expect-public-key", public_key()]  # a test chain: no verifier has it built in
    argv = saved_documents(event, tmp_path)
    saved = proof_of(event)

    assert verifier.main([*argv, *key, "--expect-commitment", saved["commitment"]]) == 0
    assert "OK:" in capsys.readouterr().out
    assert verifier.main(argv) == 1  # whose key is it? Only the server says so
    assert "not built into this verifier" in capsys.readouterr().out
    assert verifier.main([*argv, "--expect-public-key", public_key(OTHER_SECRET_KEY)]) == 1
    capsys.readouterr()

    # Another validly shaped round (signed by someone else) does not pass for the chain's.
    forged = signed_round(event.beacon_round, OTHER_SECRET_KEY)
    bad = dict(saved, beacon=dict(saved["beacon"], **forged))
    assert verifier.main([*saved_documents(event, tmp_path, proof=bad), *key]) == 1
    assert "signature does not verify" in capsys.readouterr().out

    argv = saved_documents(event, tmp_path)  # the honest proof again
    monkeypatch.setitem(__import__("sys").modules, "py_ecc", None)
    assert verifier.main([*argv, *key]) == verifier.EXIT_SIGNATURE_NOT_CHECKED == 3
    assert "beacon signature NOT checked" in capsys.readouterr().out


def test_the_verifier_compares_what_you_saved_and_takes_lower_case_hex_only(
    settings, tmp_path, capsys
):
    settings.DRAND_URLS = []
    event = make_event(entrants=4)
    draw_time = lock_and_reach_draw_time(event)
    assert services.event_draw(event_id=event.pk, now=draw_time)
    verifier = load_verifier()
    argv = saved_documents(event, tmp_path)
    assert verifier.main(argv) == 0
    assert "WITHOUT a public beacon" in capsys.readouterr().out
    assert verifier.main([*argv, "--expect-commitment", "0" * 64]) == 1
    assert verifier.main([*argv, "--expect-digest", "0" * 64]) == 1
    capsys.readouterr()
    proof = proof_of(event)
    upper = dict(proof, entrants_digest=proof["entrants_digest"].upper())
    assert verifier.main(saved_documents(event, tmp_path, proof=upper)) == 1
    assert "lower-case" in capsys.readouterr().out


@pytest.mark.parametrize("with_beacon", [False, True])
def test_the_v2_worked_example_of_docs_fairness_md(with_beacon):
    keys = [
        "u_0000000000000001",
        "u_3k9x2m7q5w8e1r4t",
        "u_a1b2c3d4e5f6g7h8",
        "u_m0n1o2p3q4r5s6t7",
        "u_zzzzzzzzzzzzzzzz",
    ]
    count, digest = allocator.entrants_digest(keys)
    prizes = allocator.prizes_digest([("p_gold", 1, "Gold"), ("p_silver", 2, "Silver")])
    assert prizes == "e31fb5f38884cb61e99c7db0e54f178576b07d5f9742e96aafc2db8a90d5f2a8"
    beacon = signed_round(1000)
    assert beacon["randomness"] == (
        "34d60c1a451d47ab09b3448cc31500f0971b22ed7afc446a7c16ea4023e10dc6"
    )
    allocation = allocator.allocate(
        seed=bytes(range(32)),
        entrants_digest=digest,
        entrant_count=count,
        prizes=[("p_gold", 1), ("p_silver", 2)],
        algorithm=allocator.ALGORITHM_V2,
        prizes_digest=prizes,
        beacon_randomness=bytes.fromhex(beacon["randomness"]) if with_beacon else None,
    )
    expected = [0, 1, 2] if with_beacon else [2, 3, 1]
    assert [position for position, _ in allocation.awards] == expected


def test_quicknet_rounds_signed_on_g1_verify_in_the_server_and_the_verifier():
    import hashlib

    from py_ecc.bls.g2_primitives import compress_G1, compress_G2
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.optimized_bls12_381 import G2, multiply

    secret = 987654321
    z1, z2 = compress_G2(multiply(G2, secret))
    key = z1.to_bytes(48, "big") + z2.to_bytes(48, "big")
    message = drand.round_message(scheme=drand.QUICKNET, round_number=5, previous_signature=None)
    point = multiply(hash_to_G1(message, drand.G1_DST, hashlib.sha256), secret)
    signature = compress_G1(point).to_bytes(48, "big")

    assert drand.bls_verify(scheme=drand.QUICKNET, public_key=key, message=message, sig=signature)
    assert not drand.bls_verify(
        scheme=drand.QUICKNET, public_key=key, message=message[::-1], sig=signature
    )
    chain = {"scheme": drand.QUICKNET, "public_key": key.hex()}
    assert load_verifier().bls_check(chain, 5, signature.hex(), "")
    assert not load_verifier().bls_check(chain, 6, signature.hex(), "")
