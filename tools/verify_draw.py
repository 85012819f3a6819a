"""Check a published lottery draw independently: python tools/verify_draw.py --help.

A second implementation, written from docs/fairness.md alone: it imports nothing from the
server (a bug in draws/allocator.py or draws/proof.py would otherwise be shared by the server
and its checker).
Standard library only, except the beacon's BLS signatures, checked with py_ecc when it is
installed (``pip install py_ecc``); without it that one check is skipped and said so.

It ships the League of Entropy's chains (mainnet and quicknet) with their public keys: a proof
naming one of them must carry exactly that key. A proof naming another chain is confirmed only
against a key you give (``--expect-public-key``).

Exit status (docs/fairness.md, "Running the verifier"):

0  confirmed;
1  not confirmed: each problem is printed;
2  an input could not be read;
3  confirmed, except the beacon signatures, which were not checked (py_ecc is not installed);
4  the arithmetic holds, but the draw (or a substitution) went ahead without the beacon round
   it should have had: whoever held the seed could have chosen the outcome;
5  a canceled event, confirmed, but canceled once its outcome was public (the would-be
   winners are printed): whoever canceled could have known who would have won.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

V1 = "sha256-fisher-yates-v1"
V2 = "sha256-fisher-yates-v2"
V3 = "sha256-fisher-yates-v3"
ALGORITHMS = (V1, V2, V3)
ALGORITHM = V3
ALTERNATE = "sha256-fisher-yates-v3-alternate"

EXIT_CONFIRMED = 0
EXIT_NOT_CONFIRMED = 1
EXIT_UNREADABLE = 2
EXIT_SIGNATURE_NOT_CHECKED = 3
EXIT_MISSING_BEACON = 4
EXIT_CANCELED_AFTER_OUTCOME = 5

HEX = frozenset("0123456789abcdef")
REASONS = ("expired", "fake_account", "duplicate_account", "ineligible", "rule_violation")

# The League of Entropy's chains, as their relays' /info answer them. Their hashes are
# recomputed below (chain_hash), so a typo here would show.
KNOWN_CHAINS = {
    "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce": {
        "name": "League of Entropy mainnet",
        "scheme": "pedersen-bls-chained",
        "public_key": "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a5699"
        "37c529eeda66c7293784a9402801af31",
        "period": 30,
        "genesis_time": 1595431050,
        "group_hash": "176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a",
        "beacon_id": "default",
    },
    "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971": {
        "name": "League of Entropy quicknet",
        "scheme": "bls-unchained-g1-rfc9380",
        "public_key": "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
        "period": 3,
        "genesis_time": 1692803367,
        "group_hash": "f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
        "beacon_id": "quicknet",
    },
}
# Fields each version adds; an older label on a proof carrying them is refused (a downgrade).
V2_FIELDS = ("prizes_digest", "beacon_round", "beacon_chain", "beacon", "beacon_missing_reason")
V3_FIELDS = ("without_beacon", "reveal_gap_seconds")
V3_SUBSTITUTION_FIELDS = ("pending", "beacon_round", "beacon", "drawn_at", "position")
NO_BEACON = "missing beacon: "
NOT_CHECKED = "beacon signature NOT checked"


class InputError(Exception):
    """An input file is missing, is not JSON, or does not have the expected shape."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--live" in argv:  # the rounds of a live draw (docs/fairness.md, "Live rounds")
        return live_main(argv)
    args = _parse_args(argv)
    try:
        proof = load_proof(args.proof)
        winners, unawarded = load_winners(args.winners) if args.winners else (None, None)
        keys = load_entrants(args.entrants) if args.entrants else None
        if keys is None and proof.get("entrants_digest") is not None:
            raise InputError("--entrants is needed: the event was locked")
        if winners is None and proof.get("status") in (None, "opened"):
            raise InputError("--winners is needed for a drawn event")
        problems, notes = check_draw(
            proof=proof,
            keys=keys or [],
            winners=winners,
            unawarded=unawarded,
            expect_public_key=args.expect_public_key,
        )
    except InputError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    problems += _check_expected(proof, args)
    for note in notes:
        print(f"WARNING: {note}")
    if problems:
        print(f"NOT CONFIRMED: draw {proof.get('event_id', '?')} has {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        if all(problem.startswith(NO_BEACON) for problem in problems):
            return EXIT_MISSING_BEACON
        return EXIT_NOT_CONFIRMED
    print(_summary(proof=proof, winners=winners, unawarded=unawarded))
    if any(note.startswith("canceled at") for note in notes):
        return EXIT_CANCELED_AFTER_OUTCOME
    if any(note.startswith(NOT_CHECKED) for note in notes):
        return EXIT_SIGNATURE_NOT_CHECKED
    return EXIT_CONFIRMED


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Recompute a lottery draw (sha256-fisher-yates-v1, -v2 or -v3, "
        "docs/fairness.md) and compare it with the published winners.",
        epilog="Exit status: 0 confirmed; 1 not confirmed; 2 unreadable input; 3 confirmed but "
        "the beacon signatures not checked (no py_ecc); 4 drawn without the beacon it should "
        "have had; 5 canceled once the outcome was public.",
    )
    parser.add_argument("--proof", type=Path, required=True, help="proof JSON of the event")
    parser.add_argument(
        "--entrants",
        type=Path,
        help="entrant list: one user id per line (or NDJSON lines with an 'id'); needed once "
        "the event is locked",
    )
    parser.add_argument(
        "--winners", type=Path, help="winners JSON of the event (needed once it is drawn)"
    )
    parser.add_argument(
        "--expect-commitment", help="the commitment you saved earlier (e.g. when you joined)"
    )
    parser.add_argument("--expect-digest", help="the entrants_digest you saved at the lock")
    parser.add_argument("--expect-prizes-digest", help="the prizes_digest you saved at the lock")
    parser.add_argument(
        "--expect-public-key",
        help="the beacon chain's public key you trust (hex); needed for a chain not built in "
        "(League of Entropy mainnet and quicknet are)",
    )
    return parser.parse_args(argv)


def _check_expected(proof: dict[str, Any], args: argparse.Namespace) -> list[str]:
    problems = []
    for option, field in (
        ("expect_commitment", "commitment"),
        ("expect_digest", "entrants_digest"),
        ("expect_prizes_digest", "prizes_digest"),
    ):
        saved = getattr(args, option)
        if saved is not None and saved != proof.get(field):
            problems.append(
                f"{field}: the proof says {proof.get(field)!r}, you saved {saved!r} earlier"
            )
    return problems


# --- the scheme, from docs/fairness.md --------------------------------------------------------


def is_hex(value: Any, length: int | None = None) -> bool:
    """Lower-case hex only, as published; an even number of digits, optionally exactly length."""
    return (
        isinstance(value, str)
        and len(value) % 2 == 0
        and (length is None or len(value) == length)
        and set(value) <= HEX
    )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def entrant_file_digest(keys: list[str]) -> str:
    return hashlib.sha256("".join(key + "\n" for key in keys).encode("utf-8")).hexdigest()


def prizes_file_digest(prizes: list[tuple[str, int, str]]) -> str:
    lines = "".join(
        f"{pid}\t{quantity}\t{hashlib.sha256(name.encode('utf-8')).hexdigest()}\n"
        for pid, quantity, name in prizes
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def stream(prefix: bytes):
    """The 64-bit integers of blocks SHA256(prefix || u64be(b)), b = 0, 1, ..."""
    block = 0
    while True:
        yield from struct.unpack(">4Q", hashlib.sha256(prefix + struct.pack(">Q", block)).digest())
        block += 1


def uniform(numbers, m: int) -> int:
    """below(m): the next integer under the largest multiple of m below 2^64, mod m."""
    limit = (2**64 // m) * m
    x = next(numbers)
    while x >= limit:
        x = next(numbers)
    return x % m


def positions(prefix: bytes, n: int, k: int) -> list[int]:
    numbers = stream(prefix)
    cells = list(range(n)) if n <= 100_000 else None
    sparse: dict[int, int] = {}
    drawn = []
    for i in range(k):
        j = i + uniform(numbers, n - i)
        if cells is not None:
            cells[i], cells[j] = cells[j], cells[i]
            drawn.append(cells[i])
        else:
            vi, vj = sparse.get(i, i), sparse.get(j, j)
            sparse[j] = vi
            drawn.append(vj)
    return drawn


def alternate(prefix: bytes, n: int, held: set[int]) -> int | None:
    """v3: the eligible entrant (never held a unit) at index below(n - |held|), in list order."""
    eligible = n - len(held)
    if eligible <= 0:
        return None
    position = uniform(stream(prefix), eligible)
    for taken in sorted(held):  # step over every held position at or before it
        if taken > position:
            break
        position += 1
    return position


def chain_hash(chain: dict[str, Any]) -> str:
    """drand's: SHA256(u32be(period) || i64be(genesis) || public key || group hash [|| id])."""
    data = struct.pack(">I", chain["period"]) + struct.pack(">q", chain["genesis_time"])
    data += bytes.fromhex(chain["public_key"]) + bytes.fromhex(chain["group_hash"])
    if chain.get("beacon_id") not in (None, "", "default"):
        data += chain["beacon_id"].encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def round_at(chain: dict[str, Any], number: int) -> datetime:
    return datetime.fromtimestamp(chain["genesis_time"] + (number - 1) * chain["period"], tz=UTC)


def first_round_from(chain: dict[str, Any], moment: datetime) -> int:
    """The first round whose time is at or after ``moment`` (round 1 at genesis)."""
    number = 1
    elapsed = moment - datetime.fromtimestamp(chain["genesis_time"], tz=UTC)
    if elapsed > timedelta(0):
        period = timedelta(seconds=chain["period"])
        number = 1 + elapsed // period + (1 if elapsed % period else 0)
    return number


def _unix(value: Any) -> float | None:
    """A proof's ISO time as a Unix timestamp (live rounds), None when absent or malformed."""
    moment = when(value)
    return None if moment is None else moment.timestamp()


def when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


class Check:
    """Everything one proof is checked for; ``problems`` and ``notes`` collect the findings."""

    def __init__(self, proof, keys, expect_public_key) -> None:
        self.proof, self.keys = proof, sorted(keys)
        self.expect_public_key = expect_public_key
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.algorithm = proof.get("algorithm")
        self.chain = proof.get("beacon_chain") or None
        self.status = proof.get("status")
        self.gap = timedelta(seconds=proof.get("reveal_gap_seconds") or 0)

    def beacon_event(self) -> bool:
        if self.algorithm == V3:
            return self.proof.get("without_beacon") is False
        return self.algorithm == V2 and self.proof.get("beacon_round") is not None

    def settled(self) -> bool:
        return self.status == "opened" or (
            self.status == "canceled" and self.proof.get("would_be_winners") is not None
        )


def check_draw(
    *,
    proof: dict[str, Any],
    keys: list[str],
    winners: list[Any] | None,
    unawarded: list[Any] | None,
    expect_public_key: str | None = None,
) -> tuple[list[str], list[str]]:
    """(problems, notes): no problems means confirmed; notes are warnings worth reading."""
    algorithm = proof.get("algorithm")
    if algorithm not in ALGORITHMS:
        return [f"unknown algorithm {algorithm!r}: this verifier implements {ALGORITHMS}"], []
    check = Check(proof, keys, expect_public_key)
    downgrade = versions(check)
    if downgrade:
        return downgrade, []
    prizes = _prizes(proof)
    if not is_hex(proof.get("commitment"), 64):
        return ["proof commitment is not 64 lower-case hexadecimal characters"], []
    seed_hex = proof.get("seed")
    if check.status == "canceled" and proof.get("entrants_digest") is None:
        return _canceled_before_lock(proof, seed_hex)
    for field in ("entrants_digest",) + (("prizes_digest",) if algorithm != V1 else ()):
        if not is_hex(proof.get(field), 64):
            return [f"proof {field} is not 64 lower-case hexadecimal characters"], []
    count = proof.get("entrant_count")
    if not is_int(count) or count < 0:
        raise InputError("proof field 'entrant_count' must be a non-negative integer")
    entrants(check, count)
    if seed_hex is None:
        return [*check.problems, "seed not revealed yet: the draw has not taken place"], []
    if not is_hex(seed_hex, 64):
        return [*check.problems, "seed is not 64 lower-case hexadecimal characters"], []
    seed = bytes.fromhex(seed_hex)
    if hashlib.sha256(seed).hexdigest() != proof["commitment"]:
        check.problems.append("seed does not match the commitment published at creation")
    prefix = algorithm.encode("ascii") + seed + bytes.fromhex(proof["entrants_digest"])
    randomness = None
    if algorithm != V1:
        digest = prizes_file_digest(prizes)
        if digest != proof["prizes_digest"]:
            check.problems.append(f"prizes: digest {digest} does not match the proof's")
        chain_checks(check)
        randomness = draw_beacon(check)
        prefix += bytes.fromhex(proof["prizes_digest"]) + (randomness or bytes(32))
    time_rules(check)
    if [p for p in check.problems if not p.startswith(NO_BEACON)]:
        return [*check.problems, "winners not checked: fix the problems above first"], check.notes
    units = [pid for pid, quantity, _ in prizes for _ in range(quantity)]
    k = min(len(units), count)
    if check.status == "canceled":
        canceled(check, positions(prefix, count, k), units)
        return check.problems, check.notes
    substitutions = proof.get("substitutions") or []
    if not isinstance(substitutions, list):
        raise InputError("proof field 'substitutions' must be a list")
    steps = k if algorithm == V3 else min(count, k + len(substitutions))
    order = positions(prefix, count, steps)
    holders: list[str | None] = [check.keys[p] for p in order[:k]]
    limit = proof.get("max_substitutions", 0)
    if algorithm == V3:
        left = alternates_v3(check, substitutions, holders, units, set(order[:k]), seed, limit)
    else:
        check.problems += check_substitutions(
            substitutions,
            holders=holders,
            units=units,
            alternates=[check.keys[p] for p in order[k:]],
            k=k,
            limit=limit,
        )
        check.problems += expiry_v2(check, substitutions, k)
        left = [i for i in range(k) if holders[i] is None]
    expected = [(key, units[i]) for i, key in enumerate(holders) if key is not None]
    published = [_winner(entry) for entry in winners or []]
    for number in range(max(len(expected), len(published))):
        want = expected[number] if number < len(expected) else None
        got = published[number] if number < len(published) else None
        if want != got:
            check.problems.append(
                f"winner #{number + 1}: {_pair(got, 'published')}, {_pair(want, 'expected')}"
            )
    if unawarded is not None:
        check_unawarded(check, unawarded, units, k, left)
    return check.problems, check.notes


def versions(check: Check) -> list[str]:
    """A proof is read by the version its fields demand; v3's own fields are checked here."""
    proof = check.proof
    later = [name for name in V3_FIELDS if proof.get(name) is not None]
    for number, sub in enumerate(proof.get("substitutions") or [], start=1):
        if isinstance(sub, dict):
            later += [
                f"substitutions[{number}].{name}"
                for name in V3_SUBSTITUTION_FIELDS
                if sub.get(name) not in (None, False)
            ]
    if check.algorithm == V1:
        later = [name for name in V2_FIELDS if proof.get(name) is not None] + later
    if check.algorithm != V3:
        if later:
            return [
                f"algorithm {check.algorithm} is refused on a proof carrying later fields "
                f"({', '.join(later)}): it would drop their rules"
            ]
        return []
    without = proof.get("without_beacon")
    gap = proof.get("reveal_gap_seconds")
    if not isinstance(without, bool):
        return ["v3 proof: without_beacon must be true or false"]
    if not is_int(gap) or gap < 0:
        return ["v3 proof: reveal_gap_seconds must be a non-negative integer"]
    if without and (check.chain or proof.get("beacon") or proof.get("beacon_round")):
        return ["v3 proof: an event drawn without a beacon names a beacon"]
    if not without and not check.chain:
        return ["v3 proof: an event drawn with a beacon must name its chain from creation"]
    return []


def entrants(check: Check, count: int) -> None:
    keys = check.keys
    if len(set(keys)) != len(keys):
        check.problems.append("entrant list: duplicate entrant keys")
    if len(keys) != count:
        check.problems.append(f"entrant list: {len(keys)} entrants, but the proof says {count}")
    digest = entrant_file_digest(keys)
    if digest != check.proof["entrants_digest"]:
        check.problems.append(
            f"entrant list: digest {digest} does not match the proof's "
            f"{check.proof['entrants_digest']}"
        )


def chain_checks(check: Check) -> None:
    """The chain is one we know (its key exactly), or one whose key the user vouches for."""
    chain = check.chain
    if not chain:
        return
    if not isinstance(chain, dict):
        raise InputError("proof field 'beacon_chain' must be an object or null")
    for name in ("hash", "scheme", "public_key"):
        if not isinstance(chain.get(name), str):
            raise InputError(f"beacon_chain.{name} must be a string")
    for name in ("period", "genesis_time"):
        if not is_int(chain.get(name)) or chain[name] < (1 if name == "period" else 0):
            raise InputError(f"beacon_chain.{name} must be a positive integer")
    known = KNOWN_CHAINS.get(chain["hash"])
    if chain.get("group_hash"):
        if not is_hex(chain["group_hash"], 64) or not is_hex(chain["public_key"]):
            check.problems.append("beacon_chain: public_key or group_hash is not hex")
        elif chain_hash(chain) != chain["hash"]:
            check.problems.append(
                f"beacon_chain: its info hashes to {chain_hash(chain)}, not {chain['hash']}"
            )
    elif check.algorithm == V3:
        check.problems.append("beacon_chain: a v3 proof must give group_hash and beacon_id")
    if known is not None:
        for name in ("scheme", "public_key", "period", "genesis_time"):
            if chain.get(name) != known[name]:
                check.problems.append(
                    f"beacon_chain: {name} is {chain.get(name)!r}, but {known['name']} has "
                    f"{known[name]!r}"
                )
    if check.expect_public_key is not None:
        if chain["public_key"] != check.expect_public_key.lower():
            check.problems.append(
                f"beacon_chain: public key {chain['public_key']}, you expected "
                f"{check.expect_public_key}"
            )
    elif known is None:
        check.problems.append(
            f"beacon_chain {chain['hash']} is not built into this verifier (League of Entropy "
            "mainnet, quicknet): its key is only the server's word. Pass --expect-public-key "
            "with the key you trust"
        )


def beacon_round(check: Check, beacon: Any, named: Any, what: str) -> bytes | None:
    """The randomness of a round, checked: the named one, its hash, its signature."""
    if not isinstance(beacon, dict):
        raise InputError(f"{what} must be an object or null")
    if beacon.get("round") != named:
        check.problems.append(f"{what}: round {beacon.get('round')!r} is not the named {named!r}")
    randomness, signature = beacon.get("randomness"), beacon.get("signature")
    previous = beacon.get("previous_signature") or ""
    if not is_hex(randomness, 64) or not is_hex(signature) or not is_hex(previous):
        check.problems.append(f"{what}: randomness or signatures are not lower-case hex")
        return None
    if hashlib.sha256(bytes.fromhex(signature)).hexdigest() != randomness:
        check.problems.append(f"{what}: randomness is not SHA-256 of the signature")
    try:
        if check.chain and not bls_check(check.chain, named, signature, previous):
            check.problems.append(f"{what}: the signature does not verify against the chain's key")
    except ImportError:
        note = (
            f"{NOT_CHECKED}: install py_ecc (pip install py_ecc) to check it; everything else was"
        )
        if note not in check.notes:
            check.notes.append(note)
    return bytes.fromhex(randomness)


def draw_beacon(check: Check) -> bytes | None:
    """The draw's (or the canceled draw's) beacon randomness; None when drawn without one."""
    proof = check.proof
    beacon = proof.get("beacon")
    if beacon is None:
        if check.beacon_event() and check.settled():
            check.problems.append(
                f"{NO_BEACON}went ahead without beacon round {proof.get('beacon_round')}, "
                f"named for it ({proof.get('beacon_missing_reason') or 'no reason given'}): "
                "whoever held the seed could have chosen the outcome"
            )
        elif check.settled():
            reason = proof.get("beacon_missing_reason") or "no beacon configured"
            check.notes.append(
                f"drawn WITHOUT a public beacon ({reason}), as announced from creation: "
                "a weaker guarantee"
            )
        return None
    randomness = beacon_round(check, beacon, proof.get("beacon_round"), "beacon")
    if check.algorithm == V2 and check.chain and is_int(proof.get("beacon_round")):
        lock_at = when(proof.get("lock_at"))
        if lock_at is not None and round_at(check.chain, proof["beacon_round"]) <= lock_at:
            check.problems.append(f"beacon: round {proof['beacon_round']} was out before the lock")
    return randomness


def time_rules(check: Check) -> None:
    """v3: lock, round, draw (or cancel) in this order, each gap respected."""
    proof = check.proof
    if check.algorithm != V3:
        return
    locked_at, lock_at = when(proof.get("locked_at")), when(proof.get("lock_at"))
    if locked_at is None:
        check.problems.append("locked_at is missing: no time rule can be checked")
        return
    if lock_at is not None and locked_at < lock_at:
        check.problems.append(f"locked_at {locked_at} is before lock_at {lock_at}")
    committed = when(proof.get("committed_at"))
    if committed is not None and committed > locked_at:
        check.problems.append("committed_at is after locked_at")
    name = "drawn_at" if check.status == "opened" else "canceled_at"
    settled_at = when(proof.get(name))
    if check.settled() and (settled_at is None or settled_at < locked_at + check.gap):
        check.problems.append(f"{name} {settled_at} is sooner than locked_at + the reveal gap")
    if not check.beacon_event():
        return
    rule = first_round_from(check.chain, locked_at + check.gap)
    if proof.get("beacon_round") != rule:
        check.problems.append(
            f"beacon: round {proof.get('beacon_round')} named; the rule (first round at or "
            f"after locked_at + {int(check.gap.total_seconds())} s) names {rule}"
        )
    elif check.settled() and settled_at is not None and settled_at < round_at(check.chain, rule):
        check.problems.append(f"{name} {settled_at} is before round {rule} was out")


def canceled(check: Check, drawn: list[int], units: list[str]) -> None:
    """A cancel after the lock: the would-be winners, the reason, and when it was asked."""
    proof = check.proof
    would_be = proof.get("would_be_winners")
    if would_be is None:
        if check.algorithm == V3:
            check.problems.append("canceled after the lock without its would-be winners")
        else:
            check.notes.append(
                "canceled after the lock before would-be winners were published: "
                "the draw would have given " + ", ".join(check.keys[p] for p in drawn)
            )
        return
    if not isinstance(would_be, list):
        raise InputError("proof field 'would_be_winners' must be a list")
    expected = [(check.keys[p], units[i]) for i, p in enumerate(drawn)]
    got = [_winner(entry) for entry in would_be]
    if got != expected:
        check.problems.append(
            f"would-be winners: published {got}, the draw would have given {expected}"
        )
    reason = proof.get("cancel_reason")
    if not isinstance(reason, str) or not reason.strip():
        check.problems.append("canceled after the lock without a public reason")
    asked = when(proof.get("cancel_requested_at"))
    if asked is None:
        check.problems.append("canceled after the lock, but cancel_requested_at is missing")
        return
    if check.beacon_event() and is_int(proof.get("beacon_round")):
        public = round_at(check.chain, proof["beacon_round"])
    else:
        public = when(proof.get("locked_at"))  # without a beacon: knowable from the lock
    if public is not None and asked >= public:
        check.notes.append(
            f"canceled at {asked}, after the outcome was public ({public}); reason {reason!r}; "
            "the draw would have given: " + ", ".join(f"{key} {pid}" for key, pid in expected)
        )


def alternates_v3(check, substitutions, holders, units, held, seed, limit) -> list[int]:
    """v3: replay the substitutions (each a fresh draw among those who never held a unit).

    Returns the units recorded unawarded; ``holders`` ends as the current holders (None:
    unawarded or waiting).
    """
    proof, keys = check.proof, check.keys
    if not is_int(limit) or limit < 0:
        raise InputError("proof field 'max_substitutions' must be a non-negative integer")
    drawn_at = when(proof.get("drawn_at"))
    since: list[datetime | None] = [drawn_at] * len(holders)
    passes = [0] * len(holders)
    unawarded: list[int] = []
    waiting = False
    days = proof.get("claim_days")
    for number, sub in enumerate(substitutions, start=1):
        if not isinstance(sub, dict) or not isinstance(sub.get("prize"), dict):
            raise InputError("each substitution must be an object with a 'prize'")
        where, unit = f"substitution #{number}", sub.get("unit")
        if not is_int(unit) or not 0 <= unit < len(holders):
            check.problems.append(f"{where}: unit {unit!r} was not awarded in the draw")
            continue
        if sub.get("reason") not in REASONS:
            check.problems.append(f"{where}: reason {sub.get('reason')!r} is not a public reason")
        if sub["prize"].get("id") != units[unit]:
            check.problems.append(f"{where}: prize {sub['prize'].get('id')} is not unit {unit}'s")
        if holders[unit] is None or sub.get("replaced") != holders[unit]:
            check.problems.append(
                f"{where}: replaced {sub.get('replaced')}, but unit {unit} was held by "
                f"{holders[unit]}"
            )
        at = when(sub.get("at"))
        if at is None:
            check.problems.append(f"{where}: 'at' is not a time")
            continue
        deadline = since[unit] + timedelta(days=days) if since[unit] and is_int(days) else None
        if sub.get("reason") == "expired":
            if days is None:
                check.problems.append(f"{where}: 'expired', but the event has no claim step")
            elif deadline is not None and at < deadline:
                check.problems.append(f"{where}: 'expired' at {at}, before the deadline {deadline}")
        holders[unit] = None
        if passes[unit] >= limit:
            if sub.get("replacement") is not None or sub.get("pending"):
                check.problems.append(f"{where}: unit {unit} passed more than {limit} times")
            unawarded.append(unit)
            continue
        if check.beacon_event():
            rule = first_round_from(check.chain, at + check.gap)
            if sub.get("beacon_round") != rule:
                check.problems.append(
                    f"{where}: round {sub.get('beacon_round')} named; the rule names {rule}"
                )
        if sub.get("pending"):
            waiting = True
            if sub.get("replacement") is not None:
                check.problems.append(f"{where}: pending, yet it names a replacement")
            check.notes.append(f"{where}: waiting for round {sub.get('beacon_round')}")
            continue
        if waiting:
            check.problems.append(f"{where}: drawn while an earlier substitution still waits")
        if len(held) >= len(keys):
            if sub.get("replacement") is not None:
                check.problems.append(f"{where}: nobody was left, yet the unit went on")
            unawarded.append(unit)
            continue
        beacon_bytes = bytes(32)
        when_drawn = when(sub.get("drawn_at"))
        if check.beacon_event():
            if sub.get("beacon") is None:
                check.problems.append(
                    f"{NO_BEACON}{where}: the alternate was drawn without round "
                    f"{sub.get('beacon_round')}, named for it"
                )
                continue
            got = beacon_round(check, sub["beacon"], sub.get("beacon_round"), f"{where} beacon")
            if got is None:
                continue
            beacon_bytes = got
            if when_drawn is None or when_drawn < round_at(check.chain, sub["beacon_round"]):
                check.problems.append(f"{where}: drawn at {when_drawn}, before its round was out")
        elif when_drawn is None or when_drawn < at:
            check.problems.append(f"{where}: drawn_at {when_drawn} is before at {at}")
        prefix = (
            ALTERNATE.encode("ascii")
            + seed
            + bytes.fromhex(proof["entrants_digest"])
            + bytes.fromhex(proof["prizes_digest"])
            + beacon_bytes
            + struct.pack(">Q", number)
        )
        position = alternate(prefix, len(keys), held)
        if sub.get("replacement") != keys[position] or sub.get("position") != position:
            check.problems.append(
                f"{where}: unit {unit} went to {sub.get('replacement')} (position "
                f"{sub.get('position')}), the draw gives {keys[position]} (position {position})"
            )
        holders[unit] = keys[position]
        held.add(position)
        passes[unit] += 1
        since[unit] = when_drawn
    return unawarded


def expiry_v2(check: Check, substitutions: list[Any], k: int) -> list[str]:
    """v1/v2 with a published claim window: an 'expired' came at or after the deadline."""
    proof = check.proof
    drawn_at, days = when(proof.get("drawn_at")), proof.get("claim_days")
    if "claim_days" not in proof or drawn_at is None:
        return []
    since = [drawn_at] * k
    problems = []
    for number, sub in enumerate(substitutions, start=1):
        unit, at = sub.get("unit"), when(sub.get("at"))
        if not is_int(unit) or not 0 <= unit < k or at is None:
            continue
        if sub.get("reason") == "expired":
            if days is None:
                problems.append(f"substitution #{number}: 'expired', but there is no claim step")
            elif at < since[unit] + timedelta(days=days):
                problems.append(f"substitution #{number}: 'expired' before the holder's deadline")
        if sub.get("replacement") is not None:
            since[unit] = at
    return problems


def check_substitutions(
    substitutions: list[Any],
    *,
    holders: list[str | None],
    units: list[str],
    alternates: list[str],
    k: int,
    limit: Any,
) -> list[str]:
    """v1/v2: replay the proof's substitutions (docs/fairness.md, "Alternates") over ``holders``.

    Each must replace the unit's current holder, with a public reason, and give the unit to
    the next unused step of the order, or record it unawarded only when the unit already
    passed ``limit`` times or the order has no step left. ``holders`` ends as the current
    holders (None: unawarded), following the rules rather than the published claims.
    """
    if not is_int(limit) or limit < 0:
        raise InputError("proof field 'max_substitutions' must be a non-negative integer")
    problems = []
    passes = [0] * len(holders)
    used = 0  # steps of the order taken so far
    for number, sub in enumerate(substitutions, start=1):
        if not isinstance(sub, dict) or not isinstance(sub.get("prize"), dict):
            raise InputError("each substitution must be an object with a 'prize'")
        unit, where = sub.get("unit"), f"substitution #{number}"
        if not is_int(unit) or not 0 <= unit < len(holders):
            problems.append(f"{where}: unit {unit!r} was not awarded in the draw")
            continue
        if sub.get("reason") not in REASONS:
            problems.append(f"{where}: reason {sub.get('reason')!r} is not a public reason")
        if sub["prize"].get("id") != units[unit]:
            problems.append(f"{where}: prize {sub['prize'].get('id')} is not unit {unit}'s")
        if holders[unit] is None or sub.get("replaced") != holders[unit]:
            problems.append(
                f"{where}: replaced {sub.get('replaced')}, but unit {unit} was held by "
                f"{holders[unit]}"
            )
        if passes[unit] < limit and used < len(alternates):
            want = (k + used, alternates[used])
        else:
            want = (None, None)
        got = (sub.get("step"), sub.get("replacement"))
        if got != want:
            problems.append(
                f"{where}: unit {unit} went to {got[1]} (step {got[0]}), "
                f"the order gives {want[1]} (step {want[0]})"
            )
        holders[unit] = want[1]
        if want[1] is not None:
            passes[unit] += 1
            used += 1
    return problems


def check_unawarded(check: Check, unawarded, units, k: int, left: list[int]) -> None:
    expected: dict[str, int] = {}
    for i, pid in enumerate(units):
        if i >= k or i in left:
            expected[pid] = expected.get(pid, 0) + 1
    said = {}
    for entry in unawarded:
        if not isinstance(entry, dict) or not isinstance(entry.get("prize"), dict):
            raise InputError("each unawarded entry must be an object with a 'prize'")
        said[entry["prize"].get("id")] = entry.get("unawarded_units", entry.get("quantity"))
    if said != expected:
        check.problems.append(f"unawarded units: published {said}, expected {expected}")


def _canceled_before_lock(proof: dict[str, Any], seed_hex: Any) -> tuple[list[str], list[str]]:
    if seed_hex is not None and not (
        is_hex(seed_hex, 64)
        and hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest() == proof["commitment"]
    ):
        return ["seed does not match the commitment published at creation"], []
    return [], ["canceled before the lock: there was no draw to check"]


def bls_check(chain: dict[str, Any], round_number: int, signature: str, previous: str) -> bool:
    """The drand BLS check; ImportError without py_ecc."""
    import py_ecc.bls  # noqa: F401 - raise ImportError before anything else

    scheme = chain.get("scheme")
    prefix = bytes.fromhex(previous) if scheme == "pedersen-bls-chained" else b""
    message = hashlib.sha256(prefix + struct.pack(">Q", round_number)).digest()
    public_key, sig = bytes.fromhex(chain.get("public_key", "")), bytes.fromhex(signature)
    try:
        if scheme in ("pedersen-bls-chained", "pedersen-bls-unchained"):
            from py_ecc.bls import G2Basic

            return bool(G2Basic.Verify(public_key, message, sig))
        if scheme == "bls-unchained-g1-rfc9380":
            from py_ecc.bls.g2_primitives import decompress_G1, decompress_G2
            from py_ecc.bls.hash_to_curve import hash_to_G1
            from py_ecc.optimized_bls12_381 import FQ12, G2, final_exponentiate, neg, pairing

            point = decompress_G1(int.from_bytes(sig, "big"))
            key = decompress_G2(
                (int.from_bytes(public_key[:48], "big"), int.from_bytes(public_key[48:], "big"))
            )
            hashed = hash_to_G1(
                message, b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_", hashlib.sha256
            )
            product = pairing(G2, point, final_exponentiate=False) * pairing(
                neg(key), hashed, final_exponentiate=False
            )
            return final_exponentiate(product) == FQ12.one()
    except (ValueError, TypeError, AssertionError):
        return False
    return False


def _pair(pair: tuple[str, str] | None, what: str) -> str:
    return f"{what} none" if pair is None else f"{what} {pair[0]} for prize {pair[1]}"


def _prizes(proof: dict[str, Any]) -> list[tuple[str, int, str]]:
    items = proof.get("prizes")
    if not isinstance(items, list):
        raise InputError("proof field 'prizes' must be a list")
    prizes = []
    for item in items:
        if not isinstance(item, dict):
            raise InputError("each prize must be a JSON object")
        pid, quantity = item.get("id"), item.get("quantity")
        if not isinstance(pid, str) or not is_int(quantity):
            raise InputError("each prize needs a string 'id' and an integer 'quantity'")
        if quantity < 0:
            raise InputError(f"prize {pid}: negative quantity")
        prizes.append((pid, quantity, str(item.get("name", ""))))
    if len({pid for pid, _, _ in prizes}) != len(prizes):
        raise InputError("a prize is listed twice")
    return prizes


def _winner(entry: Any) -> tuple[str, str]:
    try:
        return entry["user"]["id"], entry["prize"]["id"]
    except (TypeError, KeyError):
        raise InputError("each winner must look like {user: {id}, prize: {id}}") from None


def load_proof(path: Path) -> dict[str, Any]:
    proof = _unwrap_envelope(_read_json(path))
    if not isinstance(proof, dict):
        raise InputError(f"{path}: expected a JSON object with the proof")
    for field, kind in (("algorithm", str), ("commitment", str)):
        if not isinstance(proof.get(field), kind):
            raise InputError(f"{path}: proof field {field!r} must be a {kind.__name__}")
    digest = proof.get("entrants_digest")
    if not isinstance(digest, str) and not (digest is None and proof.get("status") == "canceled"):
        raise InputError(f"{path}: proof field 'entrants_digest' must be a str")
    return proof


def load_winners(path: Path) -> tuple[list[Any], list[Any] | None]:
    """(winners, unawarded or None) from the envelope, its data object or a bare list."""
    data = _unwrap_envelope(_read_json(path))
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict) and isinstance(data.get("winners"), list):
        unawarded = data.get("unawarded")
        if unawarded is not None and not isinstance(unawarded, list):
            raise InputError(f"{path}: 'unawarded' must be a list")
        return data["winners"], unawarded
    raise InputError(f"{path}: expected a winners list or an object with 'winners'")


def load_entrants(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: {error}") from error
    # Blank lines carry no key; tolerating them (and CRLF) spares users a confusing failure
    # over a trailing newline added by an editor.
    lines = (line.strip() for line in text.splitlines())
    return [_entrant_key(line, path) for line in lines if line]


def _entrant_key(line: str, path: Path) -> str:
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: bad NDJSON line: {error}") from error
    key = record.get("id") if isinstance(record, dict) else None
    if not isinstance(key, str):
        raise InputError(f"{path}: NDJSON line without a string 'id': {line[:80]}")
    return key


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: {error}") from error


def _unwrap_envelope(document: Any) -> Any:
    """The API wraps payloads as {"code": 0, "msg": ..., "data": ...}; accept both forms."""
    if isinstance(document, dict) and "data" in document and "code" in document:
        if document["code"] != 0:
            raise InputError(f"the API returned an error: {document.get('msg')!r}")
        return document["data"]
    return document


def _summary(
    *, proof: dict[str, Any], winners: list[Any] | None, unawarded: list[Any] | None
) -> str:
    event = proof.get("event_id", "?")
    if proof.get("status") == "canceled":
        if proof.get("entrants_digest") is None:
            return f"OK: event {event} was canceled before the lock; its seed matches."
        return (
            f"OK: event {event} canceled after the lock ({proof['algorithm']}): the seed matches "
            f"the commitment, the {proof['entrant_count']} entrants match digest "
            f"{proof['entrants_digest']}, and the published would-be winners are the draw's."
        )
    text = (
        f"OK: draw {event} confirmed ({proof['algorithm']}): the seed matches the "
        f"commitment, the {proof['entrant_count']} entrants match digest "
        f"{proof['entrants_digest']}, and all {len(winners or [])} published winners match"
    )
    if proof.get("substitutions"):
        text += f"; {len(proof['substitutions'])} substitution(s) follow the rules"
    if unawarded:
        units = sum(entry.get("unawarded_units", entry.get("quantity", 0)) for entry in unawarded)
        text += f"; {units} prize unit(s) unawarded, as expected"
    return text + "."


# --- live rounds (docs/fairness.md, "Live rounds") --------------------------------------------

LIVE = "live-round-v1"


def live_main(argv: list[str]) -> int:
    """tools/verify_draw.py --live --proof LIVE_PROOF.json --entrants ENTRANTS.txt"""
    parser = argparse.ArgumentParser(
        description="Check every round of a live draw (live-round-v1) and the chain between them."
    )
    parser.add_argument("--live", action="store_true", required=True)
    parser.add_argument("--proof", type=Path, required=True, help="GET /events/{id}/live/proof")
    parser.add_argument("--entrants", type=Path, required=True, help="the event's entrant list")
    args = parser.parse_args(argv)
    try:
        proofs = _unwrap_envelope(_read_json(args.proof))
        keys = load_entrants(args.entrants)
        problems, notes = check_live(proofs, keys)
    except InputError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    for note in notes:
        print(f"WARNING: {note}")
    if problems:
        print(
            f"NOT CONFIRMED: live draw {proofs.get('event_id', '?')}: {len(problems)} problem(s):"
        )
        for problem in problems:
            print(f"  - {problem}")
        if all(NO_BEACON in problem for problem in problems):  # "round N: missing beacon: ..."
            return EXIT_MISSING_BEACON
        return EXIT_NOT_CONFIRMED
    drawn = [r for r in proofs["rounds"] if r.get("status") == "drawn"]
    print(
        f"OK: live draw {proofs.get('event_id', '?')}: {len(drawn)} round(s) confirmed, "
        "each chained to the one before it."
    )
    if any(note.startswith("beacon signature NOT checked") for note in notes):
        return EXIT_SIGNATURE_NOT_CHECKED
    return EXIT_CONFIRMED


def check_live(proofs: Any, keys: list[str]) -> tuple[list[str], list[str]]:
    """(problems, notes) of a live draw's round proofs over the event's frozen entrant list."""
    if not isinstance(proofs, dict) or proofs.get("algorithm") != LIVE:
        return [f"not a {LIVE} proof"], []
    rounds = proofs.get("rounds")
    if not isinstance(rounds, list):
        raise InputError("live proof field 'rounds' must be a list")
    keys = sorted(keys)
    problems: list[str] = []
    notes: list[str] = []
    if entrant_file_digest(keys) != proofs.get("entrants_digest"):
        return ["entrant list: its digest is not the event's entrants_digest"], notes
    won: set[str] = set()
    previous = proofs["entrants_digest"]
    for number, this in enumerate(rounds, start=1):
        if not isinstance(this, dict) or this.get("round") != number:
            return [*problems, f"round {number}: missing or out of order"], notes
        if this.get("status") != "drawn":
            break  # later rounds are not drawn yet either
        where = f"round {number}"
        eligible = [key for key in keys if key not in won]
        found, result = _check_round(where, this, proofs["event_id"], eligible, previous, notes)
        problems += found
        won.update(key for key, _ in result)
        previous = this.get("result_digest")
    return problems, notes


def _check_round(where, this, event_id, eligible, previous, notes):
    problems = []
    if this.get("previous_result") != previous:
        problems.append(f"{where}: previous result {this.get('previous_result')} is not {previous}")
    digest = entrant_file_digest(eligible)
    if (len(eligible), digest) != (this.get("entrant_count"), this.get("entrants_digest")):
        problems.append(f"{where}: the entrants left ({len(eligible)}, {digest}) are not its list")
    prizes = _prizes(this)
    prizes_digest = prizes_file_digest(prizes)
    round_digest = hashlib.sha256(
        f"{LIVE}\nevent {event_id}\nround {this.get('round')}\n"
        f"prizes {prizes_digest}\nprevious {previous}\n".encode()
    ).hexdigest()
    if round_digest != this.get("round_digest"):
        problems.append(f"{where}: round digest {round_digest} is not the published one")
    seed_hex = this.get("seed")
    if not is_hex(seed_hex, 64) or hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest() != this.get(
        "commitment"
    ):
        return [*problems, f"{where}: the seed does not match its commitment"], []
    beacon = _live_beacon(where, this, problems, notes)
    prefix = V2.encode() + bytes.fromhex(seed_hex) + bytes.fromhex(digest)
    prefix += bytes.fromhex(round_digest) + (beacon or bytes(32))
    units = [pid for pid, quantity, _ in prizes for _ in range(quantity)]
    order = positions(prefix, len(eligible), min(len(units), len(eligible)))
    expected = [(eligible[p], units[i]) for i, p in enumerate(order)]
    published = [_winner(entry) for entry in this.get("winners") or []]
    for n in range(max(len(expected), len(published))):
        want = expected[n] if n < len(expected) else None
        got = published[n] if n < len(published) else None
        if want != got:
            problems.append(f"{where}: winner #{n + 1}: {_pair(got, 'published')}, "
                            f"{_pair(want, 'expected')}")  # fmt: skip
    lines = "".join(f"{key}\t{pid}\n" for key, pid in expected)
    result = hashlib.sha256(f"{round_digest}\n{lines}".encode()).hexdigest()
    if result != this.get("result_digest"):
        problems.append(f"{where}: result digest {result} is not the published one")
    return problems, expected


def _live_beacon(where, this, problems, notes) -> bytes | None:
    """The round's beacon randomness (None: drawn without one, as its proof says)."""
    named, beacon, chain = this.get("beacon_round"), this.get("beacon"), this.get("beacon_chain")
    locked, drawn = _unix(this.get("locked_at")), _unix(this.get("drawn_at"))
    gap = this.get("reveal_gap_seconds") or 0
    if locked is None or drawn is None or drawn < locked + gap:
        problems.append(f"{where}: drawn before its lock plus the reveal gap")
    if named is None:
        notes.append(f"{where}: drawn without a public beacon (none configured at creation)")
        return None
    if not isinstance(beacon, dict) or beacon.get("round") != named or not chain:
        problems.append(f"{where}: missing beacon: round {named} was named, none used")
        return None
    if chain["genesis_time"] + (named - 1) * chain["period"] < (locked or 0) + gap:
        problems.append(f"{where}: beacon round {named} comes before its lock plus the gap")
    signature, randomness = beacon.get("signature", ""), beacon.get("randomness")
    if not is_hex(signature) or hashlib.sha256(bytes.fromhex(signature)).hexdigest() != randomness:
        problems.append(f"{where}: beacon randomness is not SHA-256 of its signature")
        return None
    try:
        if not bls_check(chain, named, signature, beacon.get("previous_signature") or ""):
            problems.append(f"{where}: the beacon signature does not verify")
    except ImportError:
        notes.append("beacon signature NOT checked: install py_ecc (pip install py_ecc)")
    return bytes.fromhex(randomness)


if __name__ == "__main__":
    sys.exit(main())
