"""Tests of the verifiable draw (draws/allocator.py, draws/proof.py) and its stand-alone verifier.

Pure Python: no database, no Django. Statistical tests use fixed, derived seeds, so they are
deterministic: they either always pass or always fail, never flake.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import math
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from draws import allocator
from draws.allocator import (
    ALGORITHM_V1 as ALGORITHM,
)
from draws.allocator import (
    EntrantDigest,
    RandomStream,
    allocate,
    below,
    commitment,
    draw_positions,
    entrants_digest,
    new_seed,
)
from draws.proof import DrawFormatError, verify

REPO_ROOT = Path(__file__).resolve().parent.parent
VERIFIER_PATH = REPO_ROOT / "tools" / "verify_draw.py"

# --- known-answer vector (also printed in docs/fairness.md) -----------------------------------

KAT_SEED = bytes(range(32))
KAT_KEYS = [
    "u_0000000000000001",
    "u_3k9x2m7q5w8e1r4t",
    "u_a1b2c3d4e5f6g7h8",
    "u_m0n1o2p3q4r5s6t7",
    "u_zzzzzzzzzzzzzzzz",
]
KAT_PRIZES = [("p_gold", 1), ("p_silver", 2)]
KAT_COMMITMENT = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
KAT_DIGEST = "25c9ca418c3a008804ca1dfef08a5241c2bc19a34df3684467bd9f7dc3b12014"
KAT_BLOCK0 = "84a6707fafc1750128017792e3d1758bf62b8f26252ab46a93e7b4811af41530"
KAT_FIRST_U64S = [
    9558450952852305153,
    2882716709264913803,
    17738428951323915370,
    10657685509791552816,
]
KAT_POSITIONS = [3, 4, 0]
KAT_WINNERS = [
    ("u_m0n1o2p3q4r5s6t7", "p_gold"),
    ("u_zzzzzzzzzzzzzzzz", "p_silver"),
    ("u_0000000000000001", "p_silver"),
]


# --- helpers ----------------------------------------------------------------------------------


def derived_seed(label: str, index: int) -> bytes:
    return hashlib.sha256(f"{label}:{index}".encode()).digest()


def fake_digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def make_keys(count: int) -> list[str]:
    return sorted(f"u_{index:016x}" for index in range(count))


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X ~ chi-square(df): the regularized upper gamma Q(df/2, x/2)."""
    return upper_gamma_q(df / 2, statistic / 2)


def upper_gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x), as in Numerical Recipes (gammq)."""
    if x <= 0:
        return 1.0
    if x < a + 1:
        return 1.0 - _lower_gamma_series(a, x)
    return _upper_gamma_continued_fraction(a, x)


def _log_prefactor(a: float, x: float) -> float:
    return -x + a * math.log(x) - math.lgamma(a)


def _lower_gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    denominator = a
    for _ in range(10_000):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(_log_prefactor(a, x))


def _upper_gamma_continued_fraction(a: float, x: float) -> float:
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(_log_prefactor(a, x)) * h


def chi2_statistic(observed: Sequence[int], expected: float) -> float:
    return sum((count - expected) ** 2 / expected for count in observed)


def proof_for(
    *, seed: bytes | None, keys: list[str], prizes: list[tuple[str, int]], seed_for_commit: bytes
) -> dict[str, Any]:
    count, digest = entrants_digest(keys)
    return {
        "algorithm": ALGORITHM,
        "event_id": "e_0000000000000001",
        "commitment": commitment(seed_for_commit),
        "entrant_count": count,
        "entrants_digest": digest,
        "seed": None if seed is None else seed.hex(),
        "prizes": [
            {"id": prize_id, "name": f"Prize {prize_id}", "quantity": quantity}
            for prize_id, quantity in prizes
        ],
    }


def winners_for(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "user": {"id": user, "nickname": "someone", "avatar_url": None},
            "prize": {"id": prize, "name": f"Prize {prize}"},
        }
        for user, prize in pairs
    ]


def honest_draw(
    keys: list[str], prizes: list[tuple[str, int]], seed: bytes = KAT_SEED
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(proof, winners, unawarded) exactly as an honest server would publish them."""
    proof = proof_for(seed=seed, keys=keys, prizes=prizes, seed_for_commit=seed)
    allocation = allocate(
        seed=seed,
        entrants_digest=proof["entrants_digest"],
        entrant_count=len(keys),
        prizes=prizes,
    )
    winners = winners_for([(keys[position], prize) for position, prize in allocation.awards])
    unawarded = [
        {"prize": {"id": prize, "name": f"Prize {prize}"}, "quantity": quantity}
        for prize, quantity in allocation.unawarded.items()
    ]
    return proof, winners, unawarded


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_draw", VERIFIER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_positions(*, seed: bytes, digest: str, n: int, k: int) -> list[int]:
    """The spec written out naively (full array, inline hashing), to cross-check the module."""
    values = list(range(n))
    u64s = _reference_u64s(seed, digest)
    positions = []
    for i in range(k):
        m = n - i
        limit = (2**64 // m) * m
        x = next(u64s)
        while x >= limit:
            x = next(u64s)
        j = i + x % m
        values[i], values[j] = values[j], values[i]
        positions.append(values[i])
    return positions


def _reference_u64s(seed: bytes, digest: str) -> Iterator[int]:
    for block_index in itertools.count():
        block = hashlib.sha256(
            b"sha256-fisher-yates-v1"
            + seed
            + bytes.fromhex(digest)
            + block_index.to_bytes(8, "big")
        ).digest()
        for offset in range(0, 32, 8):
            yield int.from_bytes(block[offset : offset + 8], "big")


# --- strategies -------------------------------------------------------------------------------

seeds = st.binary(min_size=32, max_size=32)
digests = st.binary(min_size=32, max_size=32).map(bytes.hex)
prize_lists = st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=20).map(
    lambda quantities: [(f"p_{index:016d}", q) for index, q in enumerate(quantities)]
)


# --- seed and commitment ----------------------------------------------------------------------


def test_new_seed_is_32_random_bytes() -> None:
    first, second = new_seed(), new_seed()
    assert len(first) == 32
    assert first != second


def test_commitment_is_the_sha256_hex_of_the_seed() -> None:
    assert commitment(KAT_SEED) == hashlib.sha256(KAT_SEED).hexdigest() == KAT_COMMITMENT


# --- entrant digest ---------------------------------------------------------------------------


def test_digest_equals_sha256_of_the_entrant_list_file_text() -> None:
    keys = make_keys(25_000)
    file_text = "".join(key + "\n" for key in keys)
    digest = EntrantDigest()
    for start in range(0, len(keys), 10_000):
        digest.update(keys[start : start + 10_000])
    assert digest.count == 25_000
    assert digest.hexdigest() == hashlib.sha256(file_text.encode()).hexdigest()
    assert entrants_digest(keys) == (25_000, digest.hexdigest())


def test_digest_of_no_entrants_is_sha256_of_empty_bytes() -> None:
    assert entrants_digest([]) == (0, hashlib.sha256(b"").hexdigest())


def test_batch_boundaries_do_not_change_the_digest() -> None:
    keys = make_keys(100)
    digest = EntrantDigest()
    for batch in (keys[:1], keys[1:37], [], keys[37:]):
        digest.update(iter(batch))
    assert (digest.count, digest.hexdigest()) == entrants_digest(keys)


def test_unchecked_rehash_gives_the_same_digest_and_any_change_gives_another() -> None:
    keys = make_keys(50)
    rehash = EntrantDigest(checked=False)
    for batch in (keys[:20], [], keys[20:]):
        rehash.update(batch)
    assert (rehash.count, rehash.hexdigest()) == entrants_digest(keys)
    swapped = EntrantDigest(checked=False)
    swapped.update([keys[1], keys[0], *keys[2:]])
    assert swapped.hexdigest() != rehash.hexdigest()


@pytest.mark.parametrize(
    ("batches", "message"),
    [
        ([["u_b", "u_a"]], "out of canonical order"),
        ([["u_a", "u_a"]], "duplicate"),
        ([["u_a", "u_c"], ["u_b"]], "out of canonical order"),
        ([["u_a", "u_b"], ["u_b"]], "duplicate"),
        ([["u_a\nu_b"]], "newline"),
        ([[""]], "empty"),
    ],
)
def test_entrant_digest_rejects_out_of_order_duplicate_or_forged_keys(
    batches: list[list[str]], message: str
) -> None:
    digest = EntrantDigest()
    with pytest.raises(ValueError, match=message):
        for batch in batches:
            digest.update(batch)


def test_canonical_order_is_bytewise_utf8_order() -> None:
    keys = ["u_0", "u_9", "u_a", "u_z", "u_é", "u_\U0001f600"]
    assert sorted(keys) == keys
    assert sorted(key.encode() for key in keys) == [key.encode() for key in keys]


# --- random stream and below() ----------------------------------------------------------------


def test_below_rejects_values_at_or_above_the_largest_multiple_of_m() -> None:
    m = 2**63 + 1  # limit = m itself: nearly half of all u64 values must be rejected
    stream = iter([2**64 - 1, m, m - 1])
    assert below(m, next_u64=stream.__next__) == m - 1
    assert next(stream, None) is None  # both rejected values were consumed


def test_below_keeps_the_value_just_under_the_limit() -> None:
    # 2**64 = 3 * 6148914691236517205 + 1: only 2**64 - 1 is rejected for m = 3.
    limit = (2**64 // 3) * 3
    assert limit == 2**64 - 1
    stream = iter([limit, limit - 1])
    assert below(3, next_u64=stream.__next__) == (limit - 1) % 3
    assert next(stream, None) is None


def test_below_one_is_always_zero_and_out_of_range_m_is_refused() -> None:
    assert below(1, next_u64=lambda: 2**64 - 1) == 0
    assert below(2**64, next_u64=lambda: 2**64 - 1) == 2**64 - 1
    for bad in (0, -1, 2**64 + 1):
        with pytest.raises(ValueError):
            below(bad, next_u64=lambda: 0)


def test_stream_yields_four_big_endian_u64s_per_block_in_order() -> None:
    stream = RandomStream(seed=KAT_SEED, entrants_digest=KAT_DIGEST)
    expected = list(itertools.islice(_reference_u64s(KAT_SEED, KAT_DIGEST), 12))
    assert [stream.next_u64() for _ in range(12)] == expected
    assert stream.block(0).hex() == KAT_BLOCK0


def test_stream_refuses_a_short_seed_or_malformed_digest() -> None:
    with pytest.raises(ValueError, match="seed"):
        RandomStream(seed=b"short", entrants_digest=KAT_DIGEST)
    for bad in ("abc", KAT_DIGEST[:-2] + " 0", KAT_DIGEST + "00", "zz" * 32):
        with pytest.raises(ValueError, match="digest"):
            RandomStream(seed=KAT_SEED, entrants_digest=bad)


# --- known-answer vector ----------------------------------------------------------------------


def test_known_answer_vector_matches_the_published_example() -> None:
    assert entrants_digest(KAT_KEYS) == (5, KAT_DIGEST)
    stream = RandomStream(seed=KAT_SEED, entrants_digest=KAT_DIGEST)
    assert [stream.next_u64() for _ in range(4)] == KAT_FIRST_U64S
    positions = draw_positions(seed=KAT_SEED, entrants_digest=KAT_DIGEST, entrant_count=5, k=3)
    assert positions == KAT_POSITIONS
    allocation = allocate(
        seed=KAT_SEED, entrants_digest=KAT_DIGEST, entrant_count=5, prizes=KAT_PRIZES
    )
    assert [(KAT_KEYS[position], prize) for position, prize in allocation.awards] == KAT_WINNERS
    assert allocation.unawarded == {}


def test_known_answer_vector_with_more_units_than_entrants() -> None:
    allocation = allocate(
        seed=KAT_SEED,
        entrants_digest=KAT_DIGEST,
        entrant_count=5,
        prizes=[("p_gold", 1), ("p_silver", 2), ("p_bronze", 4)],
    )
    assert allocation.awards == [
        (3, "p_gold"),
        (4, "p_silver"),
        (0, "p_silver"),
        (2, "p_bronze"),
        (1, "p_bronze"),
    ]
    assert allocation.unawarded == {"p_bronze": 2}


# --- properties of the draw -------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    seed=seeds,
    digest=digests,
    n=st.integers(min_value=0, max_value=2000),
    prizes=prize_lists,
)
def test_any_draw_awards_min_of_units_and_entrants_to_distinct_entrants_in_tier_order(
    seed: bytes, digest: str, n: int, prizes: list[tuple[str, int]]
) -> None:
    allocation = allocate(seed=seed, entrants_digest=digest, entrant_count=n, prizes=prizes)
    positions = [position for position, _ in allocation.awards]
    total = sum(quantity for _, quantity in prizes)
    assert len(positions) == min(total, n)
    assert len(set(positions)) == len(positions)
    assert all(0 <= position < n for position in positions)
    units = [prize for prize, quantity in prizes for _ in range(quantity)]
    assert [prize for _, prize in allocation.awards] == units[: len(positions)]
    leftover = Counter(units[len(positions) :])
    assert allocation.unawarded == dict(leftover)
    assert list(allocation.unawarded) == [p for p, _ in prizes if p in allocation.unawarded]


@settings(max_examples=100, deadline=None)
@given(seed=seeds, digest=digests, n=st.integers(min_value=0, max_value=2000), data=st.data())
def test_same_inputs_give_same_winners_and_match_the_naive_reference(
    seed: bytes, digest: str, n: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    first = draw_positions(seed=seed, entrants_digest=digest, entrant_count=n, k=k)
    second = draw_positions(seed=seed, entrants_digest=digest, entrant_count=n, k=k)
    assert first == second
    assert first == reference_positions(seed=seed, digest=digest, n=n, k=k)


@settings(max_examples=100, deadline=None)
@given(seed=seeds, digest=digests, n=st.integers(min_value=1, max_value=2000), data=st.data())
def test_drawing_more_units_never_changes_the_earlier_winners(
    seed: bytes, digest: str, n: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    fewer = data.draw(st.integers(min_value=0, max_value=k))
    full = draw_positions(seed=seed, entrants_digest=digest, entrant_count=n, k=k)
    prefix = draw_positions(seed=seed, entrants_digest=digest, entrant_count=n, k=fewer)
    assert full[:fewer] == prefix


@settings(max_examples=100, deadline=None)
@given(
    seed=seeds,
    other_seed=seeds,
    digest=digests,
    n=st.integers(min_value=50, max_value=2000),
    prizes=prize_lists,
)
def test_different_seed_gives_different_winners(
    seed: bytes, other_seed: bytes, digest: str, n: int, prizes: list[tuple[str, int]]
) -> None:
    k = min(sum(quantity for _, quantity in prizes), n)
    # With at least 2**64 equally likely outcomes a coincidence is negligible.
    assume(seed != other_seed and math.perm(n, k) >= 2**64)
    first = allocate(seed=seed, entrants_digest=digest, entrant_count=n, prizes=prizes)
    second = allocate(seed=other_seed, entrants_digest=digest, entrant_count=n, prizes=prizes)
    assert first.awards != second.awards


def test_different_entrant_digest_gives_different_winners() -> None:
    differing = sum(
        draw_positions(
            seed=KAT_SEED, entrants_digest=fake_digest(f"a{i}"), entrant_count=10**6, k=5
        )
        != draw_positions(
            seed=KAT_SEED, entrants_digest=fake_digest(f"b{i}"), entrant_count=10**6, k=5
        )
        for i in range(50)
    )
    assert differing == 50


def test_invalid_k_or_prizes_are_refused() -> None:
    with pytest.raises(ValueError):
        draw_positions(seed=KAT_SEED, entrants_digest=KAT_DIGEST, entrant_count=5, k=6)
    with pytest.raises(ValueError):
        draw_positions(seed=KAT_SEED, entrants_digest=KAT_DIGEST, entrant_count=-1, k=0)
    with pytest.raises(ValueError, match="twice"):
        allocate(
            seed=KAT_SEED,
            entrants_digest=KAT_DIGEST,
            entrant_count=5,
            prizes=[("p_a", 1), ("p_a", 1)],
        )
    with pytest.raises(ValueError, match="quantity"):
        allocate(seed=KAT_SEED, entrants_digest=KAT_DIGEST, entrant_count=5, prizes=[("p_a", -1)])


def test_no_entrants_means_every_unit_is_unawarded() -> None:
    _, digest = entrants_digest([])
    allocation = allocate(
        seed=KAT_SEED, entrants_digest=digest, entrant_count=0, prizes=[("p_a", 2), ("p_b", 1)]
    )
    assert allocation.awards == []
    assert allocation.unawarded == {"p_a": 2, "p_b": 1}


# --- uniformity -------------------------------------------------------------------------------


def test_chi2_helper_matches_known_critical_values() -> None:
    assert chi2_sf(27.877, 9) == pytest.approx(0.001, rel=1e-3)
    assert chi2_sf(3.841, 1) == pytest.approx(0.05, rel=1e-3)
    assert chi2_sf(18.307, 10) == pytest.approx(0.05, rel=1e-3)
    assert chi2_sf(9.0, 2) == pytest.approx(math.exp(-4.5), rel=1e-12)
    assert chi2_sf(7.0, 7) == pytest.approx(0.4289, abs=1e-4)  # below the mean: series branch
    assert chi2_sf(0.0, 5) == 1.0


def test_single_winner_is_equally_likely_to_be_any_of_ten_entrants() -> None:
    draws = 20_000
    digest = fake_digest("uniform-k1")
    counts = Counter(
        draw_positions(seed=derived_seed("k1", i), entrants_digest=digest, entrant_count=10, k=1)[0]
        for i in range(draws)
    )
    assert sorted(counts) == list(range(10))
    statistic = chi2_statistic([counts[p] for p in range(10)], draws / 10)
    assert chi2_sf(statistic, 9) > 0.001


def test_three_winners_of_eight_select_every_entrant_and_every_ordering_equally_often() -> None:
    draws = 20_000
    digest = fake_digest("uniform-k3")
    outcomes = [
        tuple(
            draw_positions(seed=derived_seed("k3", i), entrants_digest=digest, entrant_count=8, k=3)
        )
        for i in range(draws)
    ]
    # Each entrant is chosen in 3/8 of the draws. (Selections within one draw are negatively
    # correlated, which only makes this statistic smaller: the test is conservative.)
    selected = Counter(position for outcome in outcomes for position in outcome)
    statistic = chi2_statistic([selected[p] for p in range(8)], draws * 3 / 8)
    assert chi2_sf(statistic, 7) > 0.001
    # Stronger: all 8 * 7 * 6 = 336 ordered winner triples are equally likely.
    triples = Counter(outcomes)
    assert len(triples) == 336
    statistic = chi2_statistic(list(triples.values()), draws / 336)
    assert chi2_sf(statistic, 335) > 0.001


# --- verify() ---------------------------------------------------------------------------------


def test_verify_confirms_an_honest_draw() -> None:
    keys = make_keys(300)
    proof, winners, unawarded = honest_draw(keys, [("p_gold", 1), ("p_silver", 5)])
    assert verify(proof=proof, entrant_keys=keys, winners=winners, unawarded=unawarded) == []


def test_verify_accepts_the_entrant_list_in_any_order() -> None:
    keys = make_keys(50)
    proof, winners, _ = honest_draw(keys, [("p_gold", 3)])
    assert verify(proof=proof, entrant_keys=reversed(keys), winners=winners) == []


def test_verify_confirms_the_known_answer_vector_and_its_leftovers() -> None:
    prizes = [("p_gold", 1), ("p_silver", 2), ("p_bronze", 4)]
    proof, winners, unawarded = honest_draw(KAT_KEYS, prizes)
    assert unawarded[0]["quantity"] == 2
    assert verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners, unawarded=unawarded) == []


def test_verify_names_the_line_of_a_swapped_winner() -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    winners[2]["user"]["id"] = "u_a1b2c3d4e5f6g7h8"
    problems = verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners)
    assert problems == [
        "winner #3: published u_a1b2c3d4e5f6g7h8 for prize p_silver, expected u_0000000000000001"
    ]


def test_verify_reports_reordered_missing_and_extra_winners() -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    swapped = [winners[1], winners[0], winners[2]]
    problems = verify(proof=proof, entrant_keys=KAT_KEYS, winners=swapped)
    assert problems[0] == (
        "winner #1: published u_zzzzzzzzzzzzzzzz for prize p_silver, "
        "expected u_m0n1o2p3q4r5s6t7 for prize p_gold"
    )
    assert len(problems) == 2
    missing = verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners[:2])
    assert missing == ["winner #3: missing, expected u_0000000000000001 for prize p_silver"]
    extra = winners + winners_for([("u_3k9x2m7q5w8e1r4t", "p_silver")])
    assert verify(proof=proof, entrant_keys=KAT_KEYS, winners=extra)[0].startswith("winner #4:")


def test_verify_rejects_a_seed_that_does_not_match_the_commitment() -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    proof["seed"] = bytes(32).hex()  # a different seed revealed after the fact
    problems = verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners)
    assert problems[0].startswith("seed does not match the commitment")


def test_verify_rejects_a_tampered_entrant_list() -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    added = [*KAT_KEYS, "u_ffffffffffffffff"]
    problems = verify(proof=proof, entrant_keys=added, winners=winners)
    assert "entrant list: 6 entrants, but the proof says 5" in problems
    assert any(problem.startswith("entrant list: digest") for problem in problems)
    replaced = [*KAT_KEYS[:4], "u_ffffffffffffffff"]
    problems = verify(proof=proof, entrant_keys=replaced, winners=winners)
    assert problems[0].startswith("entrant list: digest")
    assert problems[-1] == "winners not checked: the entrant list does not match the proof"


def test_verify_reports_duplicate_entrants() -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    problems = verify(proof=proof, entrant_keys=[*KAT_KEYS, KAT_KEYS[0]], winners=winners)
    assert problems[0].startswith("entrant list: duplicate entrant key")


def test_verify_says_when_the_seed_is_not_revealed_yet() -> None:
    proof = proof_for(seed=None, keys=KAT_KEYS, prizes=KAT_PRIZES, seed_for_commit=KAT_SEED)
    problems = verify(proof=proof, entrant_keys=KAT_KEYS, winners=[])
    assert problems == [
        "seed not revealed yet: the draw has not taken place",
        "winners not checked: no usable seed",
    ]


def test_verify_rejects_wrong_unawarded_counts_and_unknown_algorithms() -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, [("p_gold", 1), ("p_silver", 2), ("p_bronze", 4)])
    wrong = [{"prize": {"id": "p_bronze", "name": "Bronze"}, "quantity": 1}]
    problems = verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners, unawarded=wrong)
    assert problems == ["unawarded units: published {'p_bronze': 1}, expected {'p_bronze': 2}"]
    proof["algorithm"] = "sha256-fisher-yates-v9"
    assert "unknown algorithm" in verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners)[0]


def test_verify_raises_on_a_proof_that_is_not_shaped_like_one() -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    del proof["entrants_digest"]
    with pytest.raises(DrawFormatError):
        verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners)
    with pytest.raises(DrawFormatError):
        verify(proof=honest_draw(KAT_KEYS, KAT_PRIZES)[0], entrant_keys=KAT_KEYS, winners=[{}])


# --- the command-line verifier ----------------------------------------------------------------


def write_inputs(tmp_path: Path, *, proof: Any, winners: Any, entrants_text: str) -> list[str]:
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "winners.json").write_text(json.dumps(winners))
    (tmp_path / "entrants.txt").write_text(entrants_text)
    return [
        "--proof",
        str(tmp_path / "proof.json"),
        "--entrants",
        str(tmp_path / "entrants.txt"),
        "--winners",
        str(tmp_path / "winners.json"),
    ]


def envelope(data: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "ok", "data": data}


def test_cli_confirms_an_enveloped_honest_draw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proof, winners, unawarded = honest_draw(KAT_KEYS, [("p_gold", 1), ("p_silver", 9)])
    argv = write_inputs(
        tmp_path,
        proof=envelope(proof),
        winners=envelope({"winners": winners, "unawarded": unawarded}),
        entrants_text="".join(key + "\n" for key in KAT_KEYS),
    )
    assert load_verifier().main(argv) == 0
    output = capsys.readouterr().out
    assert output.startswith("OK: draw e_0000000000000001 confirmed")
    assert "5 prize unit(s) unawarded" in output


@pytest.mark.parametrize("winners_shape", ["data", "list"])
def test_cli_accepts_bare_data_or_a_bare_winner_list_and_ndjson_entrants(
    tmp_path: Path, winners_shape: str
) -> None:
    proof, winners, unawarded = honest_draw(KAT_KEYS, KAT_PRIZES)
    document = {"winners": winners, "unawarded": unawarded} if winners_shape == "data" else winners
    ndjson = "".join(json.dumps({"id": key}) + "\r\n" for key in KAT_KEYS) + "\n"
    argv = write_inputs(tmp_path, proof=proof, winners=document, entrants_text=ndjson)
    assert load_verifier().main(argv) == 0


def test_cli_prints_each_problem_and_exits_1_for_a_tampered_draw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    winners[0]["user"]["id"] = "u_3k9x2m7q5w8e1r4t"
    argv = write_inputs(tmp_path, proof=proof, winners=winners, entrants_text="\n".join(KAT_KEYS))
    assert load_verifier().main(argv) == 1
    output = capsys.readouterr().out
    assert "NOT CONFIRMED" in output
    assert "winner #1: published u_3k9x2m7q5w8e1r4t for prize p_gold" in output


def test_cli_exits_1_when_the_seed_is_not_revealed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proof = proof_for(seed=None, keys=KAT_KEYS, prizes=KAT_PRIZES, seed_for_commit=KAT_SEED)
    argv = write_inputs(tmp_path, proof=proof, winners=[], entrants_text="\n".join(KAT_KEYS))
    assert load_verifier().main(argv) == 1
    assert "seed not revealed yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "breakage", ["missing file", "not json", "api error", "proof without digest", "bad winners"]
)
def test_cli_exits_2_for_unreadable_input(tmp_path: Path, breakage: str) -> None:
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    argv = write_inputs(tmp_path, proof=proof, winners=winners, entrants_text="\n".join(KAT_KEYS))
    if breakage == "missing file":
        (tmp_path / "entrants.txt").unlink()
    elif breakage == "not json":
        (tmp_path / "proof.json").write_text("{not json")
    elif breakage == "api error":
        (tmp_path / "proof.json").write_text(json.dumps({"code": 404, "msg": "no", "data": None}))
    elif breakage == "proof without digest":
        del proof["entrants_digest"]
        (tmp_path / "proof.json").write_text(json.dumps(proof))
    else:
        (tmp_path / "winners.json").write_text(json.dumps({"winners": "nobody"}))
    assert load_verifier().main(argv) == 2


def test_cli_runs_as_a_script_without_site_packages(tmp_path: Path) -> None:
    # -I -S: no site-packages (so no Django) and no script directory on sys.path: the script
    # needs nothing but the standard library (it imports nothing of the server).
    proof, winners, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    argv = write_inputs(tmp_path, proof=proof, winners=winners, entrants_text="\n".join(KAT_KEYS))
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(VERIFIER_PATH), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK:")


def test_allocator_and_proof_import_only_the_standard_library() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r}); import draws.allocator, draws.proof",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert allocator.ALGORITHM_V1 == "sha256-fisher-yates-v1"


# --- alternates: the order continued past the winners (docs/fairness.md, worked example 3) ---

KAT_SUBSTITUTIONS = [
    {"unit": 1, "prize": {"id": "p_silver"}, "replaced": "u_zzzzzzzzzzzzzzzz",
     "reason": "fake_account", "step": 3, "replacement": "u_a1b2c3d4e5f6g7h8"},
    {"unit": 0, "prize": {"id": "p_gold"}, "replaced": "u_m0n1o2p3q4r5s6t7",
     "reason": "expired", "step": 4, "replacement": "u_3k9x2m7q5w8e1r4t"},
    {"unit": 0, "prize": {"id": "p_gold"}, "replaced": "u_3k9x2m7q5w8e1r4t",
     "reason": "expired", "step": None, "replacement": None},
]  # fmt: skip
KAT_AFTER = winners_for([("u_a1b2c3d4e5f6g7h8", "p_silver"), ("u_0000000000000001", "p_silver")])
KAT_AFTER_UNAWARDED = [{"prize": {"id": "p_gold", "name": "Prize p_gold"}, "quantity": 1}]


def substituted_proof(substitutions=KAT_SUBSTITUTIONS) -> dict[str, Any]:
    proof, _, _ = honest_draw(KAT_KEYS, KAT_PRIZES)
    return {**proof, "max_substitutions": 3, "substitutions": json.loads(json.dumps(substitutions))}


def test_the_order_continues_the_draw_past_its_winners() -> None:
    digest = allocator.entrants_digest(KAT_KEYS)[1]
    order = allocator.alternate_positions(
        seed=KAT_SEED, entrants_digest=digest, entrant_count=5, k=3, count=10
    )
    assert order == [2, 1]  # steps 3 and 4; there is no step 5 with five entrants
    full = allocator.draw_positions(seed=KAT_SEED, entrants_digest=digest, entrant_count=5, k=5)
    assert full == [3, 4, 0, *order]


def test_both_verifiers_confirm_the_worked_substitutions() -> None:
    proof = substituted_proof()
    problems = verify(
        proof=proof, entrant_keys=KAT_KEYS, winners=KAT_AFTER, unawarded=KAT_AFTER_UNAWARDED
    )
    assert problems == []
    standalone, _notes = load_verifier().check_draw(
        proof=proof, keys=KAT_KEYS, winners=KAT_AFTER, unawarded=KAT_AFTER_UNAWARDED
    )
    assert standalone == []


@pytest.mark.parametrize(
    ("number", "change"),
    [
        (1, {"replacement": "u_0000000000000001"}),  # someone the creator would rather have
        (1, {"step": 4, "replacement": "u_3k9x2m7q5w8e1r4t"}),  # a skipped step
        (2, {"replaced": "u_zzzzzzzzzzzzzzzz"}),  # not the unit's holder
        (1, {"reason": "creator_said_so"}),
        (2, {"step": None, "replacement": None}),  # unawarded before the limit
        (3, {"step": 5, "replacement": "u_zzzzzzzzzzzzzzzz"}),  # past the end of the order
    ],
)
def test_both_verifiers_reject_a_forged_substitution(number: int, change: dict) -> None:
    substitutions = json.loads(json.dumps(KAT_SUBSTITUTIONS))
    substitutions[number - 1].update(change)
    proof = substituted_proof(substitutions)
    problems = verify(
        proof=proof, entrant_keys=KAT_KEYS, winners=KAT_AFTER, unawarded=KAT_AFTER_UNAWARDED
    )
    assert any(p.startswith(f"substitution #{number}") for p in problems), problems
    standalone, _notes = load_verifier().check_draw(
        proof=proof, keys=KAT_KEYS, winners=KAT_AFTER, unawarded=KAT_AFTER_UNAWARDED
    )
    assert any(p.startswith(f"substitution #{number}") for p in standalone), standalone


def test_the_limit_records_a_unit_unawarded_after_max_substitutions() -> None:
    proof = substituted_proof(KAT_SUBSTITUTIONS[:2])
    proof["max_substitutions"] = 1
    proof["substitutions"][1].update(step=None, replacement=None)  # unit 0's first pass: allowed
    problems = verify(proof=proof, entrant_keys=KAT_KEYS, winners=KAT_AFTER)
    assert any(p.startswith("substitution #2") for p in problems)
    proof["substitutions"] = proof["substitutions"][:1]
    winners = winners_for(
        [("u_m0n1o2p3q4r5s6t7", "p_gold"), ("u_a1b2c3d4e5f6g7h8", "p_silver"),
         ("u_0000000000000001", "p_silver")]
    )  # fmt: skip
    assert verify(proof=proof, entrant_keys=KAT_KEYS, winners=winners) == []
