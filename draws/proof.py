"""The proof of a draw: parse the published JSON and check it, rule by rule.

Pure standard library, like ``draws.allocator`` whose draw it recomputes. docs/fairness.md is
the byte-exact specification; the stand-alone verifier (``tools/verify_draw.py``) is a second
implementation written from that document, on purpose: a bug here is not shared by the checker.

``verify`` recomputes the winners from the revealed seed and the public entrant list, replays
every published substitution, and checks the time rules of v3 (docs/fairness.md, "Time
rules"), canceled events (the would-be winners), and that a draw which should have had a beacon
has one. The drand round arithmetic (which round a moment names, when a round is out) lives
here too, as the proof publishes the chain.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from draws.allocator import (
    ALGORITHM_V1,
    ALGORITHM_V2,
    ALGORITHM_V3,
    ALGORITHMS,
    EXPIRED,
    SEED_BYTES,
    SUBSTITUTION_REASONS,
    WITH_PRIZES_DIGEST,
    Allocation,
    allocate,
    alternate_pick,
    alternate_positions,
    check_prizes,
    commitment,
    entrants_digest,
    is_hex64,
    prizes_digest,
)


class DrawFormatError(ValueError):
    """A proof or winner list is structurally malformed (missing field, wrong JSON type)."""


# --- substitutions, replayed over the draw's winners ----------------------------------------


@dataclass(frozen=True)
class Substitution:
    """One published substitution: ``unit`` (0-based, winner #unit+1 in the draw) passed from
    ``replaced`` to ``replacement`` at order step ``step`` (both None: recorded unawarded)."""

    unit: int
    prize_id: str
    replaced: str
    reason: str
    step: int | None
    replacement: str | None


def parse_substitution(entry: Any) -> Substitution:
    if not isinstance(entry, Mapping):
        raise DrawFormatError("each substitution must be a JSON object")
    step, replacement = entry.get("step"), entry.get("replacement")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
        raise DrawFormatError("substitution field 'step' must be an integer or null")
    if replacement is not None and not isinstance(replacement, str):
        raise DrawFormatError("substitution field 'replacement' must be a string or null")
    return Substitution(
        unit=_field(entry, "unit", int),
        prize_id=_nested_id(entry, "prize"),
        replaced=_field(entry, "replaced", str),
        reason=_field(entry, "reason", str),
        step=step,
        replacement=replacement,
    )


def apply_substitutions(
    *,
    holders: list[str | None],
    prize_of_unit: list[str],
    substitutions: Sequence[Substitution],
    alternates: Callable[[int], str | None],
    k: int,
    max_substitutions: int,
) -> list[str]:
    """Replay published substitutions over the draw's winners; list every departure from the rules.

    ``holders[u]`` is the key holding unit u (updated in place: None once recorded unawarded);
    ``alternates(step)`` the key at that step of the order (None past its end). Each
    substitution must replace the unit's current holder and hand the unit to the next unused
    step, unless the unit already passed ``max_substitutions`` times or the order is exhausted,
    and only then is it recorded unawarded.
    """
    problems: list[str] = []
    passes = [0] * len(holders)
    next_step = k
    for number, sub in enumerate(substitutions, start=1):
        where = f"substitution #{number}"
        if not 0 <= sub.unit < len(holders):
            problems.append(f"{where}: unit {sub.unit} was not awarded in the draw")
            continue
        if sub.reason not in SUBSTITUTION_REASONS:
            problems.append(f"{where}: reason {sub.reason!r} is not one of {SUBSTITUTION_REASONS}")
        if sub.prize_id != prize_of_unit[sub.unit]:
            problems.append(
                f"{where}: prize {sub.prize_id} is not unit {sub.unit}'s, {prize_of_unit[sub.unit]}"
            )
        if holders[sub.unit] is None or sub.replaced != holders[sub.unit]:
            problems.append(
                f"{where}: replaced {sub.replaced}, but unit {sub.unit} was held by "
                f"{holders[sub.unit]}"
            )
        expected = alternates(next_step) if passes[sub.unit] < max_substitutions else None
        expected_step = next_step if expected is not None else None
        if (sub.step, sub.replacement) != (expected_step, expected):
            problems.append(
                f"{where}: gave unit {sub.unit} to {sub.replacement} (step {sub.step}), "
                f"the order says {expected} (step {expected_step})"
            )
        holders[sub.unit] = expected
        if expected is not None:
            passes[sub.unit] += 1
            next_step += 1
    return problems


# --- verification -----------------------------------------------------------------------------

# Fields each version adds to the proof. A proof is read by the version its fields demand: an
# older label on a proof carrying later fields is a downgrade (a v1 label would drop the beacon
# and the prizes digest from the stream; a v2 label, the v3 time rules), and is refused.
V2_FIELDS = ("prizes_digest", "beacon_round", "beacon_chain", "beacon", "beacon_missing_reason")
V3_FIELDS = ("without_beacon", "reveal_gap_seconds")
V3_SUBSTITUTION_FIELDS = ("pending", "beacon_round", "beacon", "drawn_at", "position")
MISSING_BEACON = "missing beacon: "  # problems that mean "should have had a beacon, has none"


@dataclass(frozen=True)
class Proof:
    """The published proof of one draw, parsed from its JSON form."""

    algorithm: str
    event_id: str
    commitment: str
    entrant_count: int | None
    entrants_digest: str | None
    seed_hex: str | None
    prizes: list[tuple[str, int]]
    prize_names: list[str] = ()  # type: ignore[assignment]
    prizes_digest: str | None = None
    beacon_round: int | None = None
    beacon_chain: Mapping[str, Any] | None = None
    beacon: Mapping[str, Any] | None = None
    beacon_missing_reason: str | None = None
    substitutions: list[Substitution] = ()  # type: ignore[assignment]
    raw_substitutions: list[Mapping[str, Any]] = ()  # type: ignore[assignment]
    max_substitutions: int = 0
    status: str | None = None
    without_beacon: bool | None = None
    reveal_gap_seconds: int | None = None
    claim_days: int | None = None
    times: Mapping[str, datetime | None] = None  # type: ignore[assignment]
    cancel_reason: str | None = None
    would_be_winners: list[tuple[str, str]] | None = None
    raw: Mapping[str, Any] = None  # type: ignore[assignment]

    @property
    def locked(self) -> bool:
        return self.entrants_digest is not None


TIME_FIELDS = (
    "committed_at",
    "lock_at",
    "locked_at",
    "drawn_at",
    "cancel_requested_at",
    "canceled_at",
)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time of the proof (with its offset); None for null or garbage."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def parse_proof(proof: Mapping[str, Any]) -> Proof:
    """Check the JSON shape of a proof; DrawFormatError if it is not a proof at all."""
    if not isinstance(proof, Mapping):
        raise DrawFormatError("proof must be a JSON object")
    seed_hex = proof.get("seed")
    if seed_hex is not None and not isinstance(seed_hex, str):
        raise DrawFormatError("proof field 'seed' must be a string or null")
    prize_items = _field(proof, "prizes", list)
    beacon = proof.get("beacon")
    if beacon is not None and not isinstance(beacon, Mapping):
        raise DrawFormatError("proof field 'beacon' must be an object or null")
    chain = proof.get("beacon_chain")
    if chain is not None and not isinstance(chain, Mapping):
        raise DrawFormatError("proof field 'beacon_chain' must be an object or null")
    beacon_round = proof.get("beacon_round")
    if beacon_round is not None and (not _is_int(beacon_round) or beacon_round < 1):
        raise DrawFormatError("proof field 'beacon_round' must be a positive integer or null")
    substitutions = proof.get("substitutions") or []
    if not isinstance(substitutions, list):
        raise DrawFormatError("proof field 'substitutions' must be a list")
    max_substitutions = proof.get("max_substitutions", 0)
    if not _is_int(max_substitutions):
        raise DrawFormatError("proof field 'max_substitutions' must be an integer")
    locked = proof.get("entrants_digest") is not None or proof.get("status") not in (
        "canceled",
        "init",
    )
    would_be = proof.get("would_be_winners")
    if would_be is not None and not isinstance(would_be, list):
        raise DrawFormatError("proof field 'would_be_winners' must be a list or null")
    return Proof(
        substitutions=[parse_substitution(item) for item in substitutions],
        raw_substitutions=substitutions,
        max_substitutions=max_substitutions,
        prize_names=[
            str(item.get("name", "")) for item in prize_items if isinstance(item, Mapping)
        ],
        prizes_digest=proof.get("prizes_digest"),
        beacon_round=beacon_round,
        beacon_chain=chain,
        beacon=beacon,
        beacon_missing_reason=proof.get("beacon_missing_reason"),
        algorithm=_field(proof, "algorithm", str),
        event_id=str(proof.get("event_id", "")),
        commitment=_field(proof, "commitment", str),
        entrant_count=_field(proof, "entrant_count", int) if locked else None,
        entrants_digest=_field(proof, "entrants_digest", str) if locked else None,
        seed_hex=seed_hex,
        prizes=[_parse_prize(item) for item in prize_items],
        status=proof.get("status"),
        without_beacon=proof.get("without_beacon"),
        reveal_gap_seconds=proof.get("reveal_gap_seconds"),
        claim_days=proof.get("claim_days"),
        times={name: parse_time(proof.get(name)) for name in TIME_FIELDS},
        cancel_reason=proof.get("cancel_reason"),
        would_be_winners=None if would_be is None else [parse_winner(item) for item in would_be],
        raw=proof,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field(obj: Mapping[str, Any], name: str, kind: type) -> Any:
    value = obj.get(name)
    # bool is an int subclass; a JSON true is never a valid count.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DrawFormatError(f"proof field {name!r} must be a {kind.__name__}")
    return value


def _parse_prize(item: Any) -> tuple[str, int]:
    if not isinstance(item, Mapping):
        raise DrawFormatError("each prize must be a JSON object")
    return _field(item, "id", str), _field(item, "quantity", int)


def parse_winner(entry: Any) -> tuple[str, str]:
    """(user key, prize id) of one published winner: {"user": {"id"}, "prize": {"id"}}."""
    if not isinstance(entry, Mapping):
        raise DrawFormatError("each winner must be a JSON object")
    return _nested_id(entry, "user"), _nested_id(entry, "prize")


def _nested_id(entry: Mapping[str, Any], name: str) -> str:
    value = entry.get(name)
    if isinstance(value, Mapping):
        value = value.get("id")
    if not isinstance(value, str):
        raise DrawFormatError(f"winner field {name!r} must carry a string id")
    return value


# --- drand round arithmetic (the chain as the proof publishes it) ---------------------------


def round_time(chain: Mapping[str, Any], round_number: int) -> int:
    """Unix time of ``round_number`` of ``chain``: genesis_time + (round - 1) * period."""
    return int(chain["genesis_time"]) + (round_number - 1) * int(chain["period"])


def first_round_at_or_after(chain: Mapping[str, Any], moment: datetime) -> int:
    """The first round of ``chain`` whose time is at or after ``moment`` (at least round 1)."""
    genesis, period = int(chain["genesis_time"]), int(chain["period"])
    # Whole seconds and microseconds kept exact: no float rounding decides a round.
    micros = (moment - datetime.fromtimestamp(genesis, tz=UTC)) // timedelta(microseconds=1)
    return max(1, -(-micros // (period * 1_000_000)) + 1)


def chain_hash(chain: Mapping[str, Any]) -> str:
    """drand's chain hash of a published chain: SHA-256 of u32be(period), i64be(genesis_time),
    the public key, the group hash, and the beacon id unless it is "" or "default"."""
    message = (
        struct.pack(">I", int(chain["period"]))
        + struct.pack(">q", int(chain["genesis_time"]))
        + bytes.fromhex(str(chain["public_key"]))
        + bytes.fromhex(str(chain["group_hash"]))
    )
    if chain.get("beacon_id") not in (None, "", "default"):
        message += str(chain["beacon_id"]).encode("utf-8")
    return hashlib.sha256(message).hexdigest()


# --- the checks -------------------------------------------------------------------------------


@dataclass
class Report:
    """What ``verify_report`` found: ``problems`` (empty: confirmed; those starting with
    ``MISSING_BEACON`` mean a draw that should have had a beacon has none) and ``notes``,
    facts worth reading that do not refute the draw (``late_cancel``: canceled once the named
    round, hence the outcome, was public)."""

    problems: list[str]
    notes: list[str]
    late_cancel: bool = False


def verify(
    *,
    proof: Mapping[str, Any],
    entrant_keys: Iterable[str],
    winners: Sequence[Mapping[str, Any]] | None = None,
    unawarded: Sequence[Mapping[str, Any]] | None = None,
) -> list[str]:
    """Recompute a draw from its proof and public entrant list; list every discrepancy.

    An empty list means the draw is confirmed. ``entrant_keys`` may come in any order (the
    scheme sorts them); ``unawarded`` (the API's list of leftover prize units) is checked
    only when given. Raises DrawFormatError when the proof or winners are not even shaped right.
    """
    return verify_report(
        proof=proof, entrant_keys=entrant_keys, winners=winners, unawarded=unawarded
    ).problems


def verify_report(
    *,
    proof: Mapping[str, Any],
    entrant_keys: Iterable[str],
    winners: Sequence[Mapping[str, Any]] | None = None,
    unawarded: Sequence[Mapping[str, Any]] | None = None,
) -> Report:
    """``verify`` with its notes. The BLS signatures of the beacon rounds are not checked here
    (no pairing library in the standard library): tools/verify_draw.py and ``manage.py
    verify_draw`` check them."""
    parsed = parse_proof(proof)
    published = None if winners is None else [parse_winner(entry) for entry in winners]
    report = Report(problems=_check_header(parsed), notes=[])
    if report.problems:
        return report  # nothing below can be trusted
    seed, seed_problems = _revealed_seed(parsed)
    if parsed.status == "canceled" and not parsed.locked:
        report.problems += seed_problems
        report.notes.append("canceled before the lock: there was no draw to check")
        return report
    keys = sorted(entrant_keys)
    report.problems += _check_entrants(parsed, keys) + seed_problems
    report.problems += _check_times(parsed) + _check_beacon_present(parsed)
    if seed is None:
        report.problems.append("winners not checked: no usable seed")
        return report
    if any(p.startswith("entrant list") for p in report.problems):
        report.problems.append("winners not checked: the entrant list does not match the proof")
        return report
    beacon_randomness, beacon_problems = _beacon_randomness(parsed)
    if beacon_problems:
        report.problems += [*beacon_problems, "winners not checked: the beacon part is invalid"]
        return report
    allocation = allocate(
        seed=seed,
        entrants_digest=parsed.entrants_digest,
        entrant_count=parsed.entrant_count,
        prizes=parsed.prizes,
        algorithm=parsed.algorithm,
        prizes_digest=parsed.prizes_digest,
        beacon_randomness=beacon_randomness,
    )
    if parsed.status == "canceled":
        _check_canceled(parsed, keys, allocation, report)
        return report
    outcome = _Outcome(parsed, keys, allocation, seed, beacon_randomness)
    report.problems += outcome.replay()
    if published is None:
        report.problems.append("winners not given: nothing to compare the draw with")
    else:
        report.problems += _compare_winners(published=published, expected=outcome.current())
    if unawarded is not None:
        report.problems += _compare_unawarded(published=unawarded, expected=outcome.unawarded())
    return report


def _check_header(proof: Proof) -> list[str]:
    if proof.algorithm not in ALGORITHMS:
        return [f"unknown algorithm {proof.algorithm!r}: this verifier implements {ALGORITHMS}"]
    downgrade = _check_version_fields(proof)
    if downgrade:
        return downgrade
    if not is_hex64(proof.commitment):
        return ["proof commitment is not 64 lower-case hexadecimal characters"]
    if proof.status == "canceled" and not proof.locked:
        return []
    if not is_hex64(proof.entrants_digest):
        return ["proof entrants_digest is not 64 lower-case hexadecimal characters"]
    if proof.algorithm in WITH_PRIZES_DIGEST:
        if not is_hex64(proof.prizes_digest):
            return ["proof prizes_digest is not 64 lower-case hexadecimal characters"]
        named = [
            (prize_id, quantity, name)
            for (prize_id, quantity), name in zip(proof.prizes, proof.prize_names, strict=True)
        ]
        if prizes_digest(named) != proof.prizes_digest:
            return [
                f"prizes: digest {prizes_digest(named)} of the listed prizes does not match the "
                f"proof's prizes_digest {proof.prizes_digest}"
            ]
    if proof.entrant_count < 0:
        return ["proof entrant_count is negative"]
    try:
        check_prizes(proof.prizes)
    except ValueError as error:
        return [f"proof prizes: {error}"]
    return _check_chain(proof)


def _check_version_fields(proof: Proof) -> list[str]:
    """An older label on a proof with later fields is refused (it would drop their rules)."""
    raw = proof.raw
    later = [name for name in V3_FIELDS if raw.get(name) is not None] + [
        f"substitutions[{number}].{name}"
        for number, sub in enumerate(proof.raw_substitutions, start=1)
        if isinstance(sub, Mapping)
        for name in V3_SUBSTITUTION_FIELDS
        if sub.get(name) not in (None, False)
    ]
    if proof.algorithm == ALGORITHM_V1:
        later = [name for name in V2_FIELDS if raw.get(name) is not None] + later
    if proof.algorithm != ALGORITHM_V3 and later:
        return [
            f"algorithm {proof.algorithm} is refused on a proof carrying later fields "
            f"({', '.join(later)}): such a proof must say the version its fields demand"
        ]
    if proof.algorithm == ALGORITHM_V3:
        if not isinstance(proof.without_beacon, bool):
            return ["v3 proof: without_beacon must be true or false"]
        if not _is_int(proof.reveal_gap_seconds) or proof.reveal_gap_seconds < 0:
            return ["v3 proof: reveal_gap_seconds must be a non-negative integer"]
        if proof.without_beacon and (proof.beacon_chain or proof.beacon or proof.beacon_round):
            return ["v3 proof: an event drawn without a beacon names a beacon"]
        if not proof.without_beacon and not proof.beacon_chain:
            return ["v3 proof: an event drawn with a beacon must name its chain from creation"]
    return []


def _check_chain(proof: Proof) -> list[str]:
    """The chain's hash recomputed from what the proof says of it (when it says enough)."""
    chain = proof.beacon_chain
    if not chain:
        return []
    for name, kind in (("hash", str), ("public_key", str), ("period", int), ("genesis_time", int)):
        if not isinstance(chain.get(name), kind) or isinstance(chain.get(name), bool):
            return [f"beacon_chain: {name} missing or malformed"]
    if chain["period"] < 1:
        return ["beacon_chain: period must be positive"]
    if chain.get("group_hash"):
        try:
            recomputed = chain_hash(chain)
        except (ValueError, TypeError):
            return ["beacon_chain: public_key or group_hash is not hexadecimal"]
        if recomputed != chain["hash"]:
            return [
                f"beacon_chain: its info hashes to {recomputed}, not to its hash {chain['hash']}"
            ]
    elif proof.algorithm == ALGORITHM_V3:
        return ["beacon_chain: a v3 proof gives group_hash and beacon_id, so its hash is checkable"]
    return []


def _check_entrants(proof: Proof, keys: list[str]) -> list[str]:
    try:
        count, digest = entrants_digest(keys)
    except ValueError as error:
        return ["entrant list: " + str(error)]
    problems = []
    if count != proof.entrant_count:
        problems.append(f"entrant list: {count} entrants, but the proof says {proof.entrant_count}")
    if digest != proof.entrants_digest:
        problems.append(
            f"entrant list: digest {digest} does not match the proof's {proof.entrants_digest}"
        )
    return problems


def _has_beacon(proof: Proof) -> bool:
    """The event's draw must mix in a beacon round (v3: unless created without one)."""
    if proof.algorithm == ALGORITHM_V3:
        return not proof.without_beacon
    return proof.algorithm == ALGORITHM_V2 and proof.beacon_round is not None


def _settled(proof: Proof) -> bool:
    """Drawn, or canceled after the lock through the draw's own step (which used the round)."""
    return proof.status == "opened" or (
        proof.status == "canceled" and proof.would_be_winners is not None
    )


def _check_beacon_present(proof: Proof) -> list[str]:
    if not _has_beacon(proof) or not _settled(proof) or proof.beacon is not None:
        return []
    what = "drawn" if proof.status == "opened" else "canceled"
    reason = proof.beacon_missing_reason or "no reason given"
    return [
        f"{MISSING_BEACON}{what} without beacon round {proof.beacon_round}, which was named "
        f"for it ({reason}): whoever held the seed could have chosen the outcome"
    ]


def _check_times(proof: Proof) -> list[str]:
    """v3's time rules (docs/fairness.md, "Time rules"); v2: the round came after the lock."""
    times, chain = proof.times, proof.beacon_chain
    problems = []
    if (
        proof.algorithm == ALGORITHM_V2
        and chain
        and proof.beacon_round
        and times["lock_at"]
        and round_time(chain, proof.beacon_round) <= times["lock_at"].timestamp()
    ):
        problems.append(f"beacon: round {proof.beacon_round} was out before the lock")
    if proof.algorithm != ALGORITHM_V3 or not proof.locked:
        return problems
    locked_at = times["locked_at"]
    if locked_at is None:
        return [*problems, "locked_at: missing, so no time rule can be checked"]
    gap = timedelta(seconds=proof.reveal_gap_seconds)
    if times["lock_at"] and locked_at < times["lock_at"]:
        problems.append(f"locked_at {locked_at} is before lock_at {times['lock_at']}")
    if times["committed_at"] and times["committed_at"] > locked_at:
        problems.append("committed_at is after locked_at: the commitment came after the lock")
    settled_at = times["drawn_at"] if proof.status == "opened" else times["canceled_at"]
    if _settled(proof) and (settled_at is None or settled_at < locked_at + gap):
        problems.append(
            f"{'drawn_at' if proof.status == 'opened' else 'canceled_at'} {settled_at} is "
            f"sooner than locked_at + {proof.reveal_gap_seconds} s ({locked_at + gap})"
        )
    if not _has_beacon(proof):
        return problems
    expected = first_round_at_or_after(chain, locked_at + gap)
    if proof.beacon_round != expected:
        problems.append(
            f"beacon: round {proof.beacon_round} named, but the rule names round {expected}, "
            f"the first at or after locked_at + {proof.reveal_gap_seconds} s"
        )
    elif settled_at is not None and _settled(proof):
        out_at = round_time(chain, proof.beacon_round)
        if settled_at.timestamp() < out_at:
            problems.append(
                f"beacon: settled at {settled_at}, before round {proof.beacon_round} was out "
                f"({datetime.fromtimestamp(out_at, tz=UTC)})"
            )
    return problems


def _beacon_randomness(proof: Proof) -> tuple[bytes | None, list[str]]:
    """The beacon's randomness a v2/v3 draw used (None: drawn without) and any problem with it.

    Only the hash chain is checked here (randomness = SHA-256(signature), the named round);
    the BLS signature needs a pairing library: tools/verify_draw.py checks it with py_ecc.
    """
    if proof.algorithm not in WITH_PRIZES_DIGEST or proof.beacon is None:
        return None, []
    return beacon_randomness(proof.beacon, named=proof.beacon_round, what="beacon")


def beacon_randomness(
    beacon: Mapping[str, Any], *, named: int | None, what: str
) -> tuple[bytes | None, list[str]]:
    problems = []
    if beacon.get("round") != named:
        problems.append(
            f"{what}: round {beacon.get('round')!r} is not the round named in advance, {named!r}"
        )
    randomness, signature = beacon.get("randomness"), beacon.get("signature")
    if not is_hex64(randomness):
        return None, [*problems, f"{what}: randomness is not 64 lower-case hexadecimal characters"]
    if not isinstance(signature, str) or not _is_lower_hex(signature):
        return None, [*problems, f"{what}: signature is not lower-case hexadecimal"]
    if hashlib.sha256(bytes.fromhex(signature)).hexdigest() != randomness:
        problems.append(f"{what}: randomness is not SHA-256 of the signature")
    return bytes.fromhex(randomness), problems


def _is_lower_hex(value: str) -> bool:
    return len(value) % 2 == 0 and all(c in "0123456789abcdef" for c in value)


def _revealed_seed(proof: Proof) -> tuple[bytes | None, list[str]]:
    """The revealed seed (None if absent or malformed) and any problems with it."""
    if proof.seed_hex is None:
        return None, ["seed not revealed yet: the draw has not taken place"]
    try:
        seed = bytes.fromhex(proof.seed_hex)
    except ValueError:
        seed = b""
    if len(seed) != SEED_BYTES:
        return None, [f"seed is not {2 * SEED_BYTES} hexadecimal characters"]
    if not _is_lower_hex(proof.seed_hex):
        return None, ["seed is not lower-case hexadecimal"]
    if commitment(seed) != proof.commitment:
        # Still usable for recomputing winners, but a seed swapped after creation is the
        # very thing the commitment exists to catch.
        return seed, [
            f"seed does not match the commitment: sha256(seed) is {commitment(seed)}, "
            f"the commitment published at creation is {proof.commitment}"
        ]
    return seed, []


def _check_canceled(proof: Proof, keys: list[str], allocation: Allocation, report: Report) -> None:
    """A cancel after the lock: the would-be winners, its public reason, and when it was asked."""
    times = proof.times
    if proof.would_be_winners is None:
        if proof.algorithm == ALGORITHM_V3:
            report.problems.append(
                "canceled after the lock without publishing its would-be winners"
            )
        else:
            report.notes.append(
                "canceled after the lock, before would-be winners were published: compute "
                "them from the seed and the entrant list"
            )
        return
    expected = [(keys[position], prize_id) for position, prize_id in allocation.awards]
    report.problems += [
        problem.replace("winner #", "would-be winner #", 1)
        for problem in _compare_winners(published=proof.would_be_winners, expected=expected)
    ]
    if not (proof.cancel_reason or "").strip():
        report.problems.append("canceled after the lock without a public reason")
    asked = times["cancel_requested_at"]
    if asked is None:
        report.problems.append("canceled after the lock, but cancel_requested_at is missing")
        return
    if _has_beacon(proof) and proof.beacon_chain and proof.beacon_round:
        public_from = datetime.fromtimestamp(
            round_time(proof.beacon_chain, proof.beacon_round), tz=UTC
        )
    else:
        public_from = times["locked_at"]  # without a beacon the seed holder knew it at the lock
    if public_from is not None and asked >= public_from:
        report.late_cancel = True
        report.notes.append(
            f"canceled at {asked}, once the outcome was public ({public_from}): whoever canceled "
            f"could have known the would-be winners ({len(expected)} listed); reason given: "
            f"{proof.cancel_reason!r}"
        )


class _Outcome:
    """The draw's winners with every published substitution replayed over them."""

    def __init__(self, proof, keys, allocation, seed, beacon_randomness) -> None:
        self.proof, self.keys, self.seed = proof, keys, seed
        self.beacon_randomness = beacon_randomness
        self.positions = [position for position, _ in allocation.awards]
        self.holders: list[str | None] = [keys[position] for position in self.positions]
        self.prize_of_unit = [prize_id for _, prize_id in allocation.awards]
        self.leftover = dict(allocation.unawarded)
        self.pending: set[int] = set()

    def replay(self) -> list[str]:
        if not self.proof.substitutions:
            return []
        if self.proof.algorithm == ALGORITHM_V3:
            return self._replay_v3()
        return self._replay_order() + self._check_expiry_v2()

    def _replay_order(self) -> list[str]:
        """v1/v2: each alternate is the next step of the draw's order."""
        proof, keys, k = self.proof, self.keys, len(self.holders)
        alternates = alternate_positions(
            seed=self.seed,
            entrants_digest=proof.entrants_digest,
            entrant_count=proof.entrant_count,
            k=k,
            count=len(proof.substitutions),
            algorithm=proof.algorithm,
            prizes_digest=proof.prizes_digest,
            beacon_randomness=self.beacon_randomness,
        )
        return apply_substitutions(
            holders=self.holders,
            prize_of_unit=self.prize_of_unit,
            substitutions=proof.substitutions,
            alternates=lambda step: (
                keys[alternates[step - k]] if step - k < len(alternates) else None
            ),
            k=k,
            max_substitutions=proof.max_substitutions,
        )

    def _check_expiry_v2(self) -> list[str]:
        """An ``expired`` substitution came at or after its holder's deadline (when the proof
        gives the claim window): the draw's winners from ``drawn_at``, an alternate from the
        substitution that gave them the unit."""
        drawn_at = self.proof.times["drawn_at"]
        if "claim_days" not in self.proof.raw or drawn_at is None:
            return []
        awarded = [drawn_at] * len(self.holders)
        problems = []
        for number, (sub, raw) in enumerate(
            zip(self.proof.substitutions, self.proof.raw_substitutions, strict=True), start=1
        ):
            at = parse_time(raw.get("at"))
            if not 0 <= sub.unit < len(awarded) or at is None:
                continue
            problems += _expiry_problems(
                f"substitution #{number}", sub.reason, at, awarded[sub.unit], self.proof.claim_days
            )
            if sub.replacement is not None:
                awarded[sub.unit] = at
        return problems

    def _replay_v3(self) -> list[str]:
        """v3: each alternate drawn among those who never held a unit, with a fresh round."""
        proof, keys = self.proof, self.keys
        index = {key: position for position, key in enumerate(keys)}
        excluded = set(self.positions)
        awarded: list[datetime | None] = [proof.times["drawn_at"]] * len(self.holders)
        passes = [0] * len(self.holders)
        problems: list[str] = []
        for number, (sub, raw) in enumerate(
            zip(proof.substitutions, proof.raw_substitutions, strict=True), start=1
        ):
            where = f"substitution #{number}"
            unit = sub.unit
            if not 0 <= unit < len(self.holders):
                problems.append(f"{where}: unit {unit} was not awarded in the draw")
                continue
            if self.pending and not raw.get("pending"):
                problems.append(f"{where}: settled while an earlier substitution still waits")
            problems += self._check_replaced(where, sub)
            at = parse_time(raw.get("at"))
            if at is None:
                problems.append(f"{where}: 'at' is missing or not a time")
                continue
            if awarded[unit] is not None and at < awarded[unit]:
                problems.append(f"{where}: at {at} is before the holder got the unit")
            problems += _expiry_problems(where, sub.reason, at, awarded[unit], proof.claim_days)
            problems += _published_deadline(where, raw, "replaced_deadline", awarded[unit], proof)
            self.holders[unit] = None
            if passes[unit] >= proof.max_substitutions:
                problems += _expect_unawarded(
                    where, sub, raw, f"the limit {proof.max_substitutions}"
                )
                self.leftover[self.prize_of_unit[unit]] = (
                    self.leftover.get(self.prize_of_unit[unit], 0) + 1
                )
                continue
            problems += self._check_round_named(where, raw, at)
            if raw.get("pending"):
                if sub.replacement is not None:
                    problems.append(f"{where}: pending, yet it names a replacement")
                self.pending.add(unit)
                continue
            if len(excluded) >= proof.entrant_count:
                problems += _expect_unawarded(where, sub, raw, "nobody left who never held a unit")
                self.leftover[self.prize_of_unit[unit]] = (
                    self.leftover.get(self.prize_of_unit[unit], 0) + 1
                )
                continue
            randomness, round_problems = self._round_of(where, raw)
            problems += round_problems
            if round_problems:
                continue
            position = alternate_pick(
                seed=self.seed,
                entrants_digest=proof.entrants_digest,
                prizes_digest=proof.prizes_digest,
                beacon_randomness=randomness,
                number=number,
                entrant_count=proof.entrant_count,
                excluded=excluded,
            )
            expected = keys[position]
            if sub.replacement != expected or raw.get("position", position) != position:
                problems.append(
                    f"{where}: unit {unit} went to {sub.replacement} (position "
                    f"{raw.get('position')}), the draw gives {expected} (position {position})"
                )
            if sub.replacement in index and index[sub.replacement] in excluded:
                problems.append(f"{where}: {sub.replacement} already held a unit")
            self.holders[unit] = expected
            excluded.add(position)
            passes[unit] += 1
            awarded[unit] = parse_time(raw.get("drawn_at"))
            problems += _published_deadline(where, raw, "deadline", awarded[unit], proof)
        return problems

    def _check_replaced(self, where: str, sub: Substitution) -> list[str]:
        problems = []
        if sub.reason not in SUBSTITUTION_REASONS:
            problems.append(f"{where}: reason {sub.reason!r} is not one of {SUBSTITUTION_REASONS}")
        if sub.prize_id != self.prize_of_unit[sub.unit]:
            problems.append(
                f"{where}: prize {sub.prize_id} is not unit {sub.unit}'s, "
                f"{self.prize_of_unit[sub.unit]}"
            )
        if self.holders[sub.unit] is None or sub.replaced != self.holders[sub.unit]:
            problems.append(
                f"{where}: replaced {sub.replaced}, but unit {sub.unit} was held by "
                f"{self.holders[sub.unit]}"
            )
        return problems

    def _check_round_named(self, where: str, raw: Mapping[str, Any], at: datetime) -> list[str]:
        proof = self.proof
        if not _has_beacon(proof):
            return [] if raw.get("beacon_round") is None else [f"{where}: names a beacon round"]
        expected = first_round_at_or_after(
            proof.beacon_chain, at + timedelta(seconds=proof.reveal_gap_seconds)
        )
        if raw.get("beacon_round") != expected:
            return [
                f"{where}: round {raw.get('beacon_round')} named, but the rule names round "
                f"{expected}, the first at or after at + {proof.reveal_gap_seconds} s"
            ]
        return []

    def _round_of(self, where: str, raw: Mapping[str, Any]) -> tuple[bytes | None, list[str]]:
        """The substitution's beacon randomness (None without a beacon) and any problem."""
        drawn_at = parse_time(raw.get("drawn_at"))
        if drawn_at is None:
            return None, [f"{where}: drawn_at is missing"]
        if not _has_beacon(self.proof):
            at = parse_time(raw.get("at"))
            return None, [] if at is None or drawn_at >= at else [f"{where}: drawn before at"]
        beacon = raw.get("beacon")
        if not isinstance(beacon, Mapping):
            return None, [
                f"{MISSING_BEACON}{where}: the alternate was drawn without round "
                f"{raw.get('beacon_round')}, named for it"
            ]
        randomness, problems = beacon_randomness(
            beacon, named=raw.get("beacon_round"), what=f"{where} beacon"
        )
        out_at = round_time(self.proof.beacon_chain, raw.get("beacon_round"))
        if drawn_at.timestamp() < out_at:
            problems.append(f"{where}: drawn at {drawn_at}, before its round was out")
        return randomness, problems

    def current(self) -> list[tuple[str, str]]:
        return [
            (key, prize_id)
            for key, prize_id in zip(self.holders, self.prize_of_unit, strict=True)
            if key is not None
        ]

    def unawarded(self) -> dict[str, int]:
        left = dict(self.leftover)
        if self.proof.algorithm != ALGORITHM_V3:  # v1/v2: a unit without holder is unawarded
            for key, prize_id in zip(self.holders, self.prize_of_unit, strict=True):
                if key is None:
                    left[prize_id] = left.get(prize_id, 0) + 1
        return {prize_id: n for prize_id, n in left.items() if n}


def _expiry_problems(
    where: str, reason: str, at: datetime, awarded: datetime | None, claim_days: int | None
) -> list[str]:
    if reason != EXPIRED:
        return []
    if claim_days is None:
        return [f"{where}: 'expired', but the event has no claim step (claim_days is null)"]
    if awarded is not None and at < awarded + timedelta(days=claim_days):
        return [
            f"{where}: 'expired' at {at}, before the holder's deadline "
            f"{awarded + timedelta(days=claim_days)} ({claim_days} days from {awarded})"
        ]
    return []


def _published_deadline(
    where: str, raw: Mapping[str, Any], name: str, awarded: datetime | None, proof: Proof
) -> list[str]:
    published = parse_time(raw.get(name))
    if raw.get(name) is None or proof.claim_days is None or awarded is None:
        return []
    expected = awarded + timedelta(days=proof.claim_days)
    return [] if published == expected else [f"{where}: {name} {published}, expected {expected}"]


def _expect_unawarded(where: str, sub: Substitution, raw: Mapping[str, Any], why: str) -> list[str]:
    if sub.replacement is None and not raw.get("pending"):
        return []
    return [f"{where}: gave unit {sub.unit} to {sub.replacement}, but {why}: it is unawarded"]


def _compare_winners(
    *, published: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> list[str]:
    problems = []
    for number, (got, want) in enumerate(itertools.zip_longest(published, expected), start=1):
        if got == want:
            continue
        if got is None:
            problems.append(f"winner #{number}: missing, expected {want[0]} for prize {want[1]}")
        elif want is None:
            problems.append(
                f"winner #{number}: published {got[0]} for prize {got[1]}, "
                f"expected no winner #{number} (only {len(expected)} prize units awarded)"
            )
        else:
            expected_text = want[0] if got[1] == want[1] else f"{want[0]} for prize {want[1]}"
            problems.append(
                f"winner #{number}: published {got[0]} for prize {got[1]}, expected {expected_text}"
            )
    return problems


def _compare_unawarded(
    *, published: Sequence[Mapping[str, Any]], expected: dict[str, int]
) -> list[str]:
    counts: dict[str, int] = {}
    for entry in published:
        if not isinstance(entry, Mapping):
            raise DrawFormatError("each unawarded entry must be a JSON object")
        quantity = entry.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise DrawFormatError("unawarded field 'quantity' must be an integer")
        prize_id = _nested_id(entry, "prize")
        counts[prize_id] = counts.get(prize_id, 0) + quantity
    published_counts = {prize_id: n for prize_id, n in counts.items() if n}
    if published_counts == expected:
        return []
    return [f"unawarded units: published {published_counts}, expected {expected}"]
