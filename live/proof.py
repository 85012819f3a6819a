"""The arithmetic of a live round (docs/fairness.md, "Live rounds"): pure, standard library.

A round is drawn exactly like a ``sha256-fisher-yates-v2`` draw (``draws.allocator.allocate``,
the same allocator) over the round's own eligible entrant list (the event's frozen list less
everyone who won an earlier round), with the round's own seed and beacon round, and with the
prizes digest replaced by the *round digest*, which binds the event, the round's number, its
prizes and the previous round's result. The result digest then binds the round's winners to
that round digest, so each round's proof names its predecessor's result: a published round
cannot be swapped without breaking every proof after it.
"""

import hashlib
from collections.abc import Iterable, Sequence

from draws import allocator

ALGORITHM = "live-round-v1"
# The stream the allocator runs: v2's, with the round digest in the prizes digest's place.
STREAM_ALGORITHM = allocator.ALGORITHM_V2


def round_digest(*, event_id: str, number: int, prizes_digest: str, previous_result: str) -> str:
    """SHA-256 of the round's header: what the round draws, and after which result."""
    text = (
        f"{ALGORITHM}\nevent {event_id}\nround {number}\n"
        f"prizes {prizes_digest}\nprevious {previous_result}\n"
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def result_digest(*, round_digest: str, winners: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of the round digest and the winners in draw order, ``key TAB prize id`` lines."""
    lines = "".join(f"{key}\t{prize_id}\n" for key, prize_id in winners)
    return hashlib.sha256(f"{round_digest}\n{lines}".encode()).hexdigest()


def commitment(seed: bytes) -> str:
    return allocator.commitment(seed)


def prizes_digest(prizes) -> str:
    """The prizes digest rule of docs/fairness.md over the round's prizes (tier order)."""
    return allocator.prizes_digest((p.public_id, p.quantity, p.name) for p in prizes)


def token_digest(token: str) -> str:
    """What is stored of a screen link's token: its SHA-256 (the link is shown once)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def eligible_digest(keys: Iterable[str]) -> tuple[int, str]:
    """(count, digest) of the round's eligible keys, in canonical order: the entrant file rule."""
    return allocator.entrants_digest(keys)


def allocate(
    *,
    seed: bytes,
    entrants_digest: str,
    entrant_count: int,
    prizes: Sequence[tuple[str, int]],
    round_digest: str,
    beacon_randomness: bytes | None,
) -> allocator.Allocation:
    """The round's winners, as positions in its eligible list, with the draws' own allocator."""
    return allocator.allocate(
        seed=seed,
        entrants_digest=entrants_digest,
        entrant_count=entrant_count,
        prizes=prizes,
        algorithm=STREAM_ALGORITHM,
        prizes_digest=round_digest,
        beacon_randomness=beacon_randomness,
    )
