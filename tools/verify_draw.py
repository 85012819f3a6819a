"""Check a published lottery draw independently: python tools/verify_draw.py --help.

A second implementation, written from docs/fairness.md alone: it imports nothing from the
server (a bug in draws/fairness.py would otherwise be shared by the server and its checker).
Standard library only, except the beacon's BLS signature, checked with py_ecc when it is
installed (``pip install py_ecc``); without it that one check is skipped and said so.

Exit status: 0 the draw is confirmed, 1 it is not (each problem is printed), 2 the input
could not be read, 3 confirmed except the beacon's signature, which was not checked
(py_ecc is not installed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

V1 = "sha256-fisher-yates-v1"
V2 = "sha256-fisher-yates-v2"
ALGORITHMS = (V1, V2)
ALGORITHM = V2

EXIT_CONFIRMED = 0
EXIT_NOT_CONFIRMED = 1
EXIT_UNREADABLE = 2
EXIT_SIGNATURE_NOT_CHECKED = 3

HEX = frozenset("0123456789abcdef")


class InputError(Exception):
    """An input file is missing, is not JSON, or does not have the expected shape."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--live" in argv:  # the rounds of a live draw (docs/fairness.md, "Live rounds")
        return live_main(argv)
    args = _parse_args(argv)
    try:
        proof = load_proof(args.proof)
        winners, unawarded = load_winners(args.winners)
        keys = load_entrants(args.entrants)
        problems, notes = check_draw(proof=proof, keys=keys, winners=winners, unawarded=unawarded)
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
        return EXIT_NOT_CONFIRMED
    print(_summary(proof=proof, winner_count=len(winners), unawarded=unawarded))
    if any(note.startswith("beacon signature NOT checked") for note in notes):
        return EXIT_SIGNATURE_NOT_CHECKED
    return EXIT_CONFIRMED


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Recompute a lottery draw (sha256-fisher-yates-v1 or -v2, docs/fairness.md) "
        "and compare it with the published winners."
    )
    parser.add_argument("--proof", type=Path, required=True, help="proof JSON of the event")
    parser.add_argument(
        "--entrants",
        type=Path,
        required=True,
        help="entrant list: one user id per line (or NDJSON lines with an 'id')",
    )
    parser.add_argument("--winners", type=Path, required=True, help="winners JSON of the event")
    parser.add_argument(
        "--expect-commitment", help="the commitment you saved earlier (e.g. when you joined)"
    )
    parser.add_argument("--expect-digest", help="the entrants_digest you saved at the lock")
    parser.add_argument("--expect-prizes-digest", help="the prizes_digest you saved at the lock")
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


def positions(prefix: bytes, n: int, k: int) -> list[int]:
    numbers = stream(prefix)
    cells = list(range(n)) if n <= 100_000 else None
    sparse: dict[int, int] = {}
    drawn = []
    for i in range(k):
        m = n - i
        limit = (2**64 // m) * m
        x = next(numbers)
        while x >= limit:
            x = next(numbers)
        j = i + x % m
        if cells is not None:
            cells[i], cells[j] = cells[j], cells[i]
            drawn.append(cells[i])
        else:
            vi, vj = sparse.get(i, i), sparse.get(j, j)
            sparse[j] = vi
            drawn.append(vj)
    return drawn


def check_draw(
    *, proof: dict[str, Any], keys: list[str], winners: list[Any], unawarded: list[Any] | None
) -> tuple[list[str], list[str]]:
    """(problems, notes): no problems means confirmed; notes are warnings worth reading."""
    algorithm = proof.get("algorithm")
    if algorithm not in ALGORITHMS:
        return [f"unknown algorithm {algorithm!r}: this verifier implements {ALGORITHMS}"], []
    prizes = _prizes(proof)
    for field in ("commitment", "entrants_digest") + (
        ("prizes_digest",) if algorithm == V2 else ()
    ):
        if not is_hex(proof.get(field), 64):
            return [f"proof {field} is not 64 lower-case hexadecimal characters"], []
    count = proof.get("entrant_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise InputError("proof field 'entrant_count' must be a non-negative integer")
    problems: list[str] = []
    notes: list[str] = []
    keys = sorted(keys)
    if len(set(keys)) != len(keys):
        problems.append("entrant list: duplicate entrant keys")
    if len(keys) != count:
        problems.append(f"entrant list: {len(keys)} entrants, but the proof says {count}")
    digest = entrant_file_digest(keys)
    if digest != proof["entrants_digest"]:
        problems.append(
            f"entrant list: digest {digest} does not match the proof's {proof['entrants_digest']}"
        )
    seed_hex = proof.get("seed")
    if seed_hex is None:
        return [*problems, "seed not revealed yet: the draw has not taken place"], notes
    if not is_hex(seed_hex, 64):
        return [*problems, "seed is not 64 lower-case hexadecimal characters"], notes
    seed = bytes.fromhex(seed_hex)
    if hashlib.sha256(seed).hexdigest() != proof["commitment"]:
        problems.append("seed does not match the commitment published at creation")
    if proof.get("status") not in (None, "opened"):
        notes.append(
            f"status is {proof.get('status')!r}: no winners were drawn; "
            "the seed is revealed so anyone can compute what the draw would have given"
        )
    prefix = algorithm.encode("ascii") + seed + bytes.fromhex(proof["entrants_digest"])
    if algorithm == V2:
        pd = prizes_file_digest(prizes)
        if pd != proof["prizes_digest"]:
            problems.append(f"prizes: digest {pd} does not match the proof's prizes_digest")
        beacon, beacon_problems, beacon_notes = check_beacon(proof)
        problems += beacon_problems
        notes += beacon_notes
        prefix += bytes.fromhex(proof["prizes_digest"]) + (beacon or bytes(32))
    if problems:
        return [*problems, "winners not checked: fix the problems above first"], notes
    units = [pid for pid, quantity, _ in prizes for _ in range(quantity)]
    k = min(len(units), count)
    substitutions = proof.get("substitutions") or []
    if not isinstance(substitutions, list):
        raise InputError("proof field 'substitutions' must be a list")
    # The order: the same shuffle continued past the k winners (one step per substitution at most).
    order = positions(prefix, count, min(count, k + len(substitutions)))
    holders: list[str | None] = [keys[p] for p in order[:k]]
    problems += check_substitutions(
        substitutions,
        holders=holders,
        units=units,
        alternates=[keys[p] for p in order[k:]],
        k=k,
        limit=proof.get("max_substitutions", 0),
    )
    expected = [(key, units[i]) for i, key in enumerate(holders) if key is not None]
    published = [_winner(entry) for entry in winners]
    for number in range(max(len(expected), len(published))):
        want = expected[number] if number < len(expected) else None
        got = published[number] if number < len(published) else None
        if want != got:
            problems.append(
                f"winner #{number + 1}: {_pair(got, 'published')}, {_pair(want, 'expected')}"
            )
    if unawarded is not None:
        left: dict[str, int] = {}
        for i, pid in enumerate(units):
            if i >= k or holders[i] is None:
                left[pid] = left.get(pid, 0) + 1
        said = {}
        for entry in unawarded:
            if not isinstance(entry, dict) or not isinstance(entry.get("prize"), dict):
                raise InputError("each unawarded entry must be an object with a 'prize'")
            units_left = entry.get("unawarded_units", entry.get("quantity"))
            said[entry["prize"].get("id")] = units_left
        if said != left:
            problems.append(f"unawarded units: published {said}, expected {left}")
    return problems, notes


REASONS = ("expired", "fake_account", "duplicate_account", "ineligible", "rule_violation")


def check_substitutions(
    substitutions: list[Any],
    *,
    holders: list[str | None],
    units: list[str],
    alternates: list[str],
    k: int,
    limit: Any,
) -> list[str]:
    """Replay the proof's substitutions (docs/fairness.md, "Alternates") over ``holders``.

    Each must replace the unit's current holder, with a public reason, and give the unit to
    the next unused step of the order, or record it unawarded only when the unit already
    passed ``limit`` times or the order has no step left. ``holders`` ends as the current
    holders (None: unawarded), following the rules rather than the published claims.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise InputError("proof field 'max_substitutions' must be a non-negative integer")
    problems = []
    passes = [0] * len(holders)
    used = 0  # steps of the order taken so far
    for number, sub in enumerate(substitutions, start=1):
        if not isinstance(sub, dict) or not isinstance(sub.get("prize"), dict):
            raise InputError("each substitution must be an object with a 'prize'")
        unit, where = sub.get("unit"), f"substitution #{number}"
        if not isinstance(unit, int) or isinstance(unit, bool) or not 0 <= unit < len(holders):
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


def check_beacon(proof: dict[str, Any]) -> tuple[bytes | None, list[str], list[str]]:
    """(randomness or None, problems, notes) of the v2 beacon part."""
    beacon = proof.get("beacon")
    if beacon is None:
        reason = proof.get("beacon_missing_reason") or "no reason given"
        return None, [], [f"drawn WITHOUT a public beacon ({reason}): weaker guarantee"]
    if not isinstance(beacon, dict):
        raise InputError("proof field 'beacon' must be an object or null")
    problems = []
    chain = proof.get("beacon_chain") or {}
    named = proof.get("beacon_round")
    if beacon.get("round") != named:
        problems.append(f"beacon: round {beacon.get('round')!r} is not the named one, {named!r}")
    randomness, signature = beacon.get("randomness"), beacon.get("signature")
    previous = beacon.get("previous_signature") or ""
    if not is_hex(randomness, 64) or not is_hex(signature) or not is_hex(previous):
        return None, [*problems, "beacon: randomness or signatures are not lower-case hex"], []
    if hashlib.sha256(bytes.fromhex(signature)).hexdigest() != randomness:
        problems.append("beacon: randomness is not SHA-256 of the signature")
    lock_at = _unix(proof.get("lock_at"))
    if isinstance(named, int) and chain and lock_at is not None:
        round_time = chain["genesis_time"] + (named - 1) * chain["period"]
        if round_time <= lock_at:
            problems.append(f"beacon: round {named} was out before the lock")
    notes = []
    try:
        if not bls_check(chain, named, signature, previous):
            problems.append("beacon: the signature does not verify against the chain's key")
    except ImportError:
        notes.append(
            "beacon signature NOT checked: install py_ecc (pip install py_ecc) to check it; "
            "everything else was"
        )
    return bytes.fromhex(randomness), problems, notes


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


def _unix(text: Any) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _prizes(proof: dict[str, Any]) -> list[tuple[str, int, str]]:
    items = proof.get("prizes")
    if not isinstance(items, list):
        raise InputError("proof field 'prizes' must be a list")
    prizes = []
    for item in items:
        if not isinstance(item, dict):
            raise InputError("each prize must be a JSON object")
        pid, quantity = item.get("id"), item.get("quantity")
        if not isinstance(pid, str) or not isinstance(quantity, int) or isinstance(quantity, bool):
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
    for field, kind in (("algorithm", str), ("commitment", str), ("entrants_digest", str)):
        if not isinstance(proof.get(field), kind):
            raise InputError(f"{path}: proof field {field!r} must be a {kind.__name__}")
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


def _summary(*, proof: dict[str, Any], winner_count: int, unawarded: list[Any] | None) -> str:
    text = (
        f"OK: draw {proof.get('event_id', '?')} confirmed ({proof['algorithm']}): the seed "
        "matches the "
        f"commitment, the {proof['entrant_count']} entrants match digest "
        f"{proof['entrants_digest']}, and all {winner_count} published winners match"
    )
    if proof.get("substitutions"):
        text += f"; {len(proof['substitutions'])} substitution(s) follow the draw's order"
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
