"""Lottery events, their prizes, their entries, and the append-only log of what happened to them.

Only ``events.services`` (and, for the lock and the draw, ``draws.services``) writes these
tables. The database keeps the invariants: one entry per (event, user), one prize per entry
(so nobody wins twice), one position per prize tier.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lottery_site.ids import claim_public_id, event_public_id, prize_public_id

# What one event may hold: ``events.services.events`` refuses more; the input serializers and
# ``GET /config`` (``events.limits``) state the same numbers.
MAX_PRIZES = 20
MAX_PRIZE_NAME_LENGTH = 50
MAX_PRIZE_QUANTITY = 10_000
MAX_TOTAL_QUANTITY = 100_000
MAX_CLAIM_DAYS = 30
MAX_CODE_LENGTH = 64


def aware_utc(value: datetime | str) -> datetime:
    """A datetime column read with plain SQL: the database stores UTC, naive on the wire (a
    string from SQLite without its converters)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Event(models.Model):
    """A lottery event.

    Besides its status, an event has a ``visibility`` chosen by its creator (``unlisted``: only
    who has the link; ``public``: also on the square) and a ``moderation`` state kept by WeChat's
    checks and staff: ``ok``; ``review`` (a picture judged risky, a report, a late text verdict:
    off the square until staff decide); ``hidden`` (staff took it off the square).
    ``text_unchecked``: its text was accepted while WeChat's check did not answer
    (WECHAT_CONTENT_CHECK_ON_ERROR=accept); the periodic re-check looks again. The square
    lists only public, ``ok`` events whose text is checked (``on_square``).

    The state machine (``status``). Each transition has one owner, the only code that makes it;
    each is a conditional UPDATE on ``status`` whose row count decides a race, and writes its
    ``EventLog`` row (``events.transitions.log``) in the same transaction:

    ========  ========  ==============================  ========================================
    from      to        when, by whom                   owner (log action)
    ========  ========  ==============================  ========================================
    (none)    INIT      the creator creates it          ``events.services.events.event_create``
                                                        (create)
    INIT      OPENING   the sweeper, once ``lock_at``   ``draws.services.event_lock`` (lock)
                        has passed; the creator's
                        manual draw, at once
    OPENING   OPENED    the sweeper, from ``draw_at``   ``draws.services.event_draw`` (draw)
                        (``early_lock_at`` after an
                        early lock) and the reveal gap
    INIT      CANCELED  the creator before              ``events.services.events.event_cancel``
                        ``lock_at``; staff before       (cancel)
                        ``lock_at``
    OPENING   CANCELED  staff asked, with a public      ``draws.services.event_draw`` (cancel)
                        reason, at or after ``lock_at``
                        (``event_cancel`` records
                        ``cancel_requested_at``);
                        settled like a draw, once its
                        beacon round is out
    ========  ========  ==============================  ========================================

    OPENED and CANCELED are final. ``events.transitions.TRANSITIONS`` is this table as data,
    and the log writer refuses any transition not in it. ``lock_at`` is when entries close:
    scheduled at creation (``draw_at`` - LOTTERY_LOCK_LEAD_SECONDS), or the moment a count-mode
    event's target was reached (set by that join, which changes nothing else) or the creator
    drew a manual event. From ``lock_at`` on no join, withdrawal, edit or creator cancel is
    accepted, whatever the status says; the sweeper locks every event whose ``lock_at`` has
    passed (time and count mode alike) within one sweep interval, and that lock publishes the
    frozen entrant list's digest. A lock that came early stores when (``early_lock_at``): the
    draw is due from then, not from ``draw_at``. A request refused because of the status gets
    the error ``events.transitions.refusal`` names (``event_locked``, ``event_drawn``...).

    The moderation state (``moderation``): its one writer is ``events.moderation.event_moderate``
    (``events.moderation.TRANSITIONS`` is this table as data), each move a conditional UPDATE
    on ``moderation`` logged in ``EventLog`` with the action named here:

    ========  ========  =========================================  ==========
    from      to        when, by whom                              log action
    ========  ========  =========================================  ==========
    OK        REVIEW    WeChat's checks: a picture rejected, a     flag
                        text judged risky on the re-check
    OK        HIDDEN    staff hide it from the square              hide
    REVIEW    HIDDEN    staff hide it                              hide
    REVIEW    OK        staff put it back                          restore
    HIDDEN    OK        staff put it back                          restore
    ========  ========  =========================================  ==========

    A staff decision stands: WeChat's flag of a hidden event leaves it hidden.
    """

    class Visibility(models.TextChoices):
        UNLISTED = "unlisted", _("link only")
        PUBLIC = "public", _("public square")

    class Moderation(models.TextChoices):
        OK = "ok", _("ok")
        REVIEW = "review", _("pending review")
        HIDDEN = "hidden", _("hidden by staff")

    class Status(models.IntegerChoices):
        INIT = 0, _("open for entries")
        OPENING = 1, _("locked, waiting for the draw")
        OPENED = 2, _("drawn")
        CANCELED = 9, _("canceled")

    class Delivery(models.TextChoices):
        NONE = "none", _("no claim step")
        SHIPPING = "shipping", _("shipped to the winner's address")
        CONTACT = "contact", _("the winner contacts the creator")
        CODE = "code", _("a redeem code per prize")

    class DrawMode(models.TextChoices):
        TIME = "time", _("at the draw time")
        COUNT = "count", _("when the target number of entrants is reached")
        MANUAL = "manual", _("by the creator, or at the draw time")

    # What the API shows for each status.
    STATUS_NAMES = {
        Status.INIT: "init",
        Status.OPENING: "opening",
        Status.OPENED: "opened",
        Status.CANCELED: "canceled",
    }

    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=event_public_id, editable=False
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("creator"),
        on_delete=models.PROTECT,
        related_name="created_events",
    )
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), max_length=2000, blank=True, default="")
    draw_at = models.DateTimeField(_("draw time"))
    # draw_at - LOTTERY_LOCK_LEAD_SECONDS when scheduled; the moment of locking when the event
    # locked early (count target reached, manual draw).
    lock_at = models.DateTimeField(_("lock time"))
    # An early lock's due time, stored by the lock (``draws.services.event_lock``): when a
    # count-mode event's target was reached (the join moved ``lock_at`` there), or when its
    # creator drew a manual event. Null for a lock on schedule. Its draw is due from then
    # (``draw_due_at``), after the reveal gap; the fact is stored, not read off
    # ``lock_at < draw_at - LOTTERY_LOCK_LEAD_SECONDS``, which a change of that setting breaks.
    early_lock_at = models.DateTimeField(_("locked early at"), null=True, blank=True)
    status = models.PositiveSmallIntegerField(
        _("status"), choices=Status.choices, default=Status.INIT
    )
    draw_mode = models.CharField(
        _("draw mode"), max_length=8, choices=DrawMode.choices, default=DrawMode.TIME
    )
    target_participants = models.PositiveIntegerField(_("target entrants"), null=True, blank=True)
    participant_count = models.PositiveIntegerField(_("entrants"), default=0)
    # Columns added after the table was created carry db_default= beside default=: the previous
    # release, which does not name them in its INSERTs, runs on this schema during a rolling
    # deploy and after a rollback (docs/operations.md; .ci/check_migrations.py checks it).
    # One more with every join, withdrawal and exclusion, under the row lock. Read as "somebody
    # joined once": the entry conditions are frozen from then on (``event_update``), so joins
    # keep counting it and the column stays. Up to 1.1.0 it also numbered those changes for the
    # Redis mirror of open events (removed since): withdrawals and exclusions still count it
    # only so that 1.1.0's web processes, during a rolling deploy or after a rollback, see each
    # change their mirror missed. They may stop once no release with the mirror can run again
    # (docs/operations.md, "Expand, then contract").
    entry_seq = models.PositiveBigIntegerField(
        _("entry changes"), default=0, db_default=0, editable=False
    )

    # Drawn live, round by round on its host's command (the live app, docs/live.md): the
    # sweeper locks it on schedule like any event but never draws it. Set once, by
    # ``live.services.live_start``, while nobody has joined.
    live = models.BooleanField(_("live draw"), default=False, db_default=False, editable=False)

    # Verifiable fairness (docs/fairness.md): the seed is secret until the draw; its SHA-256 is
    # public from creation. The entrant count and digest are frozen at the lock.
    seed = models.BinaryField(_("seed"), max_length=32, editable=False)
    seed_commitment = models.CharField(_("seed commitment"), max_length=64, editable=False)
    entrant_count = models.PositiveIntegerField(_("frozen entrant count"), null=True, blank=True)
    entrants_digest = models.CharField(
        _("frozen entrants digest"), max_length=64, blank=True, default=""
    )
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    # Which version of the scheme draws this event: events created before v3 keep theirs (v1:
    # no prizes digest, no beacon; v2: round named at creation) so their proofs still verify.
    # The database default is v1: a row written by code that does not know this column (it
    # predates v2) is drawn by that code under v1.
    fairness_algorithm = models.CharField(
        _("draw algorithm"),
        max_length=32,
        default="sha256-fisher-yates-v3",
        db_default="sha256-fisher-yates-v1",
        editable=False,
    )
    # v3, fixed at creation: True when no beacon was configured then, so the event is drawn
    # without one (its detail and proof say so from the start). An event created with a beacon
    # always waits for its round: there is no fallback once a round can be named.
    without_beacon = models.BooleanField(_("drawn without beacon"), db_default=False)
    # v3, fixed at creation: LOTTERY_REVEAL_GAP_SECONDS then. The round is the first at or
    # after locked_at + this gap (and a substitution's, its time + this gap).
    reveal_gap_seconds = models.PositiveIntegerField(_("reveal gap (s)"), null=True, blank=True)
    # When the entrant and prizes digests were actually published (the lock as it happened,
    # which a late sweeper makes later than ``lock_at``). The seed is revealed no sooner than
    # LOTTERY_REVEAL_GAP_SECONDS after it.
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    prizes_digest = models.CharField(
        _("prizes digest"), max_length=64, blank=True, default="", db_default=""
    )
    # The drand round named in advance (its time falls after the lock) and its chain; the
    # verified round itself once fetched, or why the draw went ahead without it.
    beacon_round = models.PositiveBigIntegerField(_("beacon round"), null=True, blank=True)
    beacon_chain = models.JSONField(_("beacon chain"), null=True, blank=True)
    beacon = models.JSONField(_("beacon round data"), null=True, blank=True)
    beacon_missing_reason = models.CharField(
        _("why no beacon"), max_length=200, blank=True, default="", db_default=""
    )

    # How winners get their prizes (events.claims): chosen at creation, editable with the prizes.
    delivery = models.CharField(
        _("delivery"),
        max_length=8,
        choices=Delivery.choices,
        default=Delivery.NONE,
        db_default=Delivery.NONE,
    )
    claim_days = models.PositiveSmallIntegerField(_("claim window (days)"), default=7, db_default=7)
    # LOTTERY_MAX_SUBSTITUTIONS, fixed at creation (v3) or at the event's first substitution
    # (older events): a later change of the setting does not rewrite the published rules.
    max_substitutions = models.PositiveSmallIntegerField(
        _("max substitutions"), null=True, blank=True, editable=False
    )
    contact_note = models.CharField(
        _("contact note"), max_length=500, blank=True, default="", db_default=""
    )

    cancel_reason = models.CharField(_("cancel reason"), max_length=200, blank=True, default="")
    # A cancel asked at or after the lock (staff only, public reason): recorded here, settled by
    # the draw's own step once the named round is out, which publishes the seed, the round and
    # the winners the draw would have had (``would_be_winners``: user keys in unit order).
    cancel_requested_at = models.DateTimeField(_("cancel asked at"), null=True, blank=True)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    would_be_winners = models.JSONField(_("would-be winners"), null=True, blank=True)
    # When the anti-fraud signals of its entries and exclusions (network keys, risk ranks) were
    # blanked, FRAUD_SIGNAL_ERASE_AFTER_DAYS after the draw or the cancel
    # (events.services.retention). Null: not yet, so the retention sweep reads only the events
    # it still has to do.
    signals_erased_at = models.DateTimeField(
        _("anti-fraud signals erased at"), null=True, blank=True, editable=False
    )
    # The creator's upload with purpose "cover" (accounts.services.upload_attach).
    cover = models.ForeignKey(
        "accounts.Upload",
        verbose_name=_("cover"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    visibility = models.CharField(
        _("visibility"),
        max_length=8,
        choices=Visibility.choices,
        default=Visibility.UNLISTED,
        db_default=Visibility.UNLISTED,
    )
    moderation = models.CharField(
        _("moderation"),
        max_length=8,
        choices=Moderation.choices,
        default=Moderation.OK,
        db_default=Moderation.OK,
    )
    text_unchecked = models.BooleanField(_("text not checked"), default=False, db_default=False)
    # The entry conditions the creator chose (events.conditions: the stored record, secrets
    # hashed), null for none; frozen from the first join on. ``rules_version`` moves with each
    # change of them: the join's gate UPDATE admits only under the version its checks read
    # (events.join_sql), so a process holding an older copy (the ``event.refs`` memo) checks
    # again.
    entry_conditions = models.JSONField(
        _("entry conditions"), null=True, blank=True, editable=False
    )
    rules_version = models.PositiveIntegerField(
        _("conditions version"), default=0, db_default=0, editable=False
    )
    # One more on every edit of the public part (title, description, draw time, prizes): the
    # event detail keeps that part rendered per process and version (events.views).
    revision = models.PositiveIntegerField(_("revision"), default=0, db_default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("lottery event")
        verbose_name_plural = _("lottery events")
        indexes = [
            # The sweeper: due locks and due draws, however old.
            models.Index(fields=["status", "lock_at"], name="events_status_lock_at"),
            models.Index(fields=["status", "draw_at"], name="events_status_draw_at"),
            models.Index(fields=["creator", "-draw_at"], name="events_creator_draw_at"),
            # The retention sweep: finished events whose signals are not blanked yet.
            models.Index(fields=["status", "signals_erased_at"], name="events_signals_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lock_at__lte=models.F("draw_at")),
                name="events_lock_not_after_draw",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.public_id})"

    @property
    def status_name(self) -> str:
        return self.STATUS_NAMES[self.status]

    @property
    def ordered_prizes(self):
        """Prizes in tier order; uses a prefetch when the caller made one."""
        return sorted(self.prizes.all(), key=lambda prize: prize.position)

    @property
    def on_square(self) -> bool:
        return (
            self.visibility == self.Visibility.PUBLIC
            and self.moderation == self.Moderation.OK
            and not self.text_unchecked
        )

    @staticmethod
    def scheduled_lock_at(draw_at):
        return draw_at - timedelta(seconds=settings.LOTTERY_LOCK_LEAD_SECONDS)

    @property
    def draw_due_at(self) -> datetime:
        """When the draw is due: ``draw_at``, or an early lock's due time (``early_lock_at``).
        The draw itself also waits for the reveal gap (``draws.selectors.reveal_time``)."""
        return self.early_lock_at or self.draw_at

    @staticmethod
    def draw_due_q(*, now: datetime) -> models.Q:
        """``draw_due_at <= now`` in a query (``early_lock_at`` is always before ``draw_at``)."""
        return models.Q(draw_at__lte=now) | models.Q(early_lock_at__lte=now)

    @staticmethod
    def phase_at(*, status_name: str, lock_at: datetime, now: datetime) -> str:
        """The status as of ``now``, in the names of ``STATUS_NAMES``.

        ``status`` stays INIT until the sweeper locks the event, a few seconds after
        ``lock_at``; the join gate (``events.services.entries``) refuses from ``lock_at`` on
        whatever the sweeper has done. So an INIT event past its lock time is already "opening".
        """
        if status_name == "init" and now >= lock_at:
            return "opening"
        return status_name


class Prize(models.Model):
    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=prize_public_id, editable=False
    )
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="prizes"
    )
    name = models.CharField(_("name"), max_length=50)
    quantity = models.PositiveIntegerField(_("quantity"))
    # The order given at creation: 0 is the top prize.
    position = models.PositiveSmallIntegerField(_("tier"))
    # Filled by the draw: how many of ``quantity`` went to someone.
    awarded = models.PositiveIntegerField(_("awarded"), default=0)
    # The creator's upload with purpose "prize".
    image = models.ForeignKey(
        "accounts.Upload",
        verbose_name=_("picture"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("prize")
        verbose_name_plural = _("prizes")
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["event", "position"], name="prizes_one_per_tier"),
        ]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity}"


class Entry(models.Model):
    """One user's entry in one event; a winning entry holds its prize (so one prize at most)."""

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    # The user's public id, copied here so the draw reads the canonical (sorted) entrant list
    # from one index range scan without a join.
    user_key = models.CharField(_("entrant key"), max_length=24)
    created_at = models.DateTimeField(_("joined at"), default=timezone.now)
    prize = models.ForeignKey(
        Prize,
        verbose_name=_("prize won"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="winning_entries",
    )
    # Order of the win in the draw (0 = first drawn): the order the proof implies.
    prize_rank = models.PositiveIntegerField(_("draw rank"), null=True, blank=True)
    # Anti-fraud signals (events.fraud), never shown: a keyed hash of the address the join came
    # from, salted per event (joins from one address within seconds are flagged; the address
    # itself is not kept); WeChat's risk rank at the join for a risk-gated event (-1: WeChat
    # did not answer and the event admits then), null otherwise.
    network = models.CharField(
        _("network key"), max_length=16, blank=True, default="", db_default="", editable=False
    )
    risk_rank = models.SmallIntegerField(_("WeChat risk rank"), null=True, blank=True)

    class Meta:
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="entries_one_per_user"),
            models.UniqueConstraint(fields=["event", "user_key"], name="entries_canonical_key"),
            models.UniqueConstraint(fields=["event", "prize_rank"], name="entries_one_per_rank"),
        ]
        indexes = [
            models.Index(fields=["event", "-created_at"], name="entries_event_newest"),
            models.Index(fields=["user", "-created_at"], name="entries_user_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.user_key} in {self.event_id}"


class Exclusion(models.Model):
    """An entrant taken out of an event before its lock, for a public reason.

    By the event's creator, among the entrants flagged (events.fraud), with one of
    ``CREATOR_REASONS``; or by staff's ban of the account (``account_banned``). Written only by
    ``events.services.entries``: the entry is deleted in the same transaction, this row stays. It
    keeps the user from joining again (the join's gate reads it), the proof counts the exclusions
    per reason (docs/fairness.md), and the user's inbox says why (notifications).
    """

    class Reason(models.TextChoices):
        FAKE_ACCOUNT = "fake_account", _("fake account")
        DUPLICATE_ACCOUNT = "duplicate_account", _("duplicate account")
        RULE_VIOLATION = "rule_violation", _("broke the event's rules")
        ACCOUNT_BANNED = "account_banned", _("account banned by staff")

    CREATOR_REASONS = (Reason.FAKE_ACCOUNT, Reason.DUPLICATE_ACCOUNT, Reason.RULE_VIOLATION)

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="exclusions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The user's public id, as in Entry: the join's gate looks it up, and the count in the
    # proof outlives the account.
    user_key = models.CharField(_("entrant key"), max_length=24)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    # The flags the entrant carried when excluded (events.fraud reason codes, comma-separated),
    # and what of the entry the signals read: the others of a burst stay flagged.
    flags = models.CharField(_("flags"), max_length=100, blank=True, default="")
    network = models.CharField(_("network key"), max_length=16, blank=True, default="")
    joined_at = models.DateTimeField(_("joined at"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("exclusion")
        verbose_name_plural = _("exclusions")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user_key"], name="exclusions_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_key} out of {self.event_id} ({self.reason})"


class EventLog(models.Model):
    """Append-only: every state change and staff action, with who, why and when.

    It doubles as the outbox of notifications: the transaction that cancels or draws an event
    writes its row, and ``notified_at`` stays empty until the notifications app has fanned it
    out. A crash in between loses nothing; the notification sweeper finds the row again.
    """

    class ActorKind(models.TextChoices):
        USER = "user", _("user")
        STAFF = "staff", _("staff")
        SYSTEM = "system", _("system")

    class Action(models.TextChoices):
        # Stable machine words: the notifications read them (draw, cancel and flag rows are
        # their outbox); staff read the labels.
        CREATE = "create", _("created")
        UPDATE = "update", _("edited")
        LOCK = "lock", _("locked")
        DRAW = "draw", _("drawn")
        CANCEL = "cancel", _("canceled")
        FLAG = "flag", _("flagged by WeChat")
        HIDE = "hide", _("hidden from square")
        RESTORE = "restore", _("back on square")
        SUBSTITUTE = "substitute", _("passed to an alternate")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="logs"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_kind = models.CharField(_("actor kind"), max_length=8, choices=ActorKind.choices)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    from_status = models.PositiveSmallIntegerField(
        _("from status"), choices=Event.Status.choices, null=True, blank=True
    )
    to_status = models.PositiveSmallIntegerField(
        _("to status"), choices=Event.Status.choices, null=True, blank=True
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event log")
        verbose_name_plural = _("event logs")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["action", "notified_at"], name="eventlogs_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.event_id} {self.created_at:%Y-%m-%d %H:%M:%S}"


class Report(models.Model):
    """A user's report of an event to staff: one per user and event (a repeat changes nothing)."""

    class Reason(models.TextChoices):
        FRAUD = "fraud", _("fraud")
        PORN = "porn", _("pornography")
        ILLEGAL = "illegal", _("illegal content")
        SPAM = "spam", _("spam or advertising")
        OTHER = "other", _("other")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="reports"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=8, choices=Reason.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="reports_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.event_id} by {self.user_id}"


class ShareCode(models.Model):
    """An event's mini-program code (wxacode.getUnlimited), made once and stored.

    The row is the claim: whoever inserts it (the primary key is the event) asks WeChat, and
    the others wait for ``image``. A claim whose holder died is taken over after
    ``events.services.sharing.SHARE_CLAIM_SECONDS`` by a conditional UPDATE on ``claim``.
    """

    event = models.OneToOneField(
        Event,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="share_code",
    )
    image = models.ForeignKey(
        "accounts.Upload",
        verbose_name=_("mini-program code"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A context of their own: "claim" is also a winner's prize claim (Claim), another word.
    claim = models.CharField(
        pgettext_lazy("share code", "claim"), max_length=32, blank=True, default=""
    )
    claimed_at = models.DateTimeField(pgettext_lazy("share code", "claimed at"))

    class Meta:
        verbose_name = _("share code")
        verbose_name_plural = _("share codes")

    def __str__(self) -> str:
        return f"share code of {self.event_id}"


class ModerationCase(Event):
    """The events staff must look at: reported, flagged by WeChat's checks, or hidden."""

    class Meta:
        proxy = True
        verbose_name = _("moderation case")
        verbose_name_plural = _("moderation queue")


class RedeemCode(models.Model):
    """One redeem code of a ``code``-delivery prize: the n-th code goes to its n-th winner.

    "n-th" is the order of ``Entry.prize_rank`` within the prize, which the draw fixes, so the
    mapping needs no write after the draw and nobody can choose who gets which code.
    """

    prize = models.ForeignKey(
        Prize, verbose_name=_("prize"), on_delete=models.CASCADE, related_name="redeem_codes"
    )
    position = models.PositiveIntegerField(_("position"))
    code = models.CharField(_("code"), max_length=64)

    class Meta:
        verbose_name = _("redeem code")
        verbose_name_plural = _("redeem codes")
        constraints = [
            models.UniqueConstraint(fields=["prize", "position"], name="redeem_codes_one_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.prize_id}#{self.position}"


class Claim(models.Model):
    """A winner's claim of their prize. ``events.claims`` is its only writer: the other apps
    (``draws.substitutions`` for an alternate's offer and a forfeit) call its functions.

    The state machine (``status``). Each transition has one owner, a function of
    ``events.claims``; each is a conditional UPDATE on ``status`` (an INSERT for a new row)
    whose row count decides a race, logged as ``claim <id>: <from> -> <to>`` by the module's
    one transition helper, which refuses a transition not in ``events.claims.TRANSITIONS``:

    =========  =========  ===================================  ===================================
    from       to         when, by whom                        owner
    =========  =========  ===================================  ===================================
    (none)     UNCLAIMED  a winner's row: the reminder sweep,  ``events.claims.claims_open``
                          the expiry sweep (window passed
                          with no row), the first claim, a
                          disqualification
    (none)     UNCLAIMED  an alternate is offered the unit     ``events.claims.claim_offer``
                          (``offered_at``; window from then)
    UNCLAIMED  CLAIMED    the winner, before it expired        ``events.claims.claim_submit``
    CLAIMED    CLAIMED    the winner corrects, until shipped   ``events.claims.claim_submit``
    CLAIMED    SHIPPED    the creator                          ``events.claims.claim_ship``
    UNCLAIMED  FORFEITED  the sweeper once it expired; the     ``events.claims.claim_forfeit``
                          creator's disqualification
    CLAIMED    FORFEITED  the creator's disqualification       ``events.claims.claim_forfeit``
    =========  =========  ===================================  ===================================

    SHIPPED and FORFEITED are final; a forfeited claim's entry no longer holds the prize (the
    unit passed to an alternate, ``draws.substitutions``, which calls ``claim_forfeit`` and
    ``claim_offer``). A winner may have no row yet: that reads as UNCLAIMED with the event's
    deadline (``drawn_at`` + ``claim_days``).

    ``expired`` is not stored, and has one definition (``is_expired``, ``expired_q``): UNCLAIMED
    (or no row) at or after ``deadline``. The winner's view, the creator's list, the claim
    refusal, the reminder and the expiry sweeper all read it from there. Personal data lives
    only in the encrypted ``details`` (events.claim_crypto) and is blanked
    ``CLAIM_ERASE_AFTER_DAYS`` after the claim closes (shipped, or its deadline for a claim never
    shipped). ``reminded_at``, ``erased_at`` and ``details`` change no state (``events.claims``
    writes them too); ``notified_at`` is the notifications' outbox mark, which they set.
    """

    class Status(models.TextChoices):
        UNCLAIMED = "unclaimed", _("unclaimed")
        CLAIMED = "claimed", _("claimed")
        SHIPPED = "shipped", _("shipped")
        # The prize passed to an alternate (window passed unclaimed, or disqualified): final.
        FORFEITED = "forfeited", _("passed to an alternate")

    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=claim_public_id, editable=False
    )
    entry = models.OneToOneField(
        Entry, verbose_name=_("entry"), on_delete=models.CASCADE, related_name="claim"
    )
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="claims"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UNCLAIMED
    )
    deadline = models.DateTimeField(_("deadline"))
    # Fernet token of the JSON of the shipping fields; "" when none given or erased.
    details = models.TextField(_("encrypted details"), blank=True, default="", editable=False)
    carrier = models.CharField(_("carrier"), max_length=50, blank=True, default="")
    tracking_number = models.CharField(_("tracking number"), max_length=50, blank=True, default="")
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    # Outbox mark, like EventLog.notified_at: set by notifications once the "shipped" WeChat
    # message (if the winner holds quota) is recorded.
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # An alternate's claim: when the prize passed to them (their window starts then; the inbox
    # shows it). None for the draw's own winners.
    offered_at = models.DateTimeField(_("offered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        permissions = [("view_claim_personal_data", _("Can read winners' addresses and phones"))]
        indexes = [
            models.Index(fields=["erased_at", "status"], name="claims_erase_due"),
            models.Index(fields=["status", "notified_at"], name="claims_outbox"),
            # The sweeper's expiry: unclaimed claims past their deadline.
            models.Index(fields=["status", "deadline"], name="claims_expiry_due"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    # "expired": the one rule, in Python and in SQL. The two must agree to the microsecond:
    # expired at ``deadline`` itself.
    EXPIRED = "expired"

    @staticmethod
    def is_expired(status: str | None, *, deadline: datetime, now: datetime) -> bool:
        """Unclaimed (``None``: no row yet) at or after ``deadline``."""
        return (status or Claim.Status.UNCLAIMED) == Claim.Status.UNCLAIMED and now >= deadline

    @staticmethod
    def expired_q(*, now: datetime, prefix: str = "") -> models.Q:
        """``is_expired`` for claim rows in a query (``prefix``: the path to them, ``claim__``)."""
        return models.Q(
            **{f"{prefix}status": Claim.Status.UNCLAIMED, f"{prefix}deadline__lte": now}
        )

    @staticmethod
    def unexpired_q(*, now: datetime, prefix: str = "") -> models.Q:
        """Unclaimed and not expired: the other side of ``expired_q``."""
        return models.Q(**{f"{prefix}status": Claim.Status.UNCLAIMED, f"{prefix}deadline__gt": now})

    @staticmethod
    def state_at(status: str | None, *, deadline: datetime, now: datetime) -> str:
        """unclaimed | claimed | shipped | forfeited | expired, as of ``now`` (None: no row)."""
        if Claim.is_expired(status, deadline=deadline, now=now):
            return Claim.EXPIRED
        return status or Claim.Status.UNCLAIMED


class ClaimAccess(models.Model):
    """Audit log: every decryption of a claim's personal data, with who, when and why."""

    claim = models.ForeignKey(
        Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="accesses"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reader"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=32)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("claim data access")
        verbose_name_plural = _("claim data accesses")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.actor_id} read {self.claim_id} ({self.reason})"


class Substitution(models.Model):
    """A prize unit passing from a winner to an alternate.

    Written only by ``draws.substitutions``; the proof lists every row (docs/fairness.md).
    ``unit`` is the unit's rank in the draw (``Entry.prize_rank``). v1/v2: ``step`` is the
    draw's order step that named the alternate. v3: the alternate is drawn with a fresh beacon
    round (``beacon_round``, ``pending`` until it is out). ``replacement`` is empty when the
    unit was recorded unawarded (it had passed ``max_substitutions`` times, or nobody is left)
    or while it is pending. The database makes each winner replaced once, each entrant an
    alternate once, each step used once.
    """

    class Reason(models.TextChoices):
        EXPIRED = "expired", _("claim window passed unclaimed")
        FAKE_ACCOUNT = "fake_account", _("fake account")
        DUPLICATE_ACCOUNT = "duplicate_account", _("duplicate account")
        INELIGIBLE = "ineligible", _("not eligible under the event's rules")
        RULE_VIOLATION = "rule_violation", _("broke the event's rules")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="substitutions"
    )
    prize = models.ForeignKey(
        Prize, verbose_name=_("prize"), on_delete=models.PROTECT, related_name="+"
    )
    unit = models.PositiveIntegerField(_("prize unit"))
    replaced = models.OneToOneField(
        Entry,
        verbose_name=_("replaced winner"),
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    replaced_key = models.CharField(_("replaced entrant key"), max_length=24)
    replacement = models.OneToOneField(
        Entry,
        verbose_name=_("alternate"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="substituted_in",
    )
    replacement_key = models.CharField(_("alternate's key"), max_length=24, blank=True, default="")
    step = models.PositiveIntegerField(_("order step"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    # v3: the alternate is drawn among the entrants who never held a unit, with a beacon round
    # named when the substitution is recorded (the first at or after ``created_at`` + the
    # event's gap). Until that round is out the substitution is ``pending``: the unit has no
    # holder. ``resolved_at``: when the alternate was drawn (their claim window starts then);
    # ``replacement_position``: their place in the sorted entrant list.
    pending = models.BooleanField(_("waiting for its round"), db_default=False)
    beacon_round = models.PositiveBigIntegerField(_("beacon round"), null=True, blank=True)
    beacon = models.JSONField(_("beacon round data"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("alternate drawn at"), null=True, blank=True)
    replacement_position = models.PositiveIntegerField(
        _("alternate's position"), null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # Outbox mark of the alternate's WeChat message (notifications), like Claim.notified_at.
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("substitution")
        verbose_name_plural = _("substitutions")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "step"], name="substitutions_one_per_step"),
        ]
        indexes = [
            models.Index(fields=["event", "unit"], name="substitutions_event_unit"),
            models.Index(fields=["notified_at"], name="substitutions_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} unit {self.unit}: {self.replaced_key} -> {self.replacement_key}"


class PromotionRecord(models.Model):
    """What we keep of a prize won by someone who deleted their account (docs/privacy.md).

    规范促销行为暂行规定 (art. 19) asks a promoter to keep who won what, and when, for two
    years. The winner is pseudonymised: their public id (as the draw's proof names them) and
    ``winner_ref``, an HMAC of their WeChat openid (``accounts.services.user_pseudonym``), which
    names nobody but matches the same person should they log in again. Written by
    ``events.personal_data`` when the account is erased; deleted from ``keep_until`` on
    (PRIVACY_PROMOTION_RECORD_DAYS after the draw) by the retention sweep.
    """

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    prize = models.ForeignKey(
        Prize, verbose_name=_("prize"), on_delete=models.CASCADE, related_name="+"
    )
    winner_key = models.CharField(_("winner's public id"), max_length=24)
    winner_ref = models.CharField(_("winner's pseudonym"), max_length=64)
    # The claim's state when the account was erased: unclaimed, claimed, shipped, expired.
    claim_state = models.CharField(_("claim state"), max_length=10, blank=True, default="")
    drawn_at = models.DateTimeField(_("drawn at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    keep_until = models.DateTimeField(_("kept until"))

    class Meta:
        verbose_name = _("promotion record")
        verbose_name_plural = _("promotion records")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "winner_key"], name="promotion_records_one_per_winner"
            ),
        ]
        indexes = [models.Index(fields=["keep_until"], name="promotion_records_expiry")]

    def __str__(self) -> str:
        return f"{self.winner_key} won {self.prize_id} in {self.event_id}"
