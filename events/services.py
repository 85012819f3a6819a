"""The only write path for lottery events, their prizes and their entries.

Every rule that decides who may do what is kept by the database, not by a read-then-write in
Python: a join is admitted by a conditional UPDATE of the event row (status INIT and before the
lock time), which also takes the row lock that the locking transaction needs, so no entry can
commit after the entrant list is frozen; one entry per user is a unique constraint; a cancel and
the draw race on a conditional UPDATE of ``status`` and exactly one of them wins.

Every function takes ``now`` so that callers (and tests) decide what time it is.
"""

import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from accounts.models import Upload, User
from accounts.services import upload_attach, upload_create, user_texts_check
from events import conditions as entry_conditions
from events import fraud, join_sql, read_model, transitions
from events.models import (
    MAX_CLAIM_DAYS,
    MAX_CODE_LENGTH,
    MAX_PRIZE_NAME_LENGTH,
    MAX_PRIZE_QUANTITY,
    MAX_PRIZES,
    MAX_TOTAL_QUANTITY,
    Entry,
    Event,
    EventLog,
    Exclusion,
    Prize,
    RedeemCode,
    Report,
    ShareCode,
)
from events.moderation import event_moderate
from events.read_model import EntryChange, EventRef
from lottery_site import drand, metrics
from lottery_site.durations import humanize_duration
from lottery_site.errors import ApplicationError
from wechat import security
from wechat.codes import get_unlimited_code

logger = logging.getLogger(__name__)

SEED_BYTES = 32  # draws/allocator.py: the seed of sha256-fisher-yates-v1


class PrizeSpec(TypedDict):
    name: str
    quantity: int
    image: NotRequired[str]  # the id of the creator's upload with purpose "prize"
    codes: NotRequired[list[str]]  # ``code`` delivery only: one redeem code per unit


# --- events ---------------------------------------------------------------------------------


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
    _refuse_inactive(creator)
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
    _refuse_unless_creator(event, actor)
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
        _refuse_unless_open(current, now=now)
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
        _refuse_unless_creator(event, actor)
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
            _refuse_unless_open(current, now=now)
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


# --- content security and moderation -------------------------------------------------------


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


def event_report(*, event: Event, user: User, reason: str, now: datetime) -> tuple[Report, bool]:
    """``user`` reports ``event`` to staff; returns (report, created). A second report by the
    same user changes nothing (the unique constraint decides, also between two racing ones)."""
    if reason not in Report.Reason.values:
        raise _invalid("reason", "举报理由无效")
    try:
        with transaction.atomic():
            return Report.objects.create(
                event_id=event.pk, user_id=user.pk, reason=reason, created_at=now
            ), True
    except IntegrityError:
        return Report.objects.get(event_id=event.pk, user_id=user.pk), False


def events_flag_for_picture(*, upload: Upload, now: datetime) -> int:
    """The events showing ``upload`` (cover or prize picture), WeChat having rejected it: off the
    square pending review, and their public part re-rendered (the placeholder shows at once)."""
    event_pks = set(Event.objects.filter(cover_id=upload.pk).values_list("pk", flat=True))
    event_pks |= set(Prize.objects.filter(image_id=upload.pk).values_list("event_id", flat=True))
    flagged = 0
    for event in Event.objects.filter(pk__in=event_pks):
        read_model.event_changed(event_id=event.pk, what="picture")
        flagged += event_moderate(
            event=event,
            actor=None,
            to=Event.Moderation.REVIEW,
            now=now,
            reason="picture rejected by WeChat",
        )
    return flagged


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


# --- sharing --------------------------------------------------------------------------------

# Longer than a getUnlimited call can take (connect + read timeouts) plus storing the picture:
# a claim older than this was left by a process that died.
SHARE_CLAIM_SECONDS = 30
# How long a request waits for another one that is making the code.
SHARE_WAIT_SECONDS = 5.0


def share_path(event: Event) -> str:
    """The page the share card opens: WECHAT_MESSAGE_PAGE, as for subscribe messages."""
    return settings.NOTIFY_PAGE.format(event_id=event.public_id)


def event_share_image(*, event: Event, now: datetime) -> Upload:
    """The event's mini-program code: made with WeChat once, then always the stored one.

    Concurrent first requests: the one that inserts the ShareCode row asks WeChat; the others
    wait up to SHARE_WAIT_SECONDS for its picture, then answer ``wechat_unavailable`` (retry).
    A WeChat failure releases the claim, so the next request tries again at once. Raises
    ``wechat_unavailable`` / ``wechat_bad_gateway``.
    """
    stored = _stored_share_image(event)
    if stored is not None:
        return stored
    claim = _claim_share_code(event, now=now)
    if claim is None:
        return _wait_for_share_image(event)
    try:
        png = get_unlimited_code(scene=event.public_id, page=share_path(event).split("?", 1)[0])
        image = _store_share_image(event, png, now=now)
    except BaseException:
        ShareCode.objects.filter(event_id=event.pk, claim=claim, image__isnull=True).delete()
        raise
    if not ShareCode.objects.filter(event_id=event.pk, claim=claim).update(image=image):
        # Our claim was taken over as stale meanwhile and the other holder stored its code.
        Upload.objects.filter(pk=image.pk).delete()
        return _wait_for_share_image(event)
    return image


def _stored_share_image(event: Event) -> Upload | None:
    code = ShareCode.objects.select_related("image").filter(event_id=event.pk).first()
    return code.image if code is not None else None


def _claim_share_code(event: Event, *, now: datetime) -> str | None:
    """A claim token if this request is to ask WeChat; None if another one holds the claim."""
    claim = uuid.uuid4().hex
    try:
        with transaction.atomic():
            ShareCode.objects.create(event_id=event.pk, claim=claim, claimed_at=now)
        return claim
    except IntegrityError:
        stale = now - timedelta(seconds=SHARE_CLAIM_SECONDS)
        taken = ShareCode.objects.filter(
            event_id=event.pk, image__isnull=True, claimed_at__lt=stale
        ).update(claim=claim, claimed_at=now)
        return claim if taken else None


def _store_share_image(event: Event, png: bytes, *, now: datetime) -> Upload:
    try:
        return upload_create(
            owner=event.creator, purpose="share_code", data=png, now=now, attached=True
        )
    except ApplicationError:  # WeChat's answer is not a picture we can read
        logger.error("getwxacodeunlimit answered something that is not an image")
        raise ApplicationError("wechat_bad_gateway") from None


def _wait_for_share_image(event: Event) -> Upload:
    deadline = time.monotonic() + SHARE_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.1)
        stored = _stored_share_image(event)
        if stored is not None:
            return stored
    raise ApplicationError("wechat_unavailable")


# --- entries --------------------------------------------------------------------------------


def entry_join(
    *,
    event: Event | EventRef,
    user: User,
    now: datetime,
    answers: entry_conditions.Answers | None = None,
    client_ip: str = "",
) -> tuple[Entry, bool]:
    """Enter ``user`` in ``event``; returns (entry, created). Joining twice changes nothing.

    ``answers``: what the entrant sent for the event's entry conditions (events.conditions);
    ``client_ip``: where the join came from (kept only as a keyed hash, events.fraud).

    Raises ApplicationError (account_disabled, event_not_found, event_locked, event_drawn,
    event_canceled, entry_excluded, and each unmet condition's own error). Counted in
    ``lottery_joins_total`` by result and refusal reason.
    """
    try:
        entry, created = _join(
            event=event, user=user, now=now, answers=answers, client_ip=client_ip
        )
    except ApplicationError as exc:
        metrics.JOINS.labels("refused", exc.name).inc()
        raise
    (metrics.JOINS_ACCEPTED if created else metrics.JOINS_REPEATED).inc()
    return entry, created


def _join(
    *,
    event: Event | EventRef,
    user: User,
    now: datetime,
    answers: entry_conditions.Answers | None,
    client_ip: str,
) -> tuple[Entry, bool]:
    """The join itself.

    Admission is one conditional UPDATE of the event row (INIT, before the lock time, below a
    count target, the entrant not excluded, the conditions at the version checked) that also
    counts the entrant: it holds the row lock until commit, and the lock transition updates
    that same row, so once an event is OPENING no further entry can commit. The time rule holds
    even when the sweeper is late. In count mode the join that reaches the target also sets
    ``lock_at`` to now: entries are closed from that instant (the count gate refuses further
    joins, the time gate withdrawals), and the sweeper locks the event like any other whose
    lock time has passed (``draws.services.event_lock``).

    An event with entry conditions checks them first, outside any transaction (the risk gate
    asks WeChat). An event without any pays nothing for them: no query, no Redis call.
    """
    _refuse_inactive(user)
    ref = event if isinstance(event, EventRef) else read_model.ref_of(event)
    network = fraud.network_key(ref.pk, client_ip) if client_ip else ""
    for _checked in range(2):  # once more if the conditions changed since they were read
        risk_rank = None
        if ref.conditions is not None:
            try:
                risk_rank = _meet_conditions(
                    ref, user=user, answers=answers, client_ip=client_ip, now=now
                )
            except _AlreadyIn as already:
                return already.entry, False
            except _StaleRules:
                ref = read_model.event_ref_again(public_id=ref.public_id)
                continue
        try:
            entry = join_sql.admit_and_insert(
                ref.pk,
                user=user,
                now=now,
                rules_version=ref.rules_version,
                network=network,
                risk_rank=risk_rank,
            )
        except IntegrityError:
            entry = None
        if entry is not None:
            break
        existing = Entry.objects.filter(event_id=ref.pk, user_id=user.pk).first()
        if existing is not None:
            return existing, False
        current = Event.objects.filter(pk=ref.pk).first()
        if current is None:
            raise ApplicationError("event_not_found") from None
        _refuse_unless_open(current, now=now)
        if Exclusion.objects.filter(event_id=ref.pk, user_key=user.public_id).exists():
            raise ApplicationError("entry_excluded")
        if current.rules_version == ref.rules_version:
            raise ApplicationError("event_locked") from None  # the count target was just reached
        ref = read_model.event_ref_again(public_id=current.public_id)
    else:
        raise ApplicationError("event_locked")  # conditions changing under every try
    change = EntryChange(user.pk, entry.seq, joined_at=entry.created_at, joined=True)
    read_model.event_changed(event_id=ref.pk, what="entry", entry=change)
    if ref.draw_mode == Event.DrawMode.COUNT and _target_reached(ref.pk, now=now):
        # After the join's own transaction: its lock time moved (entries closed).
        read_model.event_changed(event_id=ref.pk, what="live")
    return entry, True


def _meet_conditions(
    ref: EventRef,
    *,
    user: User,
    answers: entry_conditions.Answers | None,
    client_ip: str,
    now: datetime,
) -> int | None:
    """The event's entry conditions checked (events.conditions); the risk rank to store.

    A refusal is only for someone who could join otherwise, under the conditions as they are:
    a repeated join of an entrant returns their entry (``_AlreadyIn``), a closed event says so
    before any condition, and conditions changed since ``ref`` was read are read again
    (``_StaleRules``).
    """
    try:
        return entry_conditions.check(
            ref.conditions,
            event_pk=ref.pk,
            event_created_at=ref.created_at,
            user=user,
            answers=answers or entry_conditions.Answers(),
            client_ip=client_ip,
            now=now,
        )
    except ApplicationError:
        existing = Entry.objects.filter(event_id=ref.pk, user_id=user.pk).first()
        if existing is not None:
            raise _AlreadyIn(existing) from None
        current = Event.objects.filter(pk=ref.pk).first()
        if current is not None:
            _refuse_unless_open(current, now=now)
            if current.rules_version != ref.rules_version:
                raise _StaleRules from None
        raise


class _AlreadyIn(Exception):  # noqa: N818 - not an error: the answer to a repeated join
    def __init__(self, entry: Entry) -> None:
        self.entry = entry


class _StaleRules(Exception):  # noqa: N818 - not an error: read the conditions again
    pass


def entry_leave(*, event: Event | EventRef, user: User, now: datetime) -> bool:
    """Withdraw ``user`` from ``event``; False (a no-op) if they had not joined.

    Same gate as joining: INIT and before the lock time, under the event's row lock; and, in
    count mode, below the target: the list is final once the target is reached, so a
    withdrawal cannot reopen a place for a join that comes after (even one stamped before the
    reaching join set ``lock_at``).
    """
    joined_at = (
        Entry.objects.filter(event_id=event.pk, user_id=user.pk)
        .values_list("created_at", flat=True)
        .first()
    )
    if joined_at is None:
        return False
    with transaction.atomic():
        current = (
            Event.objects.select_for_update()
            .filter(pk=event.pk, status=Event.Status.INIT, lock_at__gt=now)
            .filter(
                Q(target_participants__isnull=True)
                | Q(participant_count__lt=F("target_participants"))
            )
            .first()
        )
        if current is None:
            _refuse_unless_open(Event.objects.get(pk=event.pk), now=now)
            raise ApplicationError("event_locked")  # the count target is reached
        deleted, _by_model = Entry.objects.filter(event_id=event.pk, user_id=user.pk).delete()
        if deleted:
            Event.objects.filter(pk=event.pk).update(
                participant_count=F("participant_count") - 1, entry_seq=F("entry_seq") + 1
            )
            change = EntryChange(user.pk, current.entry_seq + 1, joined_at=joined_at, joined=False)
            read_model.event_changed(event_id=event.pk, what="entry", entry=change)
    return bool(deleted)


def entries_forget_canceled(*, user: User) -> int:
    """Delete ``user``'s entries of events canceled before their lock (their account is being
    deleted, ``events.personal_data``): no entrant list of those events was published, so
    nothing needs them. Returns how many; harmless when run again."""
    forgotten = 0
    canceled = Entry.objects.filter(
        user_id=user.pk, event__status=Event.Status.CANCELED, event__entrants_digest=""
    ).values_list("pk", "event_id")
    for entry_pk, event_pk in canceled:
        with transaction.atomic():
            if Entry.objects.filter(pk=entry_pk).delete()[0]:
                Event.objects.filter(pk=event_pk, participant_count__gt=0).update(
                    participant_count=F("participant_count") - 1
                )
                read_model.event_changed(event_id=event_pk, what="forgotten")
                forgotten += 1
    return forgotten


def entries_forget_fraud_signals(*, user: User) -> int:
    """Blank the network keys and risk ranks of what stays of ``user`` (their account is being
    deleted, ``events.personal_data``): entries of locked events and exclusions. They served
    the creator's flags (events.fraud); the proof needs neither. Returns how many rows;
    harmless when run again."""
    entries = Entry.objects.filter(user_id=user.pk).exclude(network="", risk_rank=None)
    exclusions = Exclusion.objects.filter(user_id=user.pk).exclude(network="")
    with transaction.atomic():
        touched = {
            *entries.values_list("event_id", flat=True),
            *exclusions.values_list("event_id", flat=True),
        }
        forgotten = entries.update(network="", risk_rank=None) + exclusions.update(network="")
        for event_id in sorted(touched):
            read_model.event_changed(event_id=event_id, what="signals")
    return forgotten


# --- exclusions -----------------------------------------------------------------------------


def entry_exclude(
    *, event: Event, actor: User, entrant_key: str, reason: str, now: datetime
) -> tuple[Exclusion, bool]:
    """The creator takes a flagged entrant out of ``event`` before its lock, for a public reason.

    Only an entrant the anti-fraud signals flag (events.fraud) can be excluded, so a creator
    cannot quietly pick who stays in: every exclusion has a flag and one of
    ``Exclusion.CREATOR_REASONS``, and the proof counts them per reason. Returns (exclusion,
    created); excluding again answers the first. Raises ``not_owner``, ``invalid_input`` (the
    reason), ``entrant_not_flagged``, ``event_locked`` / ``event_drawn`` / ``event_canceled``.
    """
    _refuse_unless_creator(event, actor)
    if reason not in Exclusion.CREATOR_REASONS:
        raise _invalid("reason", _("Not a reason an entrant can be excluded for."))
    done = Exclusion.objects.filter(event_id=event.pk, user_key=entrant_key).first()
    if done is not None:
        return done, False
    flags = fraud.flags_of(event=event, user_key=entrant_key)
    if not flags:
        raise ApplicationError("entrant_not_flagged")
    excluded = _exclude(event, entrant_key, reason=reason, flags=flags, actor=actor, now=now)
    if excluded is None:
        raise ApplicationError("entrant_not_flagged")  # withdrew meanwhile
    return excluded, True


def entries_remove_banned(*, user_id: int, now: datetime, actor: User | None = None) -> int:
    """A banned user's entries taken out of every event not yet locked (``account_banned``).

    Run when a ban is written through ``accounts.services.user_deactivate`` (its signal) and by
    the periodic sweep for bans written any other way. Idempotent; returns how many went.
    """
    account = User.objects.filter(pk=user_id).values_list("is_active", "public_id").first()
    if account is None or account[0]:
        return 0  # unbanned meanwhile
    removed = 0
    for event in Event.objects.filter(
        entries__user_id=user_id, status=Event.Status.INIT, lock_at__gt=now
    ):
        try:
            gone = _exclude(
                event,
                account[1],
                reason=Exclusion.Reason.ACCOUNT_BANNED,
                flags=(),
                actor=actor,
                now=now,
            )
        except ApplicationError:
            continue  # locked meanwhile: the entry stays in the frozen list
        removed += gone is not None
    return removed


def entries_remove_banned_sweep(*, now: datetime) -> int:
    """Every banned user's entries in events not yet locked, however the ban was written."""
    banned = (
        Entry.objects.filter(
            user__is_active=False, event__status=Event.Status.INIT, event__lock_at__gt=now
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    return sum(entries_remove_banned(user_id=user_id, now=now) for user_id in list(banned))


def _exclude(
    event: Event,
    user_key: str,
    *,
    reason: str,
    flags: Sequence[str],
    actor: User | None,
    now: datetime,
) -> Exclusion | None:
    """Delete the entry and record the exclusion, under the event's row lock, with the same
    gate as a withdrawal (INIT, before the lock time). None if there was no entry."""
    with transaction.atomic():
        current = (
            Event.objects.select_for_update()
            .filter(pk=event.pk, status=Event.Status.INIT, lock_at__gt=now)
            .first()
        )
        if current is None:
            _refuse_unless_open(Event.objects.get(pk=event.pk), now=now)
            raise ApplicationError("event_locked")
        entry = Entry.objects.filter(event_id=event.pk, user_key=user_key).first()
        if entry is None:
            return None
        excluded = Exclusion.objects.create(
            event_id=event.pk,
            user_id=entry.user_id,
            user_key=user_key,
            reason=reason,
            flags=",".join(flags)[:100],
            network=entry.network,
            joined_at=entry.created_at,
            actor=actor,
            created_at=now,
        )
        Entry.objects.filter(pk=entry.pk).delete()
        Event.objects.filter(pk=event.pk).update(
            participant_count=F("participant_count") - 1, entry_seq=F("entry_seq") + 1
        )
        change = EntryChange(
            entry.user_id, current.entry_seq + 1, joined_at=entry.created_at, joined=False
        )
        read_model.event_changed(event_id=event.pk, what="entry", entry=change)
    logger.info("event %s: an entrant excluded (%s)", event.public_id, reason)
    return excluded


# --- helpers --------------------------------------------------------------------------------


def _target_reached(event_pk: int, *, now: datetime) -> bool:
    """Count mode, after a join: did one (this or another) reach the target and close entries?"""
    return Event.objects.filter(pk=event_pk, lock_at__lte=now).exists()


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


def _refuse_inactive(user: User) -> None:
    if not user.is_active:
        raise ApplicationError("account_disabled")


def _refuse_unless_creator(event: Event, actor: User) -> None:
    if event.creator_id != actor.pk:
        raise ApplicationError("not_owner")


def _refuse_unless_open(event: Event, *, now: datetime) -> None:
    """INIT and before the lock time, whatever the sweeper has or has not done yet."""
    transitions.refuse_unless_status(event, {Event.Status.INIT})
    if now >= event.lock_at:
        raise ApplicationError("event_locked")


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("invalid_input", data={field: [message]})


def _check_draw_at(draw_at: datetime, *, now: datetime) -> None:
    if draw_at.tzinfo is None:
        raise _invalid("draw_at", _("The time must include a UTC offset."))
    earliest = now + timedelta(seconds=settings.LOTTERY_MIN_DRAW_LEAD_SECONDS)
    latest = now + timedelta(days=settings.LOTTERY_MAX_HORIZON_DAYS)
    if draw_at < earliest:
        lead = humanize_duration(settings.LOTTERY_MIN_DRAW_LEAD_SECONDS)
        raise _invalid(
            "draw_at", _("The draw time must be at least %(lead)s from now.") % {"lead": lead}
        )
    if draw_at > latest:
        horizon = humanize_duration(settings.LOTTERY_MAX_HORIZON_DAYS * 86_400)
        raise _invalid(
            "draw_at",
            _("The draw time must be at most %(horizon)s from now.") % {"horizon": horizon},
        )


def _check_prizes(prizes: Sequence[PrizeSpec]) -> None:
    if not 1 <= len(prizes) <= MAX_PRIZES:
        raise _invalid("prizes", _("Give 1 to %(max)d prizes.") % {"max": MAX_PRIZES})
    for prize in prizes:
        if not 1 <= len(prize["name"].strip()) <= MAX_PRIZE_NAME_LENGTH:
            raise _invalid(
                "prizes",
                _("A prize name needs 1 to %(max)d characters.") % {"max": MAX_PRIZE_NAME_LENGTH},
            )
        if not 1 <= prize["quantity"] <= MAX_PRIZE_QUANTITY:
            raise _invalid(
                "prizes",
                _("Each prize's quantity must be 1 to %(max)d.") % {"max": MAX_PRIZE_QUANTITY},
            )
    if sum(prize["quantity"] for prize in prizes) > MAX_TOTAL_QUANTITY:
        raise _invalid("prizes", _("At most %(max)d prizes in all.") % {"max": MAX_TOTAL_QUANTITY})


def _check_visibility(visibility: str) -> None:
    if visibility not in Event.Visibility.values:
        raise _invalid("visibility", "可见范围只能是 unlisted 或 public")


def _check_delivery(delivery: str, claim_days: int, prizes: Sequence[PrizeSpec]) -> None:
    """A known delivery, a 1-30 day window, and for ``code`` one code per prize unit."""
    if delivery not in Event.Delivery.values:
        raise _invalid("delivery", _("The delivery must be none, shipping, contact or code."))
    if not 1 <= claim_days <= MAX_CLAIM_DAYS:
        raise _invalid(
            "claim_days", _("The claim window must be 1 to %(max)d days.") % {"max": MAX_CLAIM_DAYS}
        )
    for prize in prizes:
        codes = prize.get("codes") or []
        if delivery != Event.Delivery.CODE and codes:
            raise _invalid("prizes", _("Only a code-delivery event takes redeem codes."))
        if delivery == Event.Delivery.CODE and len(codes) != prize["quantity"]:
            raise _invalid("prizes", _("Give exactly one redeem code per prize unit."))
        if any(not 1 <= len(code.strip()) <= MAX_CODE_LENGTH for code in codes):
            raise _invalid(
                "prizes",
                _("A redeem code needs 1 to %(max)d characters.") % {"max": MAX_CODE_LENGTH},
            )


def _check_draw_mode(draw_mode: str, target_participants: int | None) -> None:
    if draw_mode not in Event.DrawMode.values:
        raise _invalid("draw_mode", _("The draw mode must be time, count or manual."))
    if draw_mode == Event.DrawMode.COUNT and not target_participants:
        raise _invalid(
            "target_participants", _("A count-mode event needs a target number of entrants.")
        )
    if draw_mode != Event.DrawMode.COUNT and target_participants is not None:
        raise _invalid(
            "target_participants",
            _("Only a count-mode event can have a target number of entrants."),
        )
