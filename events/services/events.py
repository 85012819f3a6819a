"""An event's own writes: create, edit and cancel it, with the checks of their input.

A cancel and the draw race on a conditional UPDATE of ``status`` and exactly one of them wins.
What an event publishes goes through WeChat's text check first; a text accepted while WeChat
did not answer is flagged (``text_unchecked``) and checked again later
(``events_recheck_texts``): this module is the flag's one owner.

Every function takes ``now`` so that callers (and tests) decide what time it is.
"""

import hashlib
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import Upload, User
from accounts.services import upload_attach, user_texts_check
from beacon import drand
from events import conditions as entry_conditions
from events import read_model, transitions
from events.models import (
    MAX_CLAIM_DAYS,
    MAX_CODE_LENGTH,
    MAX_PRIZE_NAME_LENGTH,
    MAX_PRIZE_QUANTITY,
    MAX_PRIZES,
    MAX_TOTAL_QUANTITY,
    Event,
    EventLog,
    Prize,
    RedeemCode,
)
from events.moderation import event_moderate
from events.services.refusals import (
    invalid_input,
    refuse_inactive,
    refuse_unless_creator,
    refuse_unless_open,
)
from lottery_site.durations import humanize_duration
from lottery_site.errors import ApplicationError
from wechat import security

logger = logging.getLogger(__name__)

SEED_BYTES = 32  # draws/allocator.py: the seed of sha256-fisher-yates-v1


class PrizeSpec(TypedDict):
    name: str
    quantity: int
    image: NotRequired[str]  # the id of the creator's upload with purpose "prize"
    codes: NotRequired[list[str]]  # ``code`` delivery only: one redeem code per unit


def event_create(
    *,
    creator: User,
    title: str,
    draw_at: datetime,
    prizes: Sequence[PrizeSpec],
    now: datetime,
    description: str = "",
    draw_mode: str = Event.DrawMode.TIME,
    target_participants: int | None = None,
    cover: str | None = None,
    visibility: str = Event.Visibility.UNLISTED,
    delivery: str = Event.Delivery.NONE,
    claim_days: int = 7,
    contact_note: str = "",
    conditions: dict | None = None,
) -> Event:
    """Create an INIT event with its prizes, its secret seed and the seed's public commitment.

    ``conditions`` (kind -> its input, events.conditions) are the entry conditions; binding a
    group decrypts the creator's own group data (``wechat_session_expired``,
    ``entry_group_data_invalid``).

    Title, description, prize names and the contact note go through WeChat's content check first
    (``check_event_texts``): ``content_risky`` (400) or ``wechat_unavailable`` (503).

    Raises ``account_disabled`` for a deactivated creator and ``invalid_input`` (with the field)
    for a draw time outside [now + MIN_DRAW_LEAD, now + MAX_HORIZON], a bad prize list or draw
    mode; ``upload_unusable`` when ``cover`` or a prize's ``image`` is not the creator's own
    upload for that purpose.
    """
    refuse_inactive(creator)
    _check_draw_at(draw_at, now=now)
    _check_prizes(prizes)
    _check_draw_mode(draw_mode, target_participants)
    _check_visibility(visibility)
    checked = check_event_texts(
        creator,
        title=title,
        description=description,
        prizes=[p["name"] for p in prizes],
        contact_note=contact_note,
        question=_question_text(conditions),
    )
    _check_delivery(delivery, claim_days, prizes)
    record = entry_conditions.build(current=None, changes=conditions or {}, creator=creator)
    # The seed is drawn now and only its SHA-256 published (docs/fairness.md): nobody, the
    # server included, can choose it after seeing who joined.
    seed = secrets.token_bytes(SEED_BYTES)
    with transaction.atomic():
        event = Event.objects.create(
            creator_id=creator.pk,
            title=title,
            description=description,
            draw_at=draw_at,
            lock_at=Event.scheduled_lock_at(draw_at),
            draw_mode=draw_mode,
            target_participants=target_participants,
            delivery=delivery,
            claim_days=claim_days,
            contact_note=contact_note,
            seed=seed,
            seed_commitment=hashlib.sha256(seed).hexdigest(),
            created_at=now,
            cover=_attached_cover(creator, cover, now=now),
            visibility=visibility,
            text_unchecked=not checked,
            entry_conditions=record,
            **_fairness_at_creation(),
        )
        _create_prizes(event, prizes, creator=creator, now=now)
        transitions.log(
            event.pk,
            actor=creator,
            action=EventLog.Action.CREATE,
            to_status=Event.Status.INIT,
            now=now,
        )
        public = visibility == Event.Visibility.PUBLIC
        read_model.event_changed(event_id=event.pk, what="created_public" if public else "created")
    return event


def _fairness_at_creation() -> dict:
    """What the draw's rules fix at creation, in public (docs/fairness.md, v3).

    The beacon chain, or that the event is drawn without a beacon (none configured now: it
    says so before anyone joins, and never waits for one); the reveal gap; how many times a
    prize unit may pass to an alternate. The round itself is named at the lock (the first at
    or after the actual lock plus the gap), when nobody can know it yet.
    """
    chain = drand.configured_chain()
    return {
        "fairness_algorithm": "sha256-fisher-yates-v3",
        "without_beacon": chain is None,
        "beacon_round": None,
        "beacon_chain": None if chain is None else chain.as_json(),
        "reveal_gap_seconds": settings.LOTTERY_REVEAL_GAP_SECONDS,
        "max_substitutions": settings.LOTTERY_MAX_SUBSTITUTIONS,
    }


def event_update(
    *,
    event: Event,
    actor: User,
    now: datetime,
    title: str | None = None,
    description: str | None = None,
    draw_at: datetime | None = None,
    prizes: Sequence[PrizeSpec] | None = None,
    cover: str | None = None,
    visibility: str | None = None,
    delivery: str | None = None,
    claim_days: int | None = None,
    contact_note: str | None = None,
    conditions: dict | None = None,
) -> Event:
    """The creator edits an INIT event before its lock time.

    New text goes through WeChat's content check first, outside the transaction.

    Title, description and cover ("" removes it) may change until the lock; the draw time, the
    prizes (with their pictures) and how they are delivered (delivery, claim window, contact
    note, redeem codes) only while nobody has joined (``event_has_entrants``). The entry
    conditions (``conditions``: kind -> its new input, None removes it; kinds not named stay)
    only until the first join, even one withdrawn since (``conditions_frozen``): each change
    moves ``rules_version``, so a join checked under the old ones is refused by its gate and
    checks again. The event row is locked while checking, so a join cannot slip in between the
    check and the write.
    """
    refuse_unless_creator(event, actor)
    if draw_at is not None:
        _check_draw_at(draw_at, now=now)
    if prizes is not None:
        _check_prizes(prizes)
    if visibility is not None:
        _check_visibility(visibility)
    checked = check_event_texts(
        actor,
        title=title or "",
        description=description or "",
        prizes=[p["name"] for p in prizes or ()],
        contact_note=contact_note or "",
        question=_question_text(conditions),
    )
    with transaction.atomic():
        current = Event.objects.select_for_update().get(pk=event.pk)
        refuse_unless_open(current, now=now)
        changes: dict = {}
        if not checked:
            changes["text_unchecked"] = True
        if visibility is not None:
            changes["visibility"] = visibility
        if title is not None:
            changes["title"] = title
        if description is not None:
            changes["description"] = description
        if cover is not None:
            changes["cover"] = _attached_cover(actor, cover, now=now)
        claim_changes = {
            name: value
            for name, value in (
                ("delivery", delivery),
                ("claim_days", claim_days),
                ("contact_note", contact_note),
            )
            if value is not None
        }
        if draw_at is not None or prizes is not None or claim_changes:
            if current.participant_count > 0:
                raise ApplicationError("event_has_entrants")
            _check_delivery(
                claim_changes.get("delivery", current.delivery),
                claim_changes.get("claim_days", current.claim_days),
                prizes if prizes is not None else _stored_prizes(current),
            )
            changes.update(claim_changes)
            if draw_at is not None:
                lock_at = Event.scheduled_lock_at(draw_at)
                changes.update(draw_at=draw_at, lock_at=lock_at)
            if prizes is not None:
                Prize.objects.filter(event_id=event.pk).delete()
                _create_prizes(current, prizes, creator=actor, now=now)
        if conditions is not None:
            if current.entry_seq > 0:  # somebody joined once: the rules they met stand
                raise ApplicationError("conditions_frozen")
            changes["entry_conditions"] = entry_conditions.build(
                current=current.entry_conditions, changes=conditions, creator=actor
            )
            changes["rules_version"] = F("rules_version") + 1
        edited = sorted(
            {*changes, *(["prizes"] if prizes is not None else [])}
            - {"lock_at", "text_unchecked", "rules_version"}
        )
        if edited:
            Event.objects.filter(pk=event.pk).update(**changes)
            transitions.log(
                event.pk,
                actor=actor,
                action=EventLog.Action.UPDATE,
                now=now,
                reason=", ".join(edited),
            )
            read_model.event_changed(event_id=event.pk, what="edited")
    return Event.objects.get(pk=event.pk)


def event_cancel(
    *, event: Event, actor: User, now: datetime, reason: str = "", by_staff: bool = False
) -> Event:
    """Cancel an event: at once before its lock time; after it, only once the draw's round is out.

    Before ``lock_at``: INIT -> CANCELED at once, by the creator or staff; the seed is revealed.
    From ``lock_at`` on, the entrant list is final and the draw's outcome is fixed by the seed
    and the beacon round named at the lock, so a cancel must not be a way to choose between
    outcomes: only staff may cancel, only with a public reason (``invalid_input`` without), and
    the cancel is only recorded here (``cancel_requested_at``, the reason, a log row). The draw's
    own step (``draws.services.event_draw``) settles it once the named round is out: OPENING ->
    CANCELED, publishing the seed, the round and the winners the draw would have had. A second
    request changes nothing. A cancel racing the draw is decided under the event's row lock:
    the loser gets ``event_drawn`` (or ``event_canceled``), never both outcomes.
    """
    if not by_staff:
        refuse_unless_creator(event, actor)
        # Entrants read the reason; a staff reason is ours and not checked. A reason accepted
        # unchecked (WeChat silent) is not re-checked: the event is over anyway.
        user_texts_check(texts={"reason": reason}, author=actor, scene=security.SCENE_COMMENT)
    with transaction.atomic():
        current = Event.objects.select_for_update().filter(pk=event.pk).first()
        if current is None:
            raise ApplicationError("event_not_found")
        if by_staff:
            transitions.refuse_unless_status(current, {Event.Status.INIT, Event.Status.OPENING})
        else:
            refuse_unless_open(current, now=now)
        if current.status == Event.Status.OPENING or now >= current.lock_at:
            _cancel_after_lock(current, actor=actor, now=now, reason=reason)
            return Event.objects.get(pk=event.pk)
        Event.objects.filter(pk=event.pk, status=current.status).update(
            status=Event.Status.CANCELED, cancel_reason=reason[:200], canceled_at=now
        )
        transitions.log(
            event.pk,
            actor=actor,
            actor_kind=EventLog.ActorKind.STAFF if by_staff else EventLog.ActorKind.USER,
            action=EventLog.Action.CANCEL,
            from_status=current.status,
            to_status=Event.Status.CANCELED,
            reason=reason,
            now=now,
        )
        read_model.event_changed(event_id=event.pk, what="live")
    logger.info("event %s canceled by %s", event.public_id, "staff" if by_staff else "creator")
    return Event.objects.get(pk=event.pk)


def _cancel_after_lock(event: Event, *, actor: User, now: datetime, reason: str) -> None:
    """Record a staff cancel at or after the lock (under the row lock); the draw settles it."""
    if not reason.strip():
        raise ApplicationError(
            "invalid_input",
            data={"reason": [_("After the lock an event is canceled only with a public reason.")]},
        )
    if event.cancel_requested_at is not None:
        return  # asked already: the first request stands
    Event.objects.filter(pk=event.pk, status=event.status, cancel_requested_at__isnull=True).update(
        cancel_requested_at=now, cancel_reason=reason[:200]
    )
    transitions.log(
        event.pk,
        actor=actor,
        actor_kind=EventLog.ActorKind.STAFF,
        action=EventLog.Action.UPDATE,
        reason=f"cancel asked after the lock: {reason}",
        now=now,
    )
    read_model.event_changed(event_id=event.pk, what="live")
    logger.info("event %s: cancel asked after the lock, settled at its round", event.public_id)


# --- content security -------------------------------------------------------------------


def check_event_texts(
    author: User,
    *,
    title: str = "",
    description: str = "",
    prizes: Sequence[str] = (),
    contact_note: str = "",
    question: str = "",
) -> bool:
    """WeChat's content check of what an event publishes (scene "forum": a public post),
    the entry question and its choices included.

    The contact note is read by the winners only, but it is the creator's text shown to
    others all the same (and the likeliest place for a scam's contact), so it is checked too.

    Raises ``content_risky`` naming the fields; False when accepted unchecked (see
    ``accounts.services.user_texts_check``). Call it before opening a transaction.
    """
    texts = {
        "title": title,
        "description": description,
        "prizes": "\n".join(prizes),
        "contact_note": contact_note,
        "conditions": question,
    }
    return user_texts_check(texts=texts, author=author, scene=security.SCENE_FORUM)


def _question_text(conditions: dict | None) -> str:
    """The entry question and its choices, as entrants will read them (checked like the rest)."""
    question = (conditions or {}).get("question")
    if not question:
        return ""
    return "\n".join([question["text"], *question["choices"]])


def events_recheck_texts(*, now: datetime, limit: int = 100) -> int:
    """Check again the events whose text was accepted while WeChat did not answer; a risky one
    goes to review (off the square, creator told). Returns how many were settled."""
    settled = 0
    for event in Event.objects.select_related("creator").filter(text_unchecked=True)[:limit]:
        prizes = list(Prize.objects.filter(event_id=event.pk).values_list("name", flat=True))
        texts = {
            "title": event.title,
            "description": event.description,
            "prizes": "\n".join(prizes),
            "contact_note": event.contact_note,
            "conditions": _question_text(event.entry_conditions),
        }
        risky = False
        try:
            for text in texts.values():
                if (
                    text.strip()
                    and security.msg_sec_check(
                        text, openid=event.creator.openid or "", scene=security.SCENE_FORUM
                    )
                    == "risky"
                ):
                    risky = True
                    break
        except ApplicationError:
            break  # still no answer: the next run tries again
        if risky:
            event_moderate(
                event=event,
                actor=None,
                to=Event.Moderation.REVIEW,
                now=now,
                reason="text rejected by WeChat",
            )
        # An edit since our read brought new text that is its own business: leave it flagged.
        if Event.objects.filter(
            pk=event.pk, title=event.title, description=event.description
        ).update(text_unchecked=False):
            settled += 1
            # Checked now: on the square (if public and not under review).
            read_model.event_changed(event_id=event.pk, what="listing")
    return settled


# --- helpers --------------------------------------------------------------------------------


def _create_prizes(
    event: Event, prizes: Sequence[PrizeSpec], *, creator: User, now: datetime
) -> None:
    rows = Prize.objects.bulk_create(
        Prize(
            event=event,
            name=prize["name"],
            quantity=prize["quantity"],
            position=position,
            image=_attached(creator, prize.get("image"), "prize", now=now, field="prizes"),
        )
        for position, prize in enumerate(prizes)
    )
    if not any(prize.get("codes") for prize in prizes):
        return
    # bulk_create sets primary keys on MySQL/SQLite only for the last batch; read them back.
    by_position = (
        dict(Prize.objects.filter(event_id=event.pk).values_list("position", "pk"))
        if any(row.pk is None for row in rows)
        else {row.position: row.pk for row in rows}
    )
    RedeemCode.objects.bulk_create(
        RedeemCode(prize_id=by_position[position], position=index, code=code)
        for position, prize in enumerate(prizes)
        for index, code in enumerate(prize.get("codes") or [])
    )


def _stored_prizes(event: Event) -> list[PrizeSpec]:
    """The event's prizes as specs, with their redeem codes, for re-checking the delivery."""
    codes: dict[int, list[str]] = {}
    for prize_id, code in (
        RedeemCode.objects.filter(prize__event_id=event.pk)
        .order_by("prize_id", "position")
        .values_list("prize_id", "code")
    ):
        codes.setdefault(prize_id, []).append(code)
    return [
        {"name": prize.name, "quantity": prize.quantity, "codes": codes.get(prize.pk, [])}
        for prize in Prize.objects.filter(event_id=event.pk).order_by("position")
    ]


def _attached_cover(creator: User, upload_id: str | None, *, now: datetime) -> Upload | None:
    return _attached(creator, upload_id, "cover", now=now, field="cover")


def _attached(
    creator: User, upload_id: str | None, purpose: str, *, now: datetime, field: str
) -> Upload | None:
    """The creator's own upload for ``purpose``, now in use; None for none (or "")."""
    if not upload_id:
        return None
    return upload_attach(owner=creator, upload_id=upload_id, purpose=purpose, now=now, field=field)


# --- input checks ---------------------------------------------------------------------------


def _check_draw_at(draw_at: datetime, *, now: datetime) -> None:
    if draw_at.tzinfo is None:
        raise invalid_input("draw_at", _("The time must include a UTC offset."))
    earliest = now + timedelta(seconds=settings.LOTTERY_MIN_DRAW_LEAD_SECONDS)
    latest = now + timedelta(days=settings.LOTTERY_MAX_HORIZON_DAYS)
    if draw_at < earliest:
        lead = humanize_duration(settings.LOTTERY_MIN_DRAW_LEAD_SECONDS)
        raise invalid_input(
            "draw_at", _("The draw time must be at least %(lead)s from now.") % {"lead": lead}
        )
    if draw_at > latest:
        horizon = humanize_duration(settings.LOTTERY_MAX_HORIZON_DAYS * 86_400)
        raise invalid_input(
            "draw_at",
            _("The draw time must be at most %(horizon)s from now.") % {"horizon": horizon},
        )


def _check_prizes(prizes: Sequence[PrizeSpec]) -> None:
    if not 1 <= len(prizes) <= MAX_PRIZES:
        raise invalid_input("prizes", _("Give 1 to %(max)d prizes.") % {"max": MAX_PRIZES})
    for prize in prizes:
        if not 1 <= len(prize["name"].strip()) <= MAX_PRIZE_NAME_LENGTH:
            raise invalid_input(
                "prizes",
                _("A prize name needs 1 to %(max)d characters.") % {"max": MAX_PRIZE_NAME_LENGTH},
            )
        if not 1 <= prize["quantity"] <= MAX_PRIZE_QUANTITY:
            raise invalid_input(
                "prizes",
                _("Each prize's quantity must be 1 to %(max)d.") % {"max": MAX_PRIZE_QUANTITY},
            )
    if sum(prize["quantity"] for prize in prizes) > MAX_TOTAL_QUANTITY:
        raise invalid_input(
            "prizes", _("At most %(max)d prizes in all.") % {"max": MAX_TOTAL_QUANTITY}
        )


def _check_visibility(visibility: str) -> None:
    if visibility not in Event.Visibility.values:
        raise invalid_input("visibility", "可见范围只能是 unlisted 或 public")


def _check_delivery(delivery: str, claim_days: int, prizes: Sequence[PrizeSpec]) -> None:
    """A known delivery, a 1-30 day window, and for ``code`` one code per prize unit."""
    if delivery not in Event.Delivery.values:
        raise invalid_input("delivery", _("The delivery must be none, shipping, contact or code."))
    if not 1 <= claim_days <= MAX_CLAIM_DAYS:
        raise invalid_input(
            "claim_days", _("The claim window must be 1 to %(max)d days.") % {"max": MAX_CLAIM_DAYS}
        )
    for prize in prizes:
        codes = prize.get("codes") or []
        if delivery != Event.Delivery.CODE and codes:
            raise invalid_input("prizes", _("Only a code-delivery event takes redeem codes."))
        if delivery == Event.Delivery.CODE and len(codes) != prize["quantity"]:
            raise invalid_input("prizes", _("Give exactly one redeem code per prize unit."))
        if any(not 1 <= len(code.strip()) <= MAX_CODE_LENGTH for code in codes):
            raise invalid_input(
                "prizes",
                _("A redeem code needs 1 to %(max)d characters.") % {"max": MAX_CODE_LENGTH},
            )


def _check_draw_mode(draw_mode: str, target_participants: int | None) -> None:
    if draw_mode not in Event.DrawMode.values:
        raise invalid_input("draw_mode", _("The draw mode must be time, count or manual."))
    if draw_mode == Event.DrawMode.COUNT and not target_participants:
        raise invalid_input(
            "target_participants", _("A count-mode event needs a target number of entrants.")
        )
    if draw_mode != Event.DrawMode.COUNT and target_participants is not None:
        raise invalid_input(
            "target_participants",
            _("Only a count-mode event can have a target number of entrants."),
        )
