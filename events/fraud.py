"""Anti-fraud people can see: what the creator is shown about an event's entrants before the
lock, as reason codes, never personal data (``GET /events/{id}/flags``, and staff in the admin).

The signals, each a reason code:

- ``risk_elevated``: WeChat's risk rank at the join (a risk-gated event, events.conditions) was
  above 0 and below the event's threshold, so the entrant was admitted;
- ``risk_unchecked``: WeChat did not answer at the join, and the event admits then;
- ``shared_network``: at least FRAUD_SHARED_NETWORK_MIN entrants joined from one address within
  FRAUD_SHARED_NETWORK_SECONDS of each other (WeChat gives a mini-program no device id: the
  address is what we have);
- ``new_account``: the account was created less than FRAUD_NEW_ACCOUNT_MINUTES before it joined.

The address is never kept: the join stores a keyed hash of it salted with the event
(``network_key``), so the same address in two events cannot be linked, and nobody, the creator
and staff included, can read it back; the hash and the risk rank are themselves blanked
FRAUD_SIGNAL_ERASE_AFTER_DAYS after the draw or the cancel (``events.services.retention``).
Flags are computed when asked, in one pass over the event's entries: the join pays nothing but
that hash. The creator may exclude a flagged entrant for a public reason
(``events.services.entries.entry_exclude``); the proof counts the exclusions.
"""

import functools
import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count

from events.models import Entry, Event, Exclusion
from lottery_site.errors import ApplicationError

REASONS = ("risk_elevated", "risk_unchecked", "shared_network", "new_account")


@dataclass(frozen=True)
class Flag:
    user_key: str
    joined_at: datetime
    reasons: tuple[str, ...]


def network_key(event_pk: int, client_ip: str) -> str:
    """16 hex characters standing for ``client_ip`` in this event only (HMAC-SHA256)."""
    message = f"{event_pk}|{client_ip}".encode()
    return hmac.new(_network_secret(settings.SECRET_KEY), message, hashlib.sha256).hexdigest()[:16]


@functools.cache
def _network_secret(secret_key: str) -> bytes:
    return hashlib.sha256(f"lottery.entry-network:{secret_key}".encode()).digest()


def event_flags(*, event: Event) -> list[Flag]:
    """The event's flagged entrants, in the order they joined: two queries (the entries, the
    exclusions), one pass."""
    rows = list(
        Entry.objects.filter(event_id=event.pk)
        .order_by("created_at", "pk")
        .values_list("user_key", "created_at", "network", "risk_rank", "user__created_at")
    )
    reasons: dict[str, set[str]] = defaultdict(set)
    young = timedelta(minutes=settings.FRAUD_NEW_ACCOUNT_MINUTES)
    for key, joined_at, _network, rank, account_at in rows:
        if rank is not None and rank != 0:
            reasons[key].add("risk_elevated" if rank > 0 else "risk_unchecked")
        if joined_at - account_at < young:
            reasons[key].add("new_account")
    # Entrants excluded from a burst still count in it: the others stay flagged.
    excluded = Exclusion.objects.filter(event_id=event.pk, joined_at__isnull=False).values_list(
        "user_key", "joined_at", "network"
    )
    joined = {row[0] for row in rows}
    for key in _shared_networks(sorted([*rows, *excluded], key=lambda row: row[1])) & joined:
        reasons[key].add("shared_network")
    return [
        Flag(key, joined_at, tuple(reason for reason in REASONS if reason in reasons[key]))
        for key, joined_at, *_rest in rows
        if key in reasons
    ]


def _shared_networks(rows: list[tuple]) -> set[str]:
    """Keys of entrants in a run of FRAUD_SHARED_NETWORK_MIN or more joins from one address
    within FRAUD_SHARED_NETWORK_SECONDS (rows come in join order: key, time, network...)."""
    by_network: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for key, joined_at, network, *_rest in rows:
        if network:
            by_network[network].append((joined_at, key))
    window = timedelta(seconds=settings.FRAUD_SHARED_NETWORK_SECONDS)
    least = settings.FRAUD_SHARED_NETWORK_MIN
    flagged: set[str] = set()
    for joins in by_network.values():
        end = 0
        for start in range(len(joins)):
            end = max(end, start)
            while end + 1 < len(joins) and joins[end + 1][0] - joins[start][0] <= window:
                end += 1
            if end - start + 1 >= least:
                flagged.update(key for _at, key in joins[start : end + 1])
    return flagged


def flags_of(*, event: Event, user_key: str) -> tuple[str, ...]:
    """The reason codes ``user_key`` is flagged with in ``event`` (empty: not flagged)."""
    for flag in event_flags(event=event):
        if flag.user_key == user_key:
            return flag.reasons
    return ()


def exclusion_counts(*, event_pk: int) -> list[dict]:
    """How many entrants were excluded for which reason (the proof and the flags page)."""
    rows = (
        Exclusion.objects.filter(event_id=event_pk)
        .values("reason")
        .annotate(count=Count("pk"))
        .order_by("reason")
    )
    return [{"reason": row["reason"], "count": row["count"]} for row in rows]


def flags_for_creator(*, event: Event, viewer) -> dict:
    """The creator's anti-fraud page (``not_owner`` for anyone else): flags and exclusions."""
    if event.creator_id != viewer.pk:
        raise ApplicationError("not_owner")
    return {"flagged": event_flags(event=event), "excluded": exclusion_counts(event_pk=event.pk)}
