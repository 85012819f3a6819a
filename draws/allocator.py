"""The draw of schemes ``sha256-fisher-yates-v1``, ``-v2``, ``-v3``: who wins, and alternates.

Pure standard library. docs/fairness.md is the byte-exact specification; keep the two in step.
The checks of a published proof live in ``draws.proof``; the stand-alone verifier
(``tools/verify_draw.py``) is a second implementation written from that document, on purpose:
a bug here is not shared by the checker.

In short:

1. At event creation the server draws a secret seed and publishes ``commitment(seed)`` (v3:
   and pins a drand chain, or says the event is drawn without a beacon).
2. At lock it publishes the entrant count and ``entrants_digest`` of the entrant keys sorted
   in canonical (bytewise) order (v2: and ``prizes_digest``; v3: and names the beacon round,
   the first at or after ``locked_at`` + the reveal gap).
3. At draw time the winners follow deterministically from (seed, entrants digest, count,
   prizes; v2/v3: prizes digest, beacon randomness) through ``allocate``; the seed is revealed
   so that anyone can recompute them (``draws.proof.verify``).
4. After the draw, a prize unit whose winner let the claim window pass or was disqualified
   passes to an alternate. v1/v2: the next step of the same shuffle continued past the winners
   (``alternate_positions``). v3: an entrant drawn among those who never held a unit, with a
   beacon round named when the substitution is recorded (``alternate_pick``).
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM_V1 = "sha256-fisher-yates-v1"
# v2 also binds the prizes (their digest) and a public beacon round nobody knows at the lock.
ALGORITHM_V2 = "sha256-fisher-yates-v2"
# v3: the same stream as v2 under its own label; the round is named at the actual lock, a draw
# never goes ahead without it, alternates are drawn with fresh rounds, and the proof carries
# every time rule (docs/fairness.md).
ALGORITHM_V3 = "sha256-fisher-yates-v3"
ALGORITHM = ALGORITHM_V3  # what new events are drawn with
ALGORITHMS = (ALGORITHM_V1, ALGORITHM_V2, ALGORITHM_V3)
WITH_PRIZES_DIGEST = (ALGORITHM_V2, ALGORITHM_V3)
# The stream an alternate is drawn from (v3), its label's 32 ASCII bytes.
ALTERNATE_LABEL = "sha256-fisher-yates-v3-alternate"
SEED_BYTES = 32
DIGEST_BYTES = 32
# Stands in for the beacon's randomness in v2 when a draw went ahead without one (a SHA-256
# output is never all zeros in practice; the proof says ``beacon: null`` anyway).
NO_BEACON = bytes(32)

_U64_SPAN = 2**64
_BLOCK_U64S = struct.Struct(">4Q")


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
    """v1: ALGORITHM || seed || entrants digest; v2/v3 add prizes digest || beacon randomness."""
    if algorithm == ALGORITHM_V1:
        return algorithm.encode("ascii") + seed + _digest_bytes(entrants_digest)
    if algorithm not in WITH_PRIZES_DIGEST:
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
    check_prizes(prizes)
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


def check_prizes(prizes: Sequence[tuple[str, int]]) -> None:
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


def alternate_pick(
    *,
    seed: bytes,
    entrants_digest: str,
    prizes_digest: str,
    beacon_randomness: bytes | None,
    number: int,
    entrant_count: int,
    excluded: Iterable[int],
) -> int | None:
    """v3: the position of the alternate that substitution ``number`` (1-based) draws.

    Drawn uniformly among the entrants whose positions are not in ``excluded`` (everyone who
    ever held a unit of the event: the draw's winners and every earlier alternate), from the
    stream ``ALTERNATE_LABEL || seed || entrants digest || prizes digest || B || u64be(number)``
    where B is the randomness of the beacon round named when the substitution was recorded
    (32 zero bytes for an event drawn without a beacon). None when nobody is left.
    """
    taken = sorted(set(excluded))
    if not 0 <= number < _U64_SPAN:
        raise ValueError("substitution number out of range")
    eligible = entrant_count - len(taken)
    if eligible <= 0:
        return None
    beacon = NO_BEACON if beacon_randomness is None else beacon_randomness
    if len(beacon) != DIGEST_BYTES:
        raise ValueError("beacon randomness must be 32 bytes")
    _check_seed(seed)
    stream = _PrefixStream(
        ALTERNATE_LABEL.encode("ascii")
        + seed
        + _digest_bytes(entrants_digest)
        + _digest_bytes(prizes_digest, what="prizes digest")
        + beacon
        + number.to_bytes(8, "big")
    )
    position = stream.below(eligible)
    for taken_position in taken:  # the position-th eligible one, skipping the taken
        if taken_position > position:
            break
        position += 1
    return position


class _PrefixStream(RandomStream):
    """A stream of blocks SHA256(prefix || u64be(b)) for an arbitrary prefix."""

    def __init__(self, prefix: bytes) -> None:  # noqa: D107 - no seed and digest to check
        self._prefix = hashlib.sha256(prefix)
        self._next_block = 0
        self._pending = iter(())
