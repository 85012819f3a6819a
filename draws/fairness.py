"""Verifiable fairness for lottery draws: schemes ``sha256-fisher-yates-v1`` and ``-v2``.

Pure standard library. docs/fairness.md is the byte-exact specification; keep the two in step.
The stand-alone verifier (``tools/verify_draw.py``) is a second implementation written from
that document, on purpose: a bug here is not shared by the checker.

In short:

1. At event creation the server draws a secret seed and publishes ``commitment(seed)`` (v2:
   and names a future drand beacon round).
2. At lock it publishes the entrant count and ``entrants_digest`` of the entrant keys sorted
   in canonical (bytewise) order (v2: and ``prizes_digest``).
3. At draw time the winners follow deterministically from (seed, entrants digest, count,
   prizes; v2: prizes digest, beacon randomness); the seed is revealed so that anyone can
   recompute them with ``verify``.
4. After the draw, a prize unit whose winner let the claim window pass or was disqualified
   passes to the next step of the same shuffle continued past the winners (``alternate_positions``);
   the proof lists every substitution and ``verify`` replays them (``apply_substitutions``).
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM_V1 = "sha256-fisher-yates-v1"
# v2 also binds the prizes (their digest) and a public beacon round nobody knows at the lock.
ALGORITHM_V2 = "sha256-fisher-yates-v2"
ALGORITHM = ALGORITHM_V2  # what new events are drawn with
ALGORITHMS = (ALGORITHM_V1, ALGORITHM_V2)
SEED_BYTES = 32
DIGEST_BYTES = 32
# Stands in for the beacon's randomness in v2 when a draw went ahead without one (a SHA-256
# output is never all zeros in practice; the proof says ``beacon: null`` anyway).
NO_BEACON = bytes(32)

_U64_SPAN = 2**64
_BLOCK_U64S = struct.Struct(">4Q")


class DrawFormatError(ValueError):
    """A proof or winner list is structurally malformed (missing field, wrong JSON type)."""


# --- seed and commitment ---------------------------------------------------------------------


def new_seed() -> bytes:
    """A fresh secret seed, drawn when the event is created and kept secret until the draw."""
    return secrets.token_bytes(SEED_BYTES)


def commitment(seed: bytes) -> str:
    """Published at creation: binds the server to ``seed`` without revealing it."""
    return hashlib.sha256(seed).hexdigest()


# --- entrant digest ---------------------------------------------------------------------------


class EntrantDigest:
    """Incremental SHA-256 of the entrant list, one key per line, in canonical order.

    Equals the SHA-256 of the public entrant list file. Keys must arrive strictly increasing
    (bytewise order of their UTF-8 encoding, which is what ``sorted()`` gives for ``str``):
    the database is expected to deliver them that way, and refusing anything else is our guard
    against a silently different order (or a duplicate) changing who wins.

    Feed large batches (e.g. 10,000 keys): each batch is joined and hashed in one call, which is
    several times faster than hashing key by key.

    ``checked=False`` skips the order, emptiness and newline checks. Use it only to re-hash a
    list whose digest was computed with them and to compare the result with that digest: equal
    digests mean the very same bytes, which passed the checks once already. (The draw does
    this to prove the list has not changed since the lock; the checks cost more than the hash.)
    """

    def __init__(self, *, checked: bool = True) -> None:
        self._hash = hashlib.sha256()
        self._count = 0
        self._last_key: str | None = None
        self._checked = checked

    @property
    def count(self) -> int:
        return self._count

    def update(self, keys: Iterable[str]) -> None:
        batch = keys if isinstance(keys, list) else list(keys)
        if not batch:
            return
        if not self._checked:
            self._hash.update(("\n".join(batch) + "\n").encode("utf-8"))
            self._count += len(batch)
            return
        self._check_order(batch)
        text = "\n".join(batch) + "\n"
        # A key containing a newline would forge extra lines in the public file.
        if text.count("\n") != len(batch):
            raise ValueError("entrant keys must not contain newlines")
        self._hash.update(text.encode("utf-8"))
        self._count += len(batch)
        self._last_key = batch[-1]

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def _check_order(self, batch: list[str]) -> None:
        if self._last_key is None and not batch[0]:
            raise ValueError("entrant keys must not be empty")
        if self._last_key is not None and not self._last_key < batch[0]:
            raise ValueError(_order_error(self._last_key, batch[0]))
        # One C-level pass; the slow, precise search below only runs when something is wrong.
        if not all(map(operator.lt, batch, itertools.islice(batch, 1, None))):
            raise ValueError(_first_order_error(batch))


def _first_order_error(batch: list[str]) -> str:
    for previous, key in itertools.pairwise(batch):
        if not previous < key:
            return _order_error(previous, key)
    return "entrant keys out of canonical order"


def _order_error(previous: str, key: str) -> str:
    if previous == key:
        return f"duplicate entrant key {key!r}"
    return f"entrant keys out of canonical order: {key!r} after {previous!r}"


def entrants_digest(keys: Iterable[str]) -> tuple[int, str]:
    """(count, hex digest) of keys already in canonical order (ValueError otherwise)."""
    digest = EntrantDigest()
    for batch in _batched(keys, 10_000):
        digest.update(batch)
    return digest.count, digest.hexdigest()


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def prizes_digest(prizes: Iterable[tuple[str, int, str]]) -> str:
    """SHA-256 of the prize list in tier order: one ``id TAB quantity TAB sha256(name)`` line each.

    The name goes in hashed, so any text (tabs, newlines) fits the one-line format.
    """
    lines = "".join(
        f"{prize_id}\t{quantity}\t{hashlib.sha256(name.encode('utf-8')).hexdigest()}\n"
        for prize_id, quantity, name in prizes
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


# --- random stream ----------------------------------------------------------------------------


def below(m: int, *, next_u64: Callable[[], int]) -> int:
    """Uniform integer in [0, m) from a source of uniform 64-bit integers.

    Plain ``x % m`` would favour small results whenever m does not divide 2**64, so values at
    or above the largest multiple of m are rejected and another one is taken.
    """
    if not 1 <= m <= _U64_SPAN:
        raise ValueError(f"m must be in [1, 2**64], got {m}")
    limit = (_U64_SPAN // m) * m
    while True:
        x = next_u64()
        if x < limit:
            return x % m


class RandomStream:
    """The deterministic stream of 64-bit integers derived from seed and entrant digest.

    Block b is SHA-256(ALGORITHM || seed || digest || b as 8-byte big-endian); each block gives
    four big-endian u64s. Mixing the entrant digest in means the seed alone does not fix the
    outcome: it only applies to the exact entrant list frozen at lock.
    """

    def __init__(
        self,
        *,
        seed: bytes,
        entrants_digest: str,
        algorithm: str = ALGORITHM_V1,
        prizes_digest: str | None = None,
        beacon_randomness: bytes | None = None,
    ) -> None:
        _check_seed(seed)
        self._prefix = hashlib.sha256(
            _stream_prefix(
                seed=seed,
                entrants_digest=entrants_digest,
                algorithm=algorithm,
                prizes_digest=prizes_digest,
                beacon_randomness=beacon_randomness,
            )
        )
        self._next_block = 0
        self._pending: Iterator[int] = iter(())

    def block(self, index: int) -> bytes:
        """Block ``index`` of the stream (exposed for test vectors and auditors)."""
        hasher = self._prefix.copy()
        hasher.update(index.to_bytes(8, "big"))
        return hasher.digest()

    def next_u64(self) -> int:
        for value in self._pending:
            return value
        self._pending = iter(_BLOCK_U64S.unpack(self.block(self._next_block)))
        self._next_block += 1
        return next(self._pending)

    def below(self, m: int) -> int:
        return below(m, next_u64=self.next_u64)


def _stream_prefix(
    *,
    seed: bytes,
    entrants_digest: str,
    algorithm: str,
    prizes_digest: str | None,
    beacon_randomness: bytes | None,
) -> bytes:
    """v1: ALGORITHM || seed || entrants digest; v2 adds prizes digest || beacon randomness."""
    if algorithm == ALGORITHM_V1:
        return algorithm.encode("ascii") + seed + _digest_bytes(entrants_digest)
    if algorithm != ALGORITHM_V2:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    beacon = NO_BEACON if beacon_randomness is None else beacon_randomness
    if len(beacon) != DIGEST_BYTES:
        raise ValueError("beacon randomness must be 32 bytes")
    return (
        algorithm.encode("ascii")
        + seed
        + _digest_bytes(entrants_digest)
        + _digest_bytes(prizes_digest or "", what="prizes digest")
        + beacon
    )


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise ValueError(f"seed must be {SEED_BYTES} bytes")


def is_hex64(value: Any) -> bool:
    """Exactly 64 lower-case hexadecimal characters: the only form the proof publishes."""
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _digest_bytes(hex_digest: str, *, what: str = "entrants digest") -> bytes:
    # fromhex() tolerates spaces and upper case; the proof publishes exactly 64 lower-case ones.
    if not is_hex64(hex_digest):
        raise ValueError(f"{what} must be 64 lower-case hexadecimal characters")
    return bytes.fromhex(hex_digest)


# --- drawing ----------------------------------------------------------------------------------


def draw_positions(
    *, seed: bytes, entrants_digest: str, entrant_count: int, k: int, **stream: Any
) -> list[int]:
    """k distinct positions in [0, entrant_count), in winning order (first = top prize).

    A partial Fisher-Yates shuffle of the virtual array [0, 1, ..., n-1], stored sparsely: only
    swapped cells live in the dict, so the cost is O(k) whatever the number of entrants.
    Drawing more positions never changes the earlier ones (the stream is consumed in order).
    """
    if entrant_count < 0:
        raise ValueError("entrant_count must not be negative")
    if not 0 <= k <= entrant_count:
        raise ValueError(f"k must be in [0, entrant_count], got k={k}, n={entrant_count}")
    rng = RandomStream(seed=seed, entrants_digest=entrants_digest, **stream)
    swaps: dict[int, int] = {}
    positions: list[int] = []
    for i in range(k):
        j = i + rng.below(entrant_count - i)
        vi = swaps.get(i, i)
        vj = swaps.get(j, j)
        swaps[j] = vi  # cell i is never read again, so it needs no write-back
        positions.append(vj)
    return positions


@dataclass(frozen=True)
class Allocation:
    """The outcome of a draw.

    ``awards``: (entrant position, prize id) in tier order, one per awarded prize unit.
    ``unawarded``: prize id -> units left over because there were fewer entrants than units;
    only prizes with at least one unawarded unit appear, in tier order.
    """

    awards: list[tuple[int, str]]
    unawarded: dict[str, int]


def allocate(
    *,
    seed: bytes,
    entrants_digest: str,
    entrant_count: int,
    prizes: Sequence[tuple[str, int]],
    algorithm: str = ALGORITHM_V1,
    prizes_digest: str | None = None,
    beacon_randomness: bytes | None = None,
) -> Allocation:
    """Give the i-th drawn position the i-th prize unit, prizes expanded in tier order.

    v2 (``algorithm=ALGORITHM_V2``) needs ``prizes_digest`` and takes the beacon's 32 bytes of
    randomness (None: drawn without a beacon).
    """
    _check_prizes(prizes)
    total_units = sum(quantity for _, quantity in prizes)
    k = min(total_units, entrant_count)
    positions = iter(
        draw_positions(
            seed=seed,
            entrants_digest=entrants_digest,
            entrant_count=entrant_count,
            k=k,
            algorithm=algorithm,
            prizes_digest=prizes_digest,
            beacon_randomness=beacon_randomness,
        )
    )
    awards: list[tuple[int, str]] = []
    unawarded: dict[str, int] = {}
    for prize_id, quantity in prizes:
        given = min(quantity, k - len(awards))
        awards.extend((next(positions), prize_id) for _ in range(given))
        if quantity > given:
            unawarded[prize_id] = quantity - given
    return Allocation(awards=awards, unawarded=unawarded)


def _check_prizes(prizes: Sequence[tuple[str, int]]) -> None:
    seen: set[str] = set()
    for prize_id, quantity in prizes:
        if prize_id in seen:
            raise ValueError(f"prize {prize_id!r} listed twice")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(f"prize {prize_id!r}: quantity must be a non-negative integer")
        seen.add(prize_id)


# --- alternates -----------------------------------------------------------------------------

# Why a prize unit may pass to an alternate: the claim window passed unclaimed, or the creator
# disqualified the winner for one of a short public list of reasons.
EXPIRED = "expired"
DISQUALIFY_REASONS = ("fake_account", "duplicate_account", "ineligible", "rule_violation")
SUBSTITUTION_REASONS = (EXPIRED, *DISQUALIFY_REASONS)


def alternate_positions(
    *, seed: bytes, entrants_digest: str, entrant_count: int, k: int, count: int, **stream: Any
) -> list[int]:
    """The positions of the order's steps ``k .. k+count-1`` (fewer when the order runs out).

    The order is the draw's own Fisher-Yates shuffle continued past the ``k`` winners: step
    ``k`` is the first alternate, ``k+1`` the second, and so on up to step ``n-1``. Every step
    is a different entrant, and none of them won in the draw.
    """
    last = min(entrant_count, k + count)
    return draw_positions(
        seed=seed, entrants_digest=entrants_digest, entrant_count=entrant_count, k=last, **stream
    )[k:]


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


@dataclass(frozen=True)
class Proof:
    """The published proof of one draw, parsed from its JSON form."""

    algorithm: str
    event_id: str
    commitment: str
    entrant_count: int
    entrants_digest: str
    seed_hex: str | None
    prizes: list[tuple[str, int]]
    prize_names: list[str] = ()  # type: ignore[assignment]
    prizes_digest: str | None = None
    beacon_round: int | None = None
    beacon: Mapping[str, Any] | None = None
    beacon_missing_reason: str | None = None
    substitutions: list[Substitution] = ()  # type: ignore[assignment]
    max_substitutions: int = 0


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
    beacon_round = proof.get("beacon_round")
    if beacon_round is not None and (not isinstance(beacon_round, int) or beacon_round < 1):
        raise DrawFormatError("proof field 'beacon_round' must be a positive integer or null")
    substitutions = proof.get("substitutions") or []
    if not isinstance(substitutions, list):
        raise DrawFormatError("proof field 'substitutions' must be a list")
    max_substitutions = proof.get("max_substitutions", 0)
    if not isinstance(max_substitutions, int) or isinstance(max_substitutions, bool):
        raise DrawFormatError("proof field 'max_substitutions' must be an integer")
    return Proof(
        substitutions=[parse_substitution(item) for item in substitutions],
        max_substitutions=max_substitutions,
        prize_names=[
            str(item.get("name", "")) for item in prize_items if isinstance(item, Mapping)
        ],
        prizes_digest=proof.get("prizes_digest"),
        beacon_round=beacon_round,
        beacon=beacon,
        beacon_missing_reason=proof.get("beacon_missing_reason"),
        algorithm=_field(proof, "algorithm", str),
        event_id=str(proof.get("event_id", "")),
        commitment=_field(proof, "commitment", str),
        entrant_count=_field(proof, "entrant_count", int),
        entrants_digest=_field(proof, "entrants_digest", str),
        seed_hex=seed_hex,
        prizes=[_parse_prize(item) for item in prize_items],
    )


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


def verify(
    *,
    proof: Mapping[str, Any],
    entrant_keys: Iterable[str],
    winners: Sequence[Mapping[str, Any]],
    unawarded: Sequence[Mapping[str, Any]] | None = None,
) -> list[str]:
    """Recompute a draw from its proof and public entrant list; list every discrepancy.

    An empty list means the draw is confirmed. ``entrant_keys`` may come in any order (the
    scheme sorts them); ``unawarded`` (the API's list of leftover prize units) is checked
    only when given. Raises DrawFormatError when the proof or winners are not even shaped right.
    """
    parsed = parse_proof(proof)
    published = [parse_winner(entry) for entry in winners]
    header_problems = _check_header(parsed)
    if header_problems:
        return header_problems  # nothing below can be trusted
    keys = sorted(entrant_keys)
    entrant_problems = _check_entrants(parsed, keys)
    seed, seed_problems = _revealed_seed(parsed)
    problems = entrant_problems + seed_problems
    if seed is None:
        return [*problems, "winners not checked: no usable seed"]
    if entrant_problems:
        return [*problems, "winners not checked: the entrant list does not match the proof"]
    beacon_randomness, beacon_problems = _beacon_randomness(parsed)
    if beacon_problems:
        return [*problems, *beacon_problems, "winners not checked: the beacon part is invalid"]
    allocation = allocate(
        seed=seed,
        entrants_digest=parsed.entrants_digest,
        entrant_count=parsed.entrant_count,
        prizes=parsed.prizes,
        algorithm=parsed.algorithm,
        prizes_digest=parsed.prizes_digest,
        beacon_randomness=beacon_randomness,
    )
    holders: list[str | None] = [keys[position] for position, _ in allocation.awards]
    prize_of_unit = [prize_id for _, prize_id in allocation.awards]
    if parsed.substitutions:
        alternates = alternate_positions(
            seed=seed,
            entrants_digest=parsed.entrants_digest,
            entrant_count=parsed.entrant_count,
            k=len(holders),
            count=len(parsed.substitutions),
            algorithm=parsed.algorithm,
            prizes_digest=parsed.prizes_digest,
            beacon_randomness=beacon_randomness,
        )
        k = len(holders)
        problems += apply_substitutions(
            holders=holders,
            prize_of_unit=prize_of_unit,
            substitutions=parsed.substitutions,
            alternates=lambda step: (
                keys[alternates[step - k]] if step - k < len(alternates) else None
            ),
            k=k,
            max_substitutions=parsed.max_substitutions,
        )
    expected = [
        (key, prize_id)
        for key, prize_id in zip(holders, prize_of_unit, strict=True)
        if key is not None
    ]
    problems += _compare_winners(published=published, expected=expected)
    if unawarded is not None:
        left = dict(allocation.unawarded)
        for key, prize_id in zip(holders, prize_of_unit, strict=True):
            if key is None:
                left[prize_id] = left.get(prize_id, 0) + 1
        problems += _compare_unawarded(published=unawarded, expected=left)
    return problems


def _check_header(proof: Proof) -> list[str]:
    if proof.algorithm not in ALGORITHMS:
        return [f"unknown algorithm {proof.algorithm!r}: this verifier implements {ALGORITHMS}"]
    if not is_hex64(proof.entrants_digest):
        return ["proof entrants_digest is not 64 lower-case hexadecimal characters"]
    if not is_hex64(proof.commitment):
        return ["proof commitment is not 64 lower-case hexadecimal characters"]
    if proof.algorithm == ALGORITHM_V2:
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
        _check_prizes(proof.prizes)
    except ValueError as error:
        return [f"proof prizes: {error}"]
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


def _beacon_randomness(proof: Proof) -> tuple[bytes | None, list[str]]:
    """The beacon's randomness a v2 draw used (None: drawn without) and any problem with it.

    Only the hash chain is checked here (randomness = SHA-256(signature), the named round);
    the BLS signature needs a pairing library: tools/verify_draw.py checks it with py_ecc.
    """
    if proof.algorithm != ALGORITHM_V2 or proof.beacon is None:
        return None, []
    beacon = proof.beacon
    problems = []
    if beacon.get("round") != proof.beacon_round:
        problems.append(
            f"beacon: round {beacon.get('round')!r} is not the round named in advance, "
            f"{proof.beacon_round!r}"
        )
    randomness, signature = beacon.get("randomness"), beacon.get("signature")
    if not is_hex64(randomness):
        return None, [*problems, "beacon: randomness is not 64 lower-case hexadecimal characters"]
    if not isinstance(signature, str) or not _is_lower_hex(signature):
        return None, [*problems, "beacon: signature is not lower-case hexadecimal"]
    if hashlib.sha256(bytes.fromhex(signature)).hexdigest() != randomness:
        problems.append("beacon: randomness is not SHA-256 of the signature")
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
