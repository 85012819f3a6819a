"""The only write path of notifications: subscription quota, WeChat deliveries, read state.

Invariants, each kept by the database:
- at most one delivery per (event, user, kind): a unique constraint, so a fan-out run twice, or
  re-run after a crash, inserts nothing new;
- a delivery is sent by the batch that claimed it (conditional UPDATE from pending/retrying to
  sending), so duplicate tasks find nothing to claim;
- a unit of quota is consumed under the quota row's lock before the WeChat call, so no quota
  means no call, and two sends never share one unit; the delivery's ``quota_held`` is set in
  that same transaction, so a retry (or a staff resend) never takes a second one.

The deliveries' state machine is the table in ``Delivery``'s docstring and ``TRANSITIONS``
here; every change of ``state`` goes through ``_move``.

Network calls happen outside every transaction.
"""

import logging
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Sum, When

from accounts.models import User
from events.models import Claim, Entry, EventLog, Prize, Substitution
from lottery_site import metrics
from lottery_site.errors import ApplicationError
from notifications import messages
from notifications.models import Delivery, InboxState, SubscriptionQuota
from wechat import subscribe

logger = logging.getLogger(__name__)

OUTBOX_ACTIONS = (EventLog.Action.DRAW, EventLog.Action.CANCEL)
INSERT_CHUNK = 1000
State = Delivery.State

# The state machine: (from, to) -> the functions that make it (the table in Delivery's
# docstring says when). ``_move`` refuses a transition not listed here; (none) -> pending is the
# fan-outs' insert (``_record``).
_FAN_OUTS = ("outbox_fan_out", "claims_fan_out", "substitutions_fan_out")
TRANSITIONS = {
    (None, State.PENDING): _FAN_OUTS,
    (State.PENDING, State.SENDING): ("deliveries_send",),
    (State.RETRYING, State.SENDING): ("deliveries_send",),
    (State.SENDING, State.PENDING): ("deliveries_send",),
    (State.SENDING, State.RETRYING): ("deliveries_send",),
    (State.SENDING, State.SENT): ("deliveries_send",),
    (State.SENDING, State.REFUSED): ("deliveries_send",),
    (State.SENDING, State.FAILED): ("deliveries_send", "deliveries_expire_claims"),
    (State.SENDING, State.SKIPPED): ("deliveries_send",),
    (State.FAILED, State.PENDING): ("deliveries_retry",),
}


def _move(rows: QuerySet, *, to: str, from_: Sequence[str], by: str, **changes) -> int:
    """The one writer of ``state``: ``rows`` in one of ``from_`` move to ``to`` (with
    ``changes``). A conditional UPDATE; returns how many moved (0: someone got there first).

    Refuses (ValueError) a transition ``TRANSITIONS`` does not give to ``by``.
    """
    for source in from_:
        if by not in TRANSITIONS.get((source, to), ()):
            raise ValueError(f"no delivery transition {source} -> {to} by {by}")
    return rows.filter(state__in=list(from_)).update(state=to, **changes)


def _queued_until(now: datetime) -> datetime:
    # A queued batch that has not claimed its deliveries by then is queued again by the sweep
    # (its task was lost); a duplicate is harmless, the claim decides.
    return now + timedelta(seconds=settings.NOTIFY_REQUEUE_SECONDS)


def _claim_seconds() -> int:
    # Longer than a batch task may live (hard time limit): once a claim has expired, the task
    # that made it is certainly gone.
    return settings.CELERY_TASK_TIME_LIMIT + 60


def _batches(ids: Sequence[int]) -> list[list[int]]:
    size = settings.NOTIFY_BATCH_SIZE
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


# --- Subscription quota ---------------------------------------------------------------------


def subscription_accept(*, user: User, template_ids: Sequence[str]) -> dict[str, int]:
    """Add one unit of quota per accepted template (each template once per report).

    Raises ``template_unknown`` (400) naming the ids that are not configured; then nothing is
    added. Returns the user's quota per configured template.
    """
    unknown = sorted(set(template_ids) - messages.known_template_ids())
    if unknown:
        raise ApplicationError("template_unknown", data={"accepted": unknown})
    for template_id in sorted(set(template_ids)):
        SubscriptionQuota.objects.get_or_create(user_id=user.pk, template_id=template_id)
        SubscriptionQuota.objects.filter(user_id=user.pk, template_id=template_id).update(
            quota=F("quota") + 1
        )
    return quota_of(user_id=user.pk)


def quota_of(*, user_id: int) -> dict[str, int]:
    held = dict(
        SubscriptionQuota.objects.filter(user_id=user_id).values_list("template_id", "quota")
    )
    return {template_id: held.get(template_id, 0) for template_id in messages.known_template_ids()}


# --- Fan-out from the outbox ----------------------------------------------------------------


def outbox_fan_out(*, log_id: int, now: datetime) -> list[list[int]]:
    """Record the WeChat deliveries that one "draw" or "cancel" log row calls for.

    Deliveries are recorded for recipients holding quota for the template; everyone else hears
    through the inbox only. The log row is marked notified only after every delivery is
    committed, so a crash in between is redone by the next sweep, and the unique constraint
    makes the redo insert nothing twice. Returns the pending deliveries in batches to queue.
    """
    log = EventLog.objects.select_related("event").filter(pk=log_id).first()
    if log is None or log.action not in OUTBOX_ACTIONS or log.notified_at is not None:
        return []
    event = log.event
    if log.action == EventLog.Action.DRAW:
        _record(event.pk, Delivery.Kind.RESULT, _entrants(event.pk), now=now)
        _record(event.pk, Delivery.Kind.SUMMARY, [event.creator_id], now=now)
    else:
        _record(event.pk, Delivery.Kind.CANCEL, _entrants(event.pk), now=now)
    EventLog.objects.filter(pk=log_id, notified_at__isnull=True).update(notified_at=now)
    pending = Delivery.objects.filter(event_id=event.pk, state=State.PENDING).order_by("pk")
    return _batches(list(pending.values_list("pk", flat=True)))


def claims_fan_out(*, now: datetime) -> list[list[int]]:
    """Record the "shipped" WeChat message of each newly shipped claim (winners with quota).

    The claim's ``notified_at`` is the outbox mark, set only after the delivery is recorded; a
    rerun inserts nothing twice (one delivery per event, user and kind).
    """
    shipped = Claim.objects.filter(status=Claim.Status.SHIPPED)
    return _outbox_fan_out(shipped, {"entry__user_id": Delivery.Kind.SHIPPED}, now=now)


def substitutions_fan_out(*, now: datetime) -> list[list[int]]:
    """Record the WeChat messages of each new substitution: "you won" to the alternate the
    prize passed to, and "your win was revoked" to a winner the creator disqualified (one whose
    claim window passed unclaimed was reminded before it did).

    The substitution's ``notified_at`` is the outbox mark of both, set only after the
    deliveries are recorded; a rerun inserts nothing twice (one delivery per event, user and
    kind).
    """
    # A unit recorded unawarded has no replacement: nobody to tell of it. A pending one (v3,
    # waiting for its beacon round) is told of once its alternate is drawn, both messages then.
    rows = Substitution.objects.filter(pending=False).annotate(
        disqualified_user_id=Case(
            When(~Q(reason=Substitution.Reason.EXPIRED), then=F("replaced__user_id")),
            default=None,
        )
    )
    recipients = {
        "replacement__user_id": Delivery.Kind.OFFERED,
        "disqualified_user_id": Delivery.Kind.DISQUALIFIED,
    }
    return _outbox_fan_out(rows, recipients, now=now)


def _outbox_fan_out(
    rows: QuerySet, recipients: dict[str, str], *, now: datetime
) -> list[list[int]]:
    """For each row not yet notified, one delivery of each kind in ``recipients`` (user field
    -> kind) to the user that field names, then the row's ``notified_at`` mark; the batches of
    what this run recorded.

    Only what this run recorded: older pending ones are the due-sweep's (deliveries_take_due).
    """
    fields = list(recipients)
    fresh = list(
        rows.filter(notified_at__isnull=True).values_list("pk", "event_id", *fields)[:INSERT_CHUNK]
    )
    for _pk, event_id, *user_ids in fresh:
        for field, user_id in zip(fields, user_ids, strict=True):
            if user_id is not None:
                _record(event_id, recipients[field], [user_id], now=now)
    rows.filter(pk__in=[row[0] for row in fresh], notified_at__isnull=True).update(notified_at=now)
    pending = Delivery.objects.filter(
        kind__in=set(recipients.values()), state=State.PENDING, created_at=now
    )
    return _batches(list(pending.order_by("pk").values_list("pk", flat=True)))


def _entrants(event_id: int) -> QuerySet:
    return Entry.objects.filter(event_id=event_id).values("user_id")


def _record(event_id: int, kind: str, recipients: QuerySet | list[int], *, now: datetime) -> None:
    template_id = messages.template_id_for(kind)
    if not template_id:
        return
    holders = SubscriptionQuota.objects.filter(
        template_id=template_id, quota__gt=0, user_id__in=recipients
    )
    # Queued right after this, so not due for the sweep until that queueing has had its chance.
    due = _queued_until(now)
    rows = [
        Delivery(
            event_id=event_id,
            user_id=user_id,
            kind=kind,
            template_id=template_id,
            next_attempt_at=due,
            created_at=now,
        )
        for user_id in sorted(holders.values_list("user_id", flat=True))
    ]
    Delivery.objects.bulk_create(rows, batch_size=INSERT_CHUNK, ignore_conflicts=True)


# --- Sending --------------------------------------------------------------------------------


def deliveries_send(*, delivery_ids: Sequence[int], now: datetime) -> Counter:
    """Claim these deliveries, spend their quota, send them, record each outcome.

    Only pending or retrying deliveries are claimed; anything else (already sent, claimed by a
    duplicate task) is left alone. Returns how many ended in each state.
    """
    claim = uuid.uuid4().hex
    claimed = _move(
        Delivery.objects.filter(pk__in=list(delivery_ids)),
        to=State.SENDING,
        from_=(State.PENDING, State.RETRYING),
        by="deliveries_send",
        claim=claim,
        attempts=F("attempts") + 1,
        next_attempt_at=now + timedelta(seconds=_claim_seconds()),
    )
    if not claimed:
        return Counter()
    deliveries = list(
        Delivery.objects.filter(claim=claim, state=State.SENDING)
        .select_related("user", "event")
        .only(
            "pk",
            "event_id",
            "user_id",
            "kind",
            "template_id",
            "attempts",
            "quota_held",
            "user__openid",
            "event__public_id",
            "event__title",
            "event__draw_at",
            "event__drawn_at",
            "event__entrant_count",
            "event__cancel_reason",
        )
        .order_by("pk")
    )
    try:
        granted, skipped = _spend_quota(deliveries)
    except Exception:
        _release(claim)  # nothing was sent: hand them back untouched
        raise
    outcomes: dict[int, subscribe.SendResult] = {}
    try:
        for delivery, fields in _with_context(granted):
            outcomes[delivery.pk] = _send_one(delivery, fields)
    except Exception:
        # Stopped part-way (soft time limit, database gone): record what WeChat answered, hand
        # back the unsent ones as retrying (they keep their unit of quota), then fail the task.
        done = [delivery for delivery in granted if delivery.pk in outcomes]
        _record_outcomes(claim, done, skipped, outcomes, now=now)
        _unclaim_unsent(claim, now=now)
        raise
    return _record_outcomes(claim, granted, skipped, outcomes, now=now)


def _unclaim_unsent(claim: str, *, now: datetime) -> None:
    # The cut-short attempt counts; each keeps the unit it holds (quota_held).
    _move(
        Delivery.objects.filter(claim=claim),
        to=State.RETRYING,
        from_=(State.SENDING,),
        by="deliveries_send",
        claim="",
        next_attempt_at=now,
    )


def _spend_quota(deliveries: list[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
    """One unit for each delivery that holds none (``quota_held``), under the quota rows' locks;
    the others hold theirs already. Returns (to send, skipped for want of a unit)."""
    needing = [delivery for delivery in deliveries if not delivery.quota_held]
    if not needing:
        return deliveries, []
    with transaction.atomic():
        rows = SubscriptionQuota.objects.select_for_update().filter(
            user_id__in=sorted({delivery.user_id for delivery in needing}),
            template_id__in=sorted({delivery.template_id for delivery in needing}),
        )
        left = {(row.user_id, row.template_id): [row.pk, row.quota] for row in rows.order_by("pk")}
        skipped, spent = [], Counter()
        for delivery in needing:
            held = left.get((delivery.user_id, delivery.template_id))
            if held is None or held[1] < 1:
                skipped.append(delivery)
                continue
            held[1] -= 1
            spent[held[0]] += 1
        by_amount = defaultdict(list)
        for quota_pk, amount in spent.items():
            by_amount[amount].append(quota_pk)
        for amount, quota_pks in by_amount.items():
            SubscriptionQuota.objects.filter(pk__in=quota_pks).update(quota=F("quota") - amount)
        skipped_pks = {delivery.pk for delivery in skipped}
        holding = [delivery for delivery in needing if delivery.pk not in skipped_pks]
        Delivery.objects.filter(pk__in=[delivery.pk for delivery in holding]).update(
            quota_held=True
        )
    for delivery in holding:
        delivery.quota_held = True
    return [delivery for delivery in deliveries if delivery.pk not in skipped_pks], skipped


def _release(claim: str) -> None:
    """Nothing was sent: each back to where the claim found it (no unit was taken: the quota
    transaction rolled back)."""
    _move(
        Delivery.objects.filter(claim=claim, attempts=1),
        to=State.PENDING,
        from_=(State.SENDING,),
        by="deliveries_send",
        attempts=0,
        claim="",
    )
    _move(
        Delivery.objects.filter(claim=claim),
        to=State.RETRYING,
        from_=(State.SENDING,),
        by="deliveries_send",
        attempts=F("attempts") - 1,
        claim="",
    )


def _with_context(deliveries: list[Delivery]):
    """Each delivery with the fields of its message; a few queries per event in the batch."""
    by_event = defaultdict(list)
    for delivery in deliveries:
        by_event[delivery.event_id].append(delivery)
    for event_id, group in by_event.items():
        event = group[0].event
        drawn_at = event.drawn_at or event.draw_at
        prizes = _prize_names(
            event_id, [d.user_id for d in group if d.kind in ("result", "offered")]
        )
        summary = _summary(event) if any(d.kind == "summary" for d in group) else None
        canceled_at = _canceled_at(event_id) if any(d.kind == "cancel" for d in group) else None
        shipments = _shipments(event_id, [d.user_id for d in group if d.kind == "shipped"])
        revoked = _disqualifications(
            event_id, [d.user_id for d in group if d.kind == "disqualified"]
        )
        for delivery in group:
            if delivery.kind == Delivery.Kind.DISQUALIFIED:
                fields = messages.disqualified_fields(
                    title=event.title, **revoked[delivery.user_id]
                )
            elif delivery.kind == Delivery.Kind.SHIPPED:
                fields = messages.shipped_fields(title=event.title, **shipments[delivery.user_id])
            elif delivery.kind == Delivery.Kind.OFFERED:
                fields = messages.result_fields(
                    title=event.title,
                    drawn_at=delivery.created_at,
                    prize_name=prizes.get(delivery.user_id),
                )
            elif delivery.kind == Delivery.Kind.RESULT:
                fields = messages.result_fields(
                    title=event.title, drawn_at=drawn_at, prize_name=prizes.get(delivery.user_id)
                )
            elif delivery.kind == Delivery.Kind.SUMMARY:
                fields = messages.summary_fields(title=event.title, drawn_at=drawn_at, **summary)
            else:
                fields = messages.cancel_fields(
                    title=event.title, reason=event.cancel_reason, canceled_at=canceled_at
                )
            yield delivery, fields


def _shipments(event_id: int, user_ids: list[int]) -> dict[int, dict]:
    if not user_ids:
        return {}
    rows = Claim.objects.filter(event_id=event_id, entry__user_id__in=user_ids).values(
        "entry__user_id", "entry__prize__name", "carrier", "tracking_number"
    )
    return {
        row["entry__user_id"]: {
            "prize_name": row["entry__prize__name"],
            "carrier": row["carrier"],
            "tracking_number": row["tracking_number"],
        }
        for row in rows
    }


def _disqualifications(event_id: int, user_ids: list[int]) -> dict[int, dict]:
    """What the disqualified winners among ``user_ids`` lost, and why (their entry no longer
    holds the prize: the substitution row says which it was)."""
    if not user_ids:
        return {}
    rows = Substitution.objects.filter(event_id=event_id, replaced__user_id__in=user_ids).values(
        "replaced__user_id", "prize__name", "reason", "created_at"
    )
    return {
        row["replaced__user_id"]: {
            "prize_name": row["prize__name"],
            "reason": row["reason"],
            "disqualified_at": row["created_at"],
        }
        for row in rows
    }


def _prize_names(event_id: int, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    won = Entry.objects.filter(event_id=event_id, user_id__in=user_ids, prize__isnull=False)
    return dict(won.values_list("user_id", "prize__name"))


def _summary(event) -> dict:
    totals = Prize.objects.filter(event_id=event.pk).aggregate(
        quantity=Sum("quantity"), awarded=Sum("awarded")
    )
    awarded = totals["awarded"] or 0
    return {
        "entrants": event.entrant_count or 0,
        "winners": awarded,
        "unawarded": (totals["quantity"] or 0) - awarded,
    }


def _canceled_at(event_id: int) -> datetime:
    log = (
        EventLog.objects.filter(event_id=event_id, action=EventLog.Action.CANCEL)
        .order_by("pk")
        .first()
    )
    return log.created_at


def _send_one(delivery: Delivery, fields: dict) -> subscribe.SendResult:
    if not delivery.user.openid:
        return subscribe.SendResult("failed", None, "user has no openid")
    return subscribe.send_subscribe_message(
        openid=delivery.user.openid,
        template_id=delivery.template_id,
        data=messages.template_data(delivery.kind, fields),
        page=messages.page_for(delivery.event.public_id),
        miniprogram_state=settings.NOTIFY_MINIPROGRAM_STATE,
    )


def _record_outcomes(
    claim: str,
    granted: list[Delivery],
    skipped: list[Delivery],
    outcomes: dict[int, subscribe.SendResult],
    *,
    now: datetime,
) -> Counter:
    """A few UPDATEs per batch: one per (final state, errcode), one bulk for the retries."""
    final = defaultdict(list)  # (state, errcode, errmsg) -> deliveries
    retrying = []
    for delivery in skipped:
        final[(State.SKIPPED, None, "no quota left")].append(delivery)
    for delivery in granted:
        result = outcomes[delivery.pk]
        if result.outcome == "retry" and delivery.attempts < settings.NOTIFY_MAX_ATTEMPTS:
            retrying.append((delivery, result))
        elif result.outcome == "retry":
            message = f"gave up after {delivery.attempts} attempts: {result.errmsg}"
            final[(State.FAILED, result.errcode, message[:200])].append(delivery)
        else:
            state = {"sent": State.SENT, "refused": State.REFUSED, "failed": State.FAILED}
            errmsg = "" if result.outcome == "sent" else result.errmsg[:200]
            final[(state[result.outcome], result.errcode, errmsg)].append(delivery)
    counts = Counter()
    for (state, errcode, errmsg), group in final.items():
        counts[state] += len(group)
        # Not delivered (FAILED): the user's grant is unused, its unit goes back to them.
        gives_back = state == State.FAILED
        with transaction.atomic():
            _move(
                Delivery.objects.filter(pk__in=[d.pk for d in group], claim=claim),
                to=state,
                from_=(State.SENDING,),
                by="deliveries_send",
                errcode=errcode,
                errmsg=errmsg,
                finished_at=now,
                claim="",
                **({"quota_held": False} if gives_back else {}),
            )
            if state == State.REFUSED:
                _set_quota(group, to_zero=True)  # WeChat says none is left: believe it
            elif gives_back:
                _set_quota([d for d in group if d.quota_held], to_zero=False)
    for delivery, result in retrying:
        delivery.errcode, delivery.errmsg = result.errcode, result.errmsg[:200]
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempts))
    if retrying:
        counts[State.RETRYING] += len(retrying)
        # The details first, row by row; then the state, on this batch's claim only.
        Delivery.objects.bulk_update(
            [delivery for delivery, _ in retrying], ["errcode", "errmsg", "next_attempt_at"]
        )
        _move(
            Delivery.objects.filter(pk__in=[d.pk for d, _ in retrying], claim=claim),
            to=State.RETRYING,
            from_=(State.SENDING,),
            by="deliveries_send",
            claim="",
        )
    metrics.count_deliveries(counts)
    return counts


def _set_quota(deliveries: list[Delivery], *, to_zero: bool) -> None:
    users_by_template = defaultdict(set)
    for delivery in deliveries:
        users_by_template[delivery.template_id].add(delivery.user_id)
    for template_id, user_ids in users_by_template.items():
        rows = SubscriptionQuota.objects.filter(template_id=template_id, user_id__in=user_ids)
        rows.update(quota=0) if to_zero else rows.update(quota=F("quota") + 1)


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter: up to base × 2^(attempts-1) seconds."""
    ceiling = settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - spreading, not secrecy


# --- The sweep's moves ----------------------------------------------------------------------


def deliveries_take_due(*, now: datetime, limit: int) -> list[list[int]]:
    """Pending or retrying deliveries that are due, marked as queued, in batches to queue."""
    due = Delivery.objects.filter(
        state__in=[State.PENDING, State.RETRYING], next_attempt_at__lte=now
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    if ids:
        Delivery.objects.filter(pk__in=ids, state__in=[State.PENDING, State.RETRYING]).update(
            next_attempt_at=_queued_until(now)
        )
    return _batches(sorted(ids))


LOST_MID_SEND = "worker lost mid-send; outcome unknown"


def deliveries_expire_claims(*, now: datetime) -> int:
    """Claims whose batch died mid-send end as failed: WeChat may or may not have the message,
    and sending it again could deliver it twice."""
    # The unit stays with it (quota_held): WeChat may have used it. A staff resend takes none.
    lost = _move(
        Delivery.objects.filter(next_attempt_at__lte=now),
        to=State.FAILED,
        from_=(State.SENDING,),
        by="deliveries_expire_claims",
        errmsg=LOST_MID_SEND,
        finished_at=now,
        claim="",
    )
    if lost:
        logger.error("%d deliveries lost mid-send (worker died); marked failed", lost)
        metrics.count_deliveries({State.FAILED: lost})
    return lost


def deliveries_retry(*, delivery_ids: Sequence[int], now: datetime) -> list[list[int]]:
    """Staff: send failed deliveries again, through the same batches (still one per
    (event, user, kind): the same rows, claimed again). Returns the batches to queue.

    Each takes a unit of quota again only if its last one was given back (``quota_held``): one
    lost mid-send still holds the unit it took."""
    failed = Delivery.objects.filter(pk__in=list(delivery_ids), state=State.FAILED)
    ids = sorted(failed.values_list("pk", flat=True))
    _move(
        Delivery.objects.filter(pk__in=ids),
        to=State.PENDING,
        from_=(State.FAILED,),
        by="deliveries_retry",
        attempts=0,
        errcode=None,
        errmsg="",
        finished_at=None,
        next_attempt_at=_queued_until(now),
    )
    return _batches(ids)


# --- Inbox read state -----------------------------------------------------------------------


def inbox_mark_read(*, user: User, now: datetime, up_to: datetime | None = None) -> datetime:
    """Everything up to ``up_to`` (default: now; never later than now) is read. The read mark
    only moves forward, so a late or repeated request cannot mark read things unread."""
    mark = min(up_to or now, now)
    state, created = InboxState.objects.get_or_create(
        user_id=user.pk, defaults={"read_up_to": mark}
    )
    if not created:
        InboxState.objects.filter(user_id=user.pk, read_up_to__lt=mark).update(read_up_to=mark)
    return mark
