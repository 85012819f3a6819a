"""The events app's part of a person's data (``accounts.personal_data``, docs/privacy.md).

Export: the entries (with the anti-fraud signals recorded at the join: the network key and
WeChat's risk rank), wins, claims (with the address given, decrypted and audited), events
created, reports and exclusions of a person. Erasure, when their account is deleted:

- entries in events still open are withdrawn through ``services.entry_leave`` (the one write
  path of a withdrawal); entries of events canceled before their lock, which no proof names,
  are deleted (``services.entries_forget_canceled``); entries of locked events stay: the published entrant list and its digest name
  them by public id, which stays (the account keeps it, and nothing else);
- claims are blanked (``claims.claims_erase_of_winner``);
- each prize still held becomes a ``PromotionRecord``: pseudonymised, two years;
- reports are deleted. Events the person created stay, public content of a finished draw;
- the anti-fraud signals go: the network key and the risk rank of the entries that stay (locked
  events), the network key of their exclusions. An exclusion itself stays (its reason, flags and
  public id): the proof counts it and it keeps the person out of that event.
"""

import contextlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from rest_framework import serializers

from accounts.models import User
from accounts.services import user_pseudonym
from events import claims
from events.claim_serializers import AddressOutput
from events.models import Claim, Entry, Event, Exclusion, PromotionRecord, Report, Substitution
from events.serializers import PrizeRefOutput
from events.services.entries import (
    entries_forget_canceled,
    entries_forget_fraud_signals,
    entry_leave,
)
from lottery_site.errors import ApplicationError
from lottery_site.fields import AwareDateTimeField

# --- export -----------------------------------------------------------------------------------


class _EventRef(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    title = serializers.CharField()


class _Entry(serializers.Serializer):
    event = _EventRef()
    joined_at = AwareDateTimeField(source="created_at")
    prize = PrizeRefOutput(allow_null=True)
    # The anti-fraud signals of the join (events.fraud): a keyed hash of the address it came
    # from, salted with the event (the address itself is not kept), and WeChat's risk rank when
    # the event asked for it.
    network = serializers.CharField()
    risk_rank = serializers.IntegerField(allow_null=True)


class _Exclusion(serializers.Serializer):
    event = _EventRef()
    reason = serializers.CharField()
    flags = serializers.SerializerMethodField()
    excluded_at = AwareDateTimeField(source="created_at")

    def get_flags(self, exclusion) -> list[str]:
        return [flag for flag in exclusion.flags.split(",") if flag]


class _Win(serializers.Serializer):
    event = _EventRef()
    prize = PrizeRefOutput()
    drawn_at = AwareDateTimeField()
    state = serializers.CharField(help_text="held, or passed_on (to an alternate)")


class _Claim(serializers.Serializer):
    id = serializers.CharField()
    event = _EventRef()
    prize = PrizeRefOutput(allow_null=True)
    state = serializers.CharField()
    deadline = AwareDateTimeField()
    address = AddressOutput(allow_null=True)
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    claimed_at = AwareDateTimeField(allow_null=True)
    shipped_at = AwareDateTimeField(allow_null=True)
    erased = serializers.BooleanField()


class _Created(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    title = serializers.CharField()
    status = serializers.CharField(source="status_name")
    created_at = AwareDateTimeField()
    draw_at = AwareDateTimeField()


class _Report(serializers.Serializer):
    event = _EventRef()
    reason = serializers.CharField()
    at = AwareDateTimeField(source="created_at")


def data_export(*, user: User, now: datetime, context: dict) -> dict:  # noqa: ARG001
    entries = list(
        Entry.objects.filter(user_id=user.pk)
        .select_related("event", "prize")
        .order_by("created_at", "pk")
    )
    return {
        "entries": _Entry(entries, many=True).data,
        "wins": _Win(_wins(user, entries), many=True).data,
        "claims": _Claim(claims.claims_of_winner(user=user, now=now), many=True).data,
        "events_created": _Created(
            Event.objects.filter(creator_id=user.pk).order_by("created_at", "pk"), many=True
        ).data,
        "reports": _Report(
            Report.objects.filter(user_id=user.pk).select_related("event").order_by("pk"),
            many=True,
        ).data,
        "exclusions": _Exclusion(
            Exclusion.objects.filter(user_id=user.pk).select_related("event").order_by("pk"),
            many=True,
        ).data,
    }


def _wins(user: User, entries: list[Entry]) -> list[dict]:
    held = [
        {"event": e.event, "prize": e.prize, "drawn_at": e.event.drawn_at, "state": "held"}
        for e in entries
        if e.prize is not None
    ]
    passed_on = [
        {"event": s.event, "prize": s.prize, "drawn_at": s.event.drawn_at, "state": "passed_on"}
        for s in Substitution.objects.filter(replaced__user_id=user.pk).select_related(
            "event", "prize"
        )
    ]
    return held + passed_on


# --- deletion ---------------------------------------------------------------------------------


def refuse_deletion(*, user: User, now: datetime) -> None:
    """A creator must first settle what others wait for: events not yet drawn, and shipping
    prizes a winner claimed, or may still claim, that nobody shipped."""
    if (
        Event.objects.filter(
            creator_id=user.pk, status__in=[Event.Status.INIT, Event.Status.OPENING]
        ).exists()
        or _claims_to_ship(user, now).exists()
        or _may_still_claim(user, now)
    ):
        raise ApplicationError("account_has_open_events")


def _claims_to_ship(user: User, now: datetime):
    return Claim.objects.filter(
        event__creator_id=user.pk, event__delivery=Event.Delivery.SHIPPING
    ).filter(Q(status=Claim.Status.CLAIMED) | Q(status=Claim.Status.UNCLAIMED, deadline__gt=now))


def _may_still_claim(user: User, now: datetime) -> bool:
    """Winners of the creator's shipping events, without a claim row yet, within the window."""
    recent = now - timedelta(days=settings.CLAIM_MAX_DAYS_LOOKBACK)
    winners = Entry.objects.filter(
        event__creator_id=user.pk,
        event__delivery=Event.Delivery.SHIPPING,
        event__drawn_at__gt=recent,
        prize__isnull=False,
        claim__isnull=True,
    ).select_related("event")
    return any(claims.claim_deadline(entry.event) > now for entry in winners)


def erase(*, user: User, now: datetime) -> None:
    _withdraw_from_open_events(user, now)
    entries_forget_canceled(user=user)
    _record_promotions(user, now)
    claims.claims_erase_of_winner(user_id=user.pk, now=now)
    Report.objects.filter(user_id=user.pk).delete()
    entries_forget_fraud_signals(user=user)


def _withdraw_from_open_events(user: User, now: datetime) -> None:
    """Through the withdrawal's own service, so the count and the square follow. An
    event that locked meanwhile (or whose count target was reached) keeps the entry: it is in
    the frozen list now."""
    open_entries = Entry.objects.filter(
        user_id=user.pk, event__status=Event.Status.INIT, event__lock_at__gt=now
    ).select_related("event")
    for entry in open_entries:
        # Locked since: the entry belongs to the published list now.
        with contextlib.suppress(ApplicationError):
            entry_leave(event=entry.event, user=user, now=now)


def _record_promotions(user: User, now: datetime) -> None:
    """A pseudonymous record of each prize the person holds (idempotent: one per event)."""
    won = Entry.objects.filter(user_id=user.pk, prize__isnull=False).select_related(
        "event", "claim"
    )
    keep = timedelta(days=settings.PRIVACY_PROMOTION_RECORD_DAYS)
    ref = user_pseudonym(user)
    records = [
        PromotionRecord(
            event_id=entry.event_id,
            prize_id=entry.prize_id,
            winner_key=entry.user_key,
            winner_ref=ref,
            claim_state=_claim_state(entry, now),
            drawn_at=entry.event.drawn_at or now,
            recorded_at=now,
            keep_until=(entry.event.drawn_at or now) + keep,
        )
        for entry in won
    ]
    PromotionRecord.objects.bulk_create(records, ignore_conflicts=True)


def _claim_state(entry: Entry, now: datetime) -> str:
    if entry.event.delivery == Event.Delivery.NONE:
        return ""
    claim = getattr(entry, "claim", None)  # None: no claim row (yet)
    deadline = claim.deadline if claim else claims.claim_deadline(entry.event)
    return claims.claim_state(claim.status if claim else None, deadline=deadline, now=now)


def promotion_records_expire(*, now: datetime) -> int:
    """Delete the promotion records kept long enough (the retention sweep); idempotent."""
    return PromotionRecord.objects.filter(keep_until__lte=now).delete()[0]
