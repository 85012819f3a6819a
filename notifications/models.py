"""The WeChat side of notifications: what each user allowed us to send, and what we sent.

The in-app inbox needs no table of its own per entrant: a user's notifications are derived from
their entries and the events' "draw"/"cancel" log rows (``notifications.selectors``), and the
only per-user state is how far they have read (``InboxState``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event


class SubscriptionQuota(models.Model):
    """How many messages of one template we may still send to one user.

    WeChat's subscribe messages are one-shot: every acceptance in ``wx.requestSubscribeMessage``
    allows exactly one message and WeChat cannot be asked what is left, so we count. Only
    ``notifications.services`` changes ``quota``, always by a conditional UPDATE or under a row lock.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="subscription_quotas",
    )
    template_id = models.CharField(_("template id"), max_length=64)
    quota = models.PositiveIntegerField(_("remaining messages"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscription quota")
        verbose_name_plural = _("subscription quotas")
        constraints = [
            models.UniqueConstraint(fields=["user", "template_id"], name="quota_one_per_template"),
            models.CheckConstraint(condition=models.Q(quota__gte=0), name="quota_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} × {self.quota}"


class Delivery(models.Model):
    """One WeChat message to one user about one event: at most one per (event, user, kind).

    States: ``pending`` (waiting for a batch), ``sending`` (claimed by a batch; the claim expires
    at ``next_attempt_at``), ``retrying`` (WeChat busy or unreachable; due at
    ``next_attempt_at``), and the final ``sent``, ``refused`` (43101), ``failed`` (our request
    was wrong, attempts exhausted, or the worker died mid-send so the outcome is unknown) and
    ``skipped`` (no quota left when its turn came: no WeChat call was made).

    The state machine (``state``). ``notifications.services`` is its only writer; every change
    of ``state`` goes through its one transition helper, a conditional UPDATE (on the state, and
    on the batch's ``claim`` for a batch's own deliveries) whose row count decides, and which
    refuses a transition not in ``notifications.services.TRANSITIONS``. The row keeps its last
    outcome (``errcode``, ``errmsg``, ``finished_at``); the outcomes are counted in
    ``lottery_deliveries_total``:

    ========  ========  =========================================  ============================
    from      to        when                                       owner
    ========  ========  =========================================  ============================
    (none)    PENDING   a fan-out records it (the recipient held   ``outbox_fan_out``,
                        quota for its template then)               ``claims_fan_out``,
                                                                   ``substitutions_fan_out``
    PENDING   SENDING   a batch claims it                          ``deliveries_send``
    RETRYING  SENDING   a batch claims it                          ``deliveries_send``
    SENDING   PENDING   the batch failed before sending anything   ``deliveries_send``
                        (its first attempt)
    SENDING   RETRYING  WeChat busy or unreachable, attempts       ``deliveries_send``
                        left; the batch stopped before its turn
    SENDING   SENT      WeChat accepted it                         ``deliveries_send``
    SENDING   REFUSED   WeChat refused it (43101: no quota)        ``deliveries_send``
    SENDING   FAILED    our request was wrong; attempts exhausted  ``deliveries_send``
    SENDING   SKIPPED   it needed a unit of quota, none was left   ``deliveries_send``
    SENDING   FAILED    its batch's claim expired (worker died)    ``deliveries_expire_claims``
    FAILED    PENDING   staff send it again                        ``deliveries_retry``
    ========  ========  =========================================  ============================

    ``quota_held``, not ``attempts``, says whether it holds a unit of the user's quota: taken
    under the quota row's lock before its first send (False -> True, in the transaction that
    takes the unit), kept through retries and a lost worker, used up when sent or refused,
    given back when it failed on our side (True -> False, with the unit). ``attempts`` only
    counts sends, against NOTIFY_MAX_ATTEMPTS: a staff retry restarts it, and spends a unit
    again only if the last one was given back.
    """

    class Kind(models.TextChoices):
        RESULT = "result", _("draw result")
        SUMMARY = "summary", _("creator summary")
        CANCEL = "cancel", _("cancellation")
        SHIPPED = "shipped", _("prize shipped")
        # A prize passed to this user as the draw's next alternate (draws.substitutions).
        OFFERED = "offered", _("prize passed to an alternate")
        # The creator disqualified this winner; their prize passed on (draws.substitutions).
        DISQUALIFIED = "disqualified", _("winner disqualified")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        RETRYING = "retrying", _("retrying")
        SENT = "sent", _("sent")
        REFUSED = "refused", _("refused (no quota)")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped (no quota)")

    FINAL_STATES = (State.SENT, State.REFUSED, State.FAILED, State.SKIPPED)

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    template_id = models.CharField(_("template id"), max_length=64)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Holds one unit of the user's quota for its template (the docstring says when it changes).
    quota_held = models.BooleanField(_("holds a unit of quota"), default=False, db_default=False)
    # pending/retrying: when it is due (or, once queued, when the sweep may queue it again);
    # sending: when the claim expires.
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # The batch that claimed it (sending); lets the batch record only what it claimed.
    claim = models.CharField(max_length=32, blank=True, default="", editable=False)
    errcode = models.IntegerField(_("WeChat errcode"), null=True, blank=True)
    errmsg = models.CharField(_("error"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("WeChat message")
        verbose_name_plural = _("WeChat messages")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user", "kind"], name="deliveries_once_per_event_user_kind"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="deliveries_due"),
            models.Index(fields=["event", "state"], name="deliveries_event_state"),
            models.Index(fields=["claim"], name="deliveries_claim"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} → {self.user_id}: {self.state}"


class InboxState(models.Model):
    """A user's read position in the inbox: everything up to ``read_up_to`` is read."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="inbox_state",
    )
    read_up_to = models.DateTimeField(_("read up to"))

    class Meta:
        verbose_name = _("inbox read state")
        verbose_name_plural = _("inbox read states")

    def __str__(self) -> str:
        return f"{self.user_id} read up to {self.read_up_to:%Y-%m-%d %H:%M:%S}"


class EventDeliveries(Event):
    """The events, seen from the back office as their WeChat delivery counts."""

    class Meta:
        proxy = True
        verbose_name = _("event notifications")
        verbose_name_plural = _("event notifications")
