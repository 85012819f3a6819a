"""Live draws (现场开奖): an event drawn round by round on its host's command, pushed as it goes.

Only ``live.services`` writes these tables. A live event is an ``events.Event`` with ``live``
set; its entrants join it like any event. The host locks it (the event's own lock: the frozen
entrant list and its digest, ``draws.services.event_lock``), then draws its rounds one by one.
Each round draws one or more of the event's prize tiers among the entrants who have not won in
an earlier round, with its own committed seed and a beacon round named after that round's lock,
and publishes its own proof, chained to the previous round's result (docs/fairness.md, "Live
rounds"). Everything that happens is appended to the event's message log (``LiveMessage``),
numbered without gaps: the big screen and the phones get it pushed over a websocket and replay
what they missed from it, so every screen shows what the proofs say.

The state machine of ``LiveEvent.phase``, each transition one conditional UPDATE in
``live.services`` whose row count decides a race:

=======  =======  ===============================================  ============================
from     to       when, by whom                                    owner
=======  =======  ===============================================  ============================
(none)   OPEN     the creator marks an event live (nobody joined)  ``live_start``
OPEN     LOCKED   the host locks (or the event locked on schedule  ``live_lock``
                  and the host draws its first round)
LOCKED   PAUSED   the host pauses: no round can be started         ``live_pause``
PAUSED   LOCKED   the host resumes                                 ``live_resume``
any      ENDED    the host ends it (rounds not drawn stay undrawn) ``live_end``
=======  =======  ===============================================  ============================

A round (``LiveRound.status``): PLANNED -> LOCKED (``round_lock``: the host's "draw next
round"; its inputs are frozen and its beacon round named) -> DRAWN (``round_draw``: the
worker, once the reveal gap has passed and the round is out). ENDED does not stop a round
already locked: its result is fixed from the lock on, and it is drawn and published.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Entry, Event, Prize
from lottery_site.ids import new_public_id


def screen_public_id() -> str:
    return new_public_id("s_")


class LiveEvent(models.Model):
    class Phase(models.IntegerChoices):
        OPEN = 0, _("open for entries")
        LOCKED = 1, _("locked, drawing rounds")
        PAUSED = 2, _("paused")
        ENDED = 9, _("ended")

    PHASE_NAMES = {
        Phase.OPEN: "open",
        Phase.LOCKED: "locked",
        Phase.PAUSED: "paused",
        Phase.ENDED: "ended",
    }

    event = models.OneToOneField(
        Event,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="live_event",
    )
    phase = models.PositiveSmallIntegerField(
        _("phase"), choices=Phase.choices, default=Phase.OPEN, db_default=Phase.OPEN
    )
    # The number of the last message of the log: the next one is seq + 1, written under the
    # row lock this counter's UPDATE takes, so the log has no gap and no repeat.
    seq = models.PositiveBigIntegerField(_("last message"), default=0, db_default=0)
    # The last entry (by primary key) a "joins" message announced. Joins take the event's row
    # lock before inserting, so entry ids grow in commit order within an event.
    joins_mark = models.PositiveBigIntegerField(_("joins announced up to"), default=0, db_default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("live event")
        verbose_name_plural = _("live events")

    def __str__(self) -> str:
        return f"live {self.event_id} ({self.PHASE_NAMES[self.phase]})"

    @property
    def phase_name(self) -> str:
        return self.PHASE_NAMES[self.phase]


class LiveRound(models.Model):
    class Status(models.IntegerChoices):
        PLANNED = 0, _("planned")
        LOCKED = 1, _("locked, waiting for its beacon round")
        DRAWN = 2, _("drawn")

    STATUS_NAMES = {Status.PLANNED: "planned", Status.LOCKED: "locked", Status.DRAWN: "drawn"}

    live = models.ForeignKey(
        LiveEvent, verbose_name=_("live event"), on_delete=models.CASCADE, related_name="rounds"
    )
    number = models.PositiveSmallIntegerField(_("round"))
    # The prize tiers this round draws, in tier order: public ids of the event's prizes.
    prizes = models.JSONField(_("prizes"))
    # The round's own secret seed, committed (SHA-256) when the round was planned, revealed at
    # its draw.
    seed = models.BinaryField(_("seed"), max_length=32, editable=False)
    commitment = models.CharField(_("seed commitment"), max_length=64)
    status = models.PositiveSmallIntegerField(
        _("status"), choices=Status.choices, default=Status.PLANNED, db_default=Status.PLANNED
    )
    # Frozen by the round's lock (live.proof): who could win, what, after which result.
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    entrant_count = models.PositiveIntegerField(_("eligible entrants"), null=True, blank=True)
    entrants_digest = models.CharField(_("eligible entrants digest"), max_length=64, blank=True)
    prizes_digest = models.CharField(_("prizes digest"), max_length=64, blank=True)
    previous_result = models.CharField(_("previous result digest"), max_length=64, blank=True)
    round_digest = models.CharField(_("round digest"), max_length=64, blank=True)
    reveal_gap_seconds = models.PositiveIntegerField(_("reveal gap (s)"), null=True, blank=True)
    beacon_chain = models.JSONField(_("beacon chain"), null=True, blank=True)
    beacon_round = models.PositiveBigIntegerField(_("beacon round"), null=True, blank=True)
    beacon = models.JSONField(_("beacon round data"), null=True, blank=True)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    result_digest = models.CharField(_("result digest"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("live round")
        verbose_name_plural = _("live rounds")
        ordering = ["live", "number"]
        constraints = [
            models.UniqueConstraint(fields=["live", "number"], name="live_rounds_one_per_number"),
        ]
        indexes = [models.Index(fields=["status", "locked_at"], name="live_rounds_due")]

    def __str__(self) -> str:
        return f"round {self.number} of {self.live_id}"

    @property
    def status_name(self) -> str:
        return self.STATUS_NAMES[self.status]

    @property
    def reveal_at(self) -> datetime | None:
        """The earliest moment the round may be drawn: the reveal gap after its lock."""
        if self.locked_at is None:
            return None
        return self.locked_at + timedelta(seconds=self.reveal_gap_seconds or 0)


class LiveWinner(models.Model):
    """One prize unit a round gave: an entrant wins at most once per live event (database)."""

    live = models.ForeignKey(
        LiveEvent, verbose_name=_("live event"), on_delete=models.CASCADE, related_name="winners"
    )
    round = models.ForeignKey(
        LiveRound, verbose_name=_("round"), on_delete=models.CASCADE, related_name="winners"
    )
    entry = models.ForeignKey(
        Entry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="+"
    )
    user_key = models.CharField(_("entrant key"), max_length=24)
    prize = models.ForeignKey(
        Prize, verbose_name=_("prize"), on_delete=models.PROTECT, related_name="+"
    )
    # Order of the win in its round (0 = first drawn), the order the round's proof implies.
    rank = models.PositiveIntegerField(_("rank in round"))

    class Meta:
        verbose_name = _("live winner")
        verbose_name_plural = _("live winners")
        ordering = ["round", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["live", "entry"], name="live_winners_one_win_each"),
            models.UniqueConstraint(fields=["round", "rank"], name="live_winners_one_per_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.user_key} won in {self.round_id}"


class LiveMessage(models.Model):
    """The event's log, pushed to every socket: stored once, sent by its number.

    ``payload`` holds only what anyone may see (masked names, avatars, public ids, digests).
    """

    class Kind(models.TextChoices):
        STARTED = "started", _("made live")
        JOINS = "joins", _("entrants joined")
        LOCKED = "locked", _("entries locked")
        ROUND_LOCKED = "round_locked", _("round locked")
        ROUND_DRAWN = "round_drawn", _("round drawn")
        PAUSED = "paused", _("paused")
        RESUMED = "resumed", _("resumed")
        ENDED = "ended", _("ended")
        SCREEN_REVOKED = "screen_revoked", _("screen link revoked")

    live = models.ForeignKey(
        LiveEvent, verbose_name=_("live event"), on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveBigIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("live message")
        verbose_name_plural = _("live messages")
        ordering = ["live", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["live", "seq"], name="live_messages_one_per_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} of {self.live_id}"


class ScreenLink(models.Model):
    """A big-screen link: whoever holds its token sees the screen, and nothing more.

    Only the token's SHA-256 is stored; the link is shown once, when it is made. Revoked, it
    stops at once: the page answers 404 and its open sockets are closed.
    """

    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=screen_public_id, editable=False
    )
    live = models.ForeignKey(
        LiveEvent, verbose_name=_("live event"), on_delete=models.CASCADE, related_name="screens"
    )
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("made by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("screen link")
        verbose_name_plural = _("screen links")

    def __str__(self) -> str:
        return self.public_id
