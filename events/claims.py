"""The only write path for prize claims (``Claim``) and the only reader of their personal data.

A winner is an ``Entry`` holding a prize (the draw writes it); the claim builds on that result
and never changes it. The state machine is the table in ``Claim``'s docstring and
``TRANSITIONS`` here; every transition goes through ``_move``, a conditional UPDATE on
``status`` whose row count decides: a correction racing the creator's "shipped" either lands
before it or gets ``claim_shipped``; an expiry racing a late claim either forfeits the unit or
finds it claimed. Other apps change a claim only through these functions (``claim_offer``,
``claim_forfeit`` for ``draws.substitutions``). Personal data is encrypted
(``events.claim_crypto``) and every decryption writes a ``ClaimAccess`` row.

Why in ``events`` and not ``draws``: a claim belongs to a winning ``Entry`` and the event
detail's ``my_entry`` (an ``events`` read) shows its state; ``events`` may not import ``draws``.
Nothing here needs the draw's code, only its result, which lives in ``events`` already.
"""

import csv
import io
import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from openpyxl import Workbook

from accounts.models import User
from events import claim_crypto, transitions
from events.models import Claim, ClaimAccess, Entry, Event, RedeemCode
from lottery_site.errors import ApplicationError
from lottery_site.ids import is_public_id

logger = logging.getLogger(__name__)

ADDRESS_FIELDS = ("name", "phone", "province", "city", "county", "detail", "postal_code")
PERSONAL_DATA_PERMISSION = "events.view_claim_personal_data"
EXPIRED = Claim.EXPIRED  # shown, never stored: unclaimed at or after the deadline

Status = Claim.Status

# The state machine: (from, to) -> the one function that makes it (the table in Claim's
# docstring says who and when). ``_move`` (every change of ``status``) and the two inserts
# (``claims_open``, ``claim_offer``) refuse a transition not listed here.
TRANSITIONS = {
    (None, Status.UNCLAIMED): ("claims_open", "claim_offer"),
    (Status.UNCLAIMED, Status.CLAIMED): ("claim_submit",),
    (Status.CLAIMED, Status.CLAIMED): ("claim_submit",),
    (Status.CLAIMED, Status.SHIPPED): ("claim_ship",),
    (Status.UNCLAIMED, Status.FORFEITED): ("claim_forfeit",),
    (Status.CLAIMED, Status.FORFEITED): ("claim_forfeit",),
}


def claim_deadline(event: Event) -> datetime | None:
    if event.drawn_at is None:
        return None
    return event.drawn_at + timedelta(days=event.claim_days)


def claim_state(status: str | None, *, deadline: datetime, now: datetime) -> str:
    """unclaimed | claimed | shipped | forfeited | expired, for a claim row's status (None: no
    row yet): ``Claim.state_at``."""
    return Claim.state_at(status, deadline=deadline, now=now)


def _move(
    pk: int, *, to: str, from_: Collection[str], by: str, when: Q | None = None, **changes
) -> bool:
    """The one writer of ``status``: claim ``pk``, if in one of ``from_`` (and ``when``), moves
    to ``to``. A conditional UPDATE whose row count decides: False when someone got there first.

    Refuses (ValueError) a transition ``TRANSITIONS`` does not give to ``by``.
    """
    for source in from_:
        _refuse_unless_listed(source, to, by=by)
    moved = Claim.objects.filter(when or Q(), pk=pk, status__in=list(from_)).update(
        status=to, **changes
    )
    if moved:
        logger.info("claim %s: %s -> %s (%s)", pk, "|".join(from_), to, by)
    return bool(moved)


def _refuse_unless_listed(source: str | None, to: str, *, by: str) -> None:
    if by not in TRANSITIONS.get((source, to), ()):
        raise ValueError(f"no claim transition {source or '(none)'} -> {to} by {by}")


# --- the winner -----------------------------------------------------------------------------


def claim_submit(*, event: Event, user: User, now: datetime, address: dict | None) -> Claim:
    """The winner claims (or corrects their claim): unclaimed/claimed -> claimed.

    A first claim only before the deadline (``claim_expired``); a correction until shipped
    (``claim_shipped``). ``shipping`` needs the address; the other deliveries take none.
    Raises ``event_not_drawn``, ``claim_not_offered``, ``not_winner``, ``invalid_input``.
    """
    entry = _winner_entry(event, user)
    _check_address(event, address)
    details = claim_crypto.encrypt(address) if address else ""
    existing = Claim.objects.filter(entry_id=entry.pk).first()
    deadline = existing.deadline if existing else claim_deadline(event)
    if Claim.is_expired(existing.status if existing else None, deadline=deadline, now=now):
        raise ApplicationError("claim_expired")
    if existing is None:
        claims_open(event_id=event.pk, entry_ids=[entry.pk], deadline=deadline, now=now)
        existing = Claim.objects.get(entry_id=entry.pk)
    # Claimed (a correction), or unclaimed and not expired: the rule again, in the UPDATE.
    updated = _move(
        existing.pk,
        to=Status.CLAIMED,
        from_=(Status.UNCLAIMED, Status.CLAIMED),
        by="claim_submit",
        when=(Q(status=Status.CLAIMED) | Claim.unexpired_q(now=now)) & Q(erased_at__isnull=True),
        details=details,
        claimed_at=Coalesce("claimed_at", Value(now)),
    )
    if not updated:
        current = Claim.objects.get(pk=existing.pk)
        raise ApplicationError(
            "claim_shipped" if current.status == Claim.Status.SHIPPED else "claim_expired"
        )
    logger.info("claim %s submitted for event %s", existing.public_id, event.public_id)
    return Claim.objects.get(pk=existing.pk)


def claim_for_winner(*, event: Event, user: User, now: datetime) -> dict:
    """What the winner sees of their own claim: state, deadline, contact note or their code.

    Their own address is not echoed back: decrypted data goes only to the creator and staff.
    """
    entry = _winner_entry(event, user)
    claim = Claim.objects.filter(entry_id=entry.pk).first()
    deadline = claim.deadline if claim else claim_deadline(event)
    shows = claim_state(claim.status if claim else None, deadline=deadline, now=now) != EXPIRED
    return {
        "id": claim.public_id if claim else None,
        "delivery": event.delivery,
        "state": claim_state(claim.status if claim else None, deadline=deadline, now=now),
        "deadline": deadline,
        "contact_note": event.contact_note if event.delivery == Event.Delivery.CONTACT else "",
        "code": _code_of(entry) if shows and event.delivery == Event.Delivery.CODE else "",
        "carrier": claim.carrier if claim else "",
        "tracking_number": claim.tracking_number if claim else "",
        "shipped_at": claim.shipped_at if claim else None,
    }


# --- the creator ----------------------------------------------------------------------------


def claim_ship(
    *, event: Event, actor: User, claim_id: str, carrier: str, tracking_number: str, now: datetime
) -> Claim:
    """claimed -> shipped, by the creator; the winner can no longer change their details.

    Raises ``not_owner``, ``claim_not_found``, ``claim_not_claimed``, ``claim_shipped``.
    """
    if event.creator_id != actor.pk:
        raise ApplicationError("not_owner")
    claim = None
    if is_public_id(claim_id, "c_"):  # exactly, not as MySQL's collation would match it
        claim = Claim.objects.filter(public_id=claim_id, event_id=event.pk).first()
    if claim is None:
        raise ApplicationError("claim_not_found")
    updated = _move(
        claim.pk,
        to=Status.SHIPPED,
        from_=(Status.CLAIMED,),
        by="claim_ship",
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=now,
    )
    if not updated:
        current = Claim.objects.get(pk=claim.pk)
        raise ApplicationError(
            "claim_shipped" if current.status == Claim.Status.SHIPPED else "claim_not_claimed"
        )
    logger.info("claim %s shipped", claim.public_id)
    return Claim.objects.get(pk=claim.pk)


def claim_as_shipped(*, event: Event, claim: Claim) -> dict:
    """The claim's state after ``claim_ship``, in the winner's shape, without personal data."""
    return {
        "id": claim.public_id,
        "delivery": event.delivery,
        "state": claim.status,
        "deadline": claim.deadline,
        "contact_note": "",
        "code": "",
        "carrier": claim.carrier,
        "tracking_number": claim.tracking_number,
        "shipped_at": claim.shipped_at,
    }


def may_read_personal_data(*, event: Event, reader: User) -> bool:
    if event.creator_id == reader.pk and reader.is_active:
        return True
    return reader.is_staff and reader.has_perm(PERSONAL_DATA_PERMISSION)


def claims_read(
    *, event: Event, reader: User, now: datetime, reason: str, state: str | None = None
) -> list[dict]:
    """Every winner of the event with their claim (those in ``state`` if given), personal data
    decrypted, each read audited.

    Only the creator and staff holding ``view_claim_personal_data``; anyone else ``not_owner``.
    """
    _check_reader(event, reader)
    entries = winning_entries(event, state=state, now=now)
    return winner_rows(
        event=event, reader=reader, now=now, reason=reason, decrypt=True, entries=entries
    )


def claims_page(
    *,
    event: Event,
    reader: User,
    now: datetime,
    state: str | None,
    after: int | None,
    size: int,
) -> tuple[list[dict], int | None]:
    """One page of ``claims_read`` in draw order: the rows after draw rank ``after`` (None:
    from the first), and the rank the next page starts after (None on the last page).

    The draw rank is fixed by the draw and unique per event, so paging never repeats or skips
    a winner while claims change meanwhile (a row may only leave or join a ``state`` filter).
    """
    _check_reader(event, reader)
    entries = winning_entries(event, state=state, now=now)
    if after is not None:
        entries = entries.filter(prize_rank__gt=after)
    page = list(entries[: size + 1])
    rows = winner_rows(
        event=event, reader=reader, now=now, reason="api", decrypt=True, entries=page[:size]
    )
    return rows, (page[size - 1].prize_rank if len(page) > size else None)


def _check_reader(event: Event, reader: User) -> None:
    if not may_read_personal_data(event=event, reader=reader):
        raise ApplicationError("not_owner")
    claim_crypto.require_keys()


def winning_entries(event: Event, *, state: str | None = None, now: datetime | None = None):
    """The event's winning entries in draw order; only those whose claim is in ``state``
    (unclaimed, claimed, shipped, expired: ``claim_state``'s names) when given."""
    entries = (
        Entry.objects.filter(event_id=event.pk, prize__isnull=False)
        .select_related("user", "prize", "claim")
        .order_by("prize_rank")
    )
    event_deadline = claim_deadline(event)
    if state is None:
        return entries
    if event_deadline is None or now is None:
        return entries.none()
    if state in (Claim.Status.CLAIMED, Claim.Status.SHIPPED):
        return entries.filter(claim__status=state)
    # Unclaimed or expired, by the claim's own deadline, or the event's while it has no row.
    expired = state == EXPIRED
    rule = Claim.expired_q if expired else Claim.unexpired_q
    with_row = rule(now=now, prefix="claim__")
    if Claim.is_expired(None, deadline=event_deadline, now=now) == expired:
        return entries.filter(with_row | Q(claim__isnull=True))
    return entries.filter(with_row)


def winner_rows(
    *, event: Event, reader: User, now: datetime, reason: str, decrypt: bool, entries=None
) -> list[dict]:
    """The rows of ``claims_read`` (of ``entries``, every winner by default); ``decrypt=False``
    masks instead (staff without the permission)."""
    event_deadline = claim_deadline(event)
    if entries is None:
        entries = winning_entries(event)
    codes = _codes_by_entry(event) if event.delivery == Event.Delivery.CODE else {}
    rows, read = [], []
    for entry in entries:
        claim = getattr(entry, "claim", None)
        # An alternate's window starts when the prize passed to them (its claim row says so).
        deadline = claim.deadline if claim else event_deadline
        address = None
        if claim is not None and claim.details:
            if decrypt:
                address = claim_crypto.decrypt(claim.details)
                read.append(ClaimAccess(claim=claim, actor=reader, reason=reason, created_at=now))
            else:
                address = dict.fromkeys(ADDRESS_FIELDS, "***")
        rows.append(
            {
                "id": claim.public_id if claim else None,
                "user": entry.user,
                "prize": entry.prize,
                "state": claim_state(claim.status if claim else None, deadline=deadline, now=now),
                "deadline": deadline,
                "address": address,
                "code": codes.get(entry.pk, ""),
                "carrier": claim.carrier if claim else "",
                "tracking_number": claim.tracking_number if claim else "",
                "claimed_at": claim.claimed_at if claim else None,
                "shipped_at": claim.shipped_at if claim else None,
                "erased": bool(claim and claim.erased_at),
            }
        )
    ClaimAccess.objects.bulk_create(read)
    return rows


CSV_COLUMNS = (
    "user", "prize", "state", "deadline", *ADDRESS_FIELDS, "code", "carrier",
    "tracking_number", "claimed_at", "shipped_at",
)  # fmt: skip


def claims_csv(rows: list[dict]) -> str:
    """The winners as CSV; every cell safe to open in a spreadsheet (no formula injection)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_safe(str(value)) for value in _export_values(row)])
    return out.getvalue()


def claims_xlsx(rows: list[dict]) -> bytes:
    """The winners as an .xlsx workbook (what wx.openDocument opens): the CSV's columns and
    cells, text kept as text. openpyxl stores a string starting with "=" as a formula, so
    every cell is disarmed like the CSV's first; times are text in the API's ISO form."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="claims")
    sheet.append(list(CSV_COLUMNS))
    for row in rows:
        sheet.append([csv_safe(str(value)) for value in _export_values(row)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _export_values(row: dict) -> list:
    address = row["address"] or {}
    return [
        row["user"].nickname or row["user"].public_id,
        row["prize"].name,
        row["state"],
        row["deadline"].isoformat() if row["deadline"] else "",
        *(address.get(name, "") for name in ADDRESS_FIELDS),
        row["code"],
        row["carrier"],
        row["tracking_number"],
        row["claimed_at"].isoformat() if row["claimed_at"] else "",
        row["shipped_at"].isoformat() if row["shipped_at"] else "",
    ]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading quote disarms =, +, -, @, tab and CR (OWASP)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


# --- periodic work ----------------------------------------------------------------------------


def claims_remind_due(*, now: datetime) -> list[Claim]:
    """Winners who have not claimed, in the last day before their deadline: each reminded once.

    A claim row is made for each such winner, then ``reminded_at`` is set by a conditional
    UPDATE: of two sweepers running at once exactly one wins each row and reminds.
    """
    reminded = []
    for event in _events_in_claim_window(now=now):
        deadline = claim_deadline(event)
        if not deadline - timedelta(days=1) <= now < deadline:
            continue
        winners = Entry.objects.filter(event_id=event.pk, prize__isnull=False, claim__isnull=True)
        claims_open(
            event_id=event.pk,
            entry_ids=list(winners.values_list("pk", flat=True)),
            deadline=deadline,
            now=now,
        )
    # By each claim's own deadline: an alternate's window ends later than the event's.
    due = Claim.objects.filter(
        Claim.unexpired_q(now=now),
        reminded_at__isnull=True,
        deadline__lte=now + timedelta(days=1),
    ).exclude(event__delivery=Event.Delivery.NONE)
    for claim in due:
        if Claim.objects.filter(pk=claim.pk, reminded_at__isnull=True).update(reminded_at=now):
            reminded.append(claim)
    return reminded


def claims_open(*, event_id: int, entry_ids: list[int], deadline: datetime, now: datetime) -> None:
    """Give each of these winners of one event a claim row, if they have none (idempotent).

    Two sweepers inserting the same rows at once (an INSERT IGNORE of several rows each)
    deadlock on the claims' unique index, and a substitution inserting an alternate's claim can
    join in. Taking the event's row first, like every writer of its claims, makes them queue
    instead; the second then ignores the rows the first inserted.
    """
    if not entry_ids:
        return
    rows = [
        Claim(entry_id=pk, event_id=event_id, deadline=deadline, created_at=now) for pk in entry_ids
    ]
    _refuse_unless_listed(None, Status.UNCLAIMED, by="claims_open")
    with transaction.atomic():
        list(Event.objects.select_for_update().filter(pk=event_id).values_list("pk", flat=True))
        Claim.objects.bulk_create(rows, ignore_conflicts=True)


def claim_offer(*, event: Event, entry_id: int, now: datetime) -> Claim:
    """An alternate is offered a unit: their claim row, unclaimed, with a window of the event's
    length from now (``offered_at``, which their inbox shows). (none) -> unclaimed.

    Called by ``draws.substitutions`` under the event's row lock, in the transaction that gives
    the entry the unit. An alternate never held a unit before, so never had a row: an existing
    one is a broken invariant and raises IntegrityError (the substitution rolls back).
    """
    _refuse_unless_listed(None, Status.UNCLAIMED, by="claim_offer")
    claim = Claim.objects.create(
        entry_id=entry_id,
        event_id=event.pk,
        deadline=now + timedelta(days=event.claim_days),
        created_at=now,
        offered_at=now,
    )
    logger.info("claim %s: (none) -> unclaimed (claim_offer)", claim.pk)
    return claim


def claim_forfeit(*, event: Event, entry_id: int, now: datetime, expired: bool) -> bool:
    """The winner's claim is forfeited: their unit passes to an alternate. False if it was not
    forfeitable (someone got there first, or it is shipped, or, with ``expired``, not expired).

    ``expired``: the sweeper's case, only an expired claim (``Claim.expired_q``); otherwise the
    creator's disqualification, an unclaimed or claimed one. A winner without a row gets one
    first (the event's deadline). Called by ``draws.substitutions`` under the event's row lock,
    in the transaction that takes the unit from the entry.
    """
    claims_open(event_id=event.pk, entry_ids=[entry_id], deadline=claim_deadline(event), now=now)
    pk = Claim.objects.filter(entry_id=entry_id).values_list("pk", flat=True).get()
    if expired:
        return _move(
            pk,
            to=Status.FORFEITED,
            from_=(Status.UNCLAIMED,),
            by="claim_forfeit",
            when=Claim.expired_q(now=now),
        )
    return _move(
        pk, to=Status.FORFEITED, from_=(Status.UNCLAIMED, Status.CLAIMED), by="claim_forfeit"
    )


def _events_in_claim_window(*, now: datetime):
    oldest = now - timedelta(days=settings.CLAIM_MAX_DAYS_LOOKBACK)
    return Event.objects.filter(status=Event.Status.OPENED, drawn_at__gte=oldest).exclude(
        delivery=Event.Delivery.NONE
    )


def claims_erase_due(*, now: datetime) -> int:
    """Blank the personal data of claims closed ``CLAIM_ERASE_AFTER_DAYS`` ago; keep the state.

    Closed: shipped, or never shipped (or passed to an alternate) and past its deadline. Running it twice erases nothing
    more the second time.
    """
    cutoff = now - timedelta(days=settings.CLAIM_ERASE_AFTER_DAYS)
    closed = Q(status=Claim.Status.SHIPPED, shipped_at__lte=cutoff) | Q(
        status__in=[Claim.Status.UNCLAIMED, Claim.Status.CLAIMED, Claim.Status.FORFEITED],
        deadline__lte=cutoff,
    )
    return Claim.objects.filter(closed, erased_at__isnull=True).update(details="", erased_at=now)


def claims_reencrypt() -> int:
    """Re-encrypt every stored claim with the first key (after putting a new key first)."""
    count = 0
    for pk, token in Claim.objects.exclude(details="").values_list("pk", "details").iterator():
        # Conditional on the token read: a correction written meanwhile is already current.
        count += Claim.objects.filter(pk=pk, details=token).update(
            details=claim_crypto.reencrypt(token)
        )
    return count


# --- helpers --------------------------------------------------------------------------------


def _winner_entry(event: Event, user: User) -> Entry:
    transitions.refuse_unless_status(event, {Event.Status.OPENED})
    if event.delivery == Event.Delivery.NONE:
        raise ApplicationError("claim_not_offered")
    claim_crypto.require_keys()
    entry = Entry.objects.filter(event_id=event.pk, user_id=user.pk, prize__isnull=False).first()
    if entry is None:
        raise ApplicationError("not_winner")
    return entry


def _check_address(event: Event, address: dict | None) -> None:
    shipping = event.delivery == Event.Delivery.SHIPPING
    if shipping and not address:
        raise ApplicationError("invalid_input", data={"address": ["required"]})
    if not shipping and address:
        raise ApplicationError("invalid_input", data={"address": ["not for this delivery"]})


def _code_of(entry: Entry) -> str:
    """The entry's redeem code: the n-th code of its prize for the n-th winner of it."""
    nth = Entry.objects.filter(prize_id=entry.prize_id, prize_rank__lt=entry.prize_rank).count()
    code = RedeemCode.objects.filter(prize_id=entry.prize_id, position=nth).first()
    return code.code if code else ""


def _codes_by_entry(event: Event) -> dict[int, str]:
    codes = {
        (prize_id, position): code
        for prize_id, position, code in RedeemCode.objects.filter(
            prize__event_id=event.pk
        ).values_list("prize_id", "position", "code")
    }
    result, seen = {}, {}
    winners = Entry.objects.filter(event_id=event.pk, prize__isnull=False).order_by("prize_rank")
    for entry_id, prize_id in winners.values_list("pk", "prize_id"):
        nth = seen[prize_id] = seen.get(prize_id, -1) + 1
        result[entry_id] = codes.get((prize_id, nth), "")
    return result
