"""Input and output shapes of the events API. Validation of shapes only: rules live in services."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import ImageOutput, UserOutput
from events import selectors, square
from events.models import (
    MAX_CLAIM_DAYS,
    MAX_CODE_LENGTH,
    MAX_PRIZE_NAME_LENGTH,
    MAX_PRIZE_QUANTITY,
    MAX_PRIZES,
    Event,
    Report,
)
from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer

# --- input ----------------------------------------------------------------------------------


# An id is exact (lottery_site.ids): "img_… " is not "img_…", so no trimming.
UPLOAD_ID = {"max_length": 24, "required": False, "allow_blank": True, "trim_whitespace": False}


class PrizeInput(InputSerializer):
    name = serializers.CharField(min_length=1, max_length=MAX_PRIZE_NAME_LENGTH)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_PRIZE_QUANTITY)
    image = serializers.CharField(**UPLOAD_ID, help_text='id of an upload with purpose "prize"')
    codes = serializers.ListField(
        child=serializers.CharField(max_length=MAX_CODE_LENGTH),
        max_length=MAX_PRIZE_QUANTITY,
        required=False,
        help_text="`code` delivery only: one redeem code per unit; each winner sees only theirs.",
    )


class _DeliveryFields(InputSerializer):
    delivery = serializers.ChoiceField(choices=Event.Delivery.values, required=False)
    claim_days = serializers.IntegerField(min_value=1, max_value=MAX_CLAIM_DAYS, required=False)
    contact_note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class EventCreateInput(_DeliveryFields):
    title = serializers.CharField(min_length=1, max_length=100)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    draw_at = AwareDateTimeField()
    prizes = PrizeInput(many=True, min_length=1, max_length=MAX_PRIZES)
    draw_mode = serializers.ChoiceField(choices=Event.DrawMode.values, required=False)
    target_participants = serializers.IntegerField(
        min_value=1, max_value=10_000_000, required=False, allow_null=True
    )
    cover = serializers.CharField(**UPLOAD_ID, help_text='id of an upload with purpose "cover"')
    visibility = serializers.ChoiceField(
        choices=Event.Visibility.values,
        required=False,
        help_text="unlisted (default): only who has the link; public: also on the square",
    )


class EventUpdateInput(_DeliveryFields):
    """Only these may change; ``status``, ``creator`` or counters in the body are a 400."""

    title = serializers.CharField(min_length=1, max_length=100, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    draw_at = AwareDateTimeField(required=False)
    prizes = PrizeInput(many=True, min_length=1, max_length=MAX_PRIZES, required=False)
    cover = serializers.CharField(
        **UPLOAD_ID, help_text='id of an upload with purpose "cover"; "" removes the cover'
    )
    visibility = serializers.ChoiceField(choices=Event.Visibility.values, required=False)


class ReportInput(InputSerializer):
    reason = serializers.ChoiceField(choices=Report.Reason.values)


class ReportOutput(serializers.Serializer):
    event_id = serializers.CharField()
    reason = serializers.CharField(help_text="the reason of the caller's first report")
    reported_at = AwareDateTimeField()


class CancelInput(InputSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SquareQuery(serializers.Serializer):
    sort = serializers.ChoiceField(choices=square.SORTS, required=False, default="hot")
    # allow_blank: DRF reads a blank query parameter as an absent one unless blanks are allowed,
    # so "?cursor=" served the first page; now it reaches the view, which refuses it as it
    # refuses every cursor we did not issue.
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)
    page_size = serializers.IntegerField(min_value=1, max_value=100, required=False, default=20)


# The most read page validates its query through one instance: ``run_validation`` keeps no
# state, and a new serializer deep-copies its fields (a third of the view's own time in a
# profile; unmeasured by a benchmark on its own).
SQUARE_QUERY = SquareQuery()


class MyEventsQuery(serializers.Serializer):
    role = serializers.ChoiceField(choices=selectors.ROLES, required=False, default="joined")


# --- output ---------------------------------------------------------------------------------


# The names clients see for an event's status (an enum in the OpenAPI document).
STATUS_CHOICES = list(Event.STATUS_NAMES.values())


class PrizeRefOutput(serializers.Serializer):
    """A prize wherever it is named (an entry's prize, a winner's, the inbox's): one shape."""

    id = serializers.CharField(source="public_id")
    name = serializers.CharField()


class PrizeOutput(PrizeRefOutput):
    quantity = serializers.IntegerField()
    image = ImageOutput(allow_null=True)


# A claim's states as its winner (or former winner) sees them in ``my_entry``.
MY_CLAIM_STATES = ("unclaimed", "claimed", "shipped", "expired", "forfeited")


class MyClaimStateOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=MY_CLAIM_STATES,
        help_text="forfeited: the prize passed to an alternate (window passed unclaimed, or "
        "disqualified); `prize` is then null",
    )
    deadline = AwareDateTimeField()


class MyEntryOutput(serializers.Serializer):
    joined = serializers.BooleanField()
    joined_at = AwareDateTimeField(allow_null=True)
    prize = PrizeRefOutput(allow_null=True)
    claim = MyClaimStateOutput(
        allow_null=True,
        help_text="A winner's claim (null unless won and the event has a claim step); "
        "details at `GET /events/{id}/claim`.",
    )


class BeaconChainRefOutput(serializers.Serializer):
    hash = serializers.CharField()
    name = serializers.CharField(help_text="e.g. League of Entropy quicknet")


class FairnessOutput(serializers.Serializer):
    """How the event is drawn, fixed at creation (docs/fairness.md): shown before anyone joins."""

    algorithm = serializers.CharField(source="fairness_algorithm")
    beacon = serializers.SerializerMethodField(
        help_text="Whether the draw mixes in a public drand beacon round named at the lock. "
        "false: created while no beacon was configured; drawn without one (a weaker guarantee)."
    )
    beacon_chain = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField(help_text="The same, in words for entrants.")

    def get_beacon(self, event) -> bool:
        return bool(event.beacon_chain)

    @extend_schema_field(BeaconChainRefOutput(allow_null=True))
    def get_beacon_chain(self, event) -> dict | None:
        chain = event.beacon_chain
        if not chain:
            return None
        return {"hash": chain["hash"], "name": chain.get("name") or chain["hash"][:12]}

    def get_note(self, event) -> str:
        if event.beacon_chain:
            return _(
                "The draw mixes in a public beacon round published after the lock: nobody, "
                "us included, can know or steer the result."
            )
        return _(
            "No public beacon was configured when this event was created: it is drawn "
            "without one, from the seed committed at creation and the entrant list alone."
        )


class EventPublicOutput(serializers.Serializer):
    """What every viewer sees alike and what rarely changes: rendered once per revision by
    ``events.read_model`` (the public part), for the detail and the square's cards."""

    id = serializers.CharField(source="public_id")
    title = serializers.CharField()
    description = serializers.CharField()
    draw_mode = serializers.ChoiceField(choices=Event.DrawMode.values)
    target_participants = serializers.IntegerField(allow_null=True)
    delivery = serializers.ChoiceField(choices=Event.Delivery.values)
    claim_days = serializers.IntegerField()
    creator = UserOutput()
    cover = ImageOutput(allow_null=True)
    visibility = serializers.ChoiceField(choices=Event.Visibility.values)
    prizes = PrizeOutput(many=True, source="ordered_prizes")
    commitment = serializers.CharField(source="seed_commitment")
    fairness = FairnessOutput(source="*")
    created_at = AwareDateTimeField()


class BeaconWaitOutput(serializers.Serializer):
    round = serializers.IntegerField()
    round_at = AwareDateTimeField(help_text="when the round is published")
    waiting = serializers.BooleanField()
    overdue = serializers.BooleanField()
    settles = serializers.ChoiceField(choices=["draw", "cancel"])


class EventLiveOutput(serializers.Serializer):
    """What changes with every join or transition, and the viewer's own entry: never cached."""

    status = serializers.ChoiceField(choices=STATUS_CHOICES, source="status_name")
    phase = serializers.SerializerMethodField(
        help_text="The status as of now: an `init` event past `lock_at` is already `opening`, "
        "even before the sweeper moves `status`."
    )
    joinable = serializers.SerializerMethodField(
        help_text="Whether a join would be admitted now (`phase` is `init`)."
    )
    draw_at = AwareDateTimeField()
    lock_at = AwareDateTimeField()
    participant_count = serializers.IntegerField()
    cancel_reason = serializers.CharField()
    beacon_wait = serializers.SerializerMethodField(
        help_text="While the event is locked: the beacon round its draw (or a cancel asked "
        "after the lock) waits for. `waiting`: the round's time has passed and no relay has "
        "served it yet; the draw never goes ahead without it. null otherwise."
    )
    my_entry = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=list(Event.STATUS_NAMES.values())))
    @extend_schema_field(serializers.ChoiceField(choices=STATUS_CHOICES))
    def get_phase(self, event) -> str:
        return Event.phase_at(
            status_name=event.status_name, lock_at=event.lock_at, now=timezone.now()
        )

    def get_joinable(self, event) -> bool:
        return self.get_phase(event) == "init"

    @extend_schema_field(BeaconWaitOutput(allow_null=True))
    def get_beacon_wait(self, event) -> dict | None:
        wait = selectors.beacon_wait(event, now=timezone.now())
        return None if wait is None else BeaconWaitOutput(wait).data

    @extend_schema_field(MyEntryOutput)
    def get_my_entry(self, event) -> dict:
        entry = selectors.my_entry(event)
        if entry is None:
            return {"joined": False, "joined_at": None, "prize": None, "claim": None}
        shows_claim = entry.prize or selectors.lost_to_alternate(entry)
        claim = selectors.claim_of_entry(entry, now=timezone.now()) if shows_claim else None
        return _MY_ENTRY.to_representation(
            {"joined": True, "joined_at": entry.created_at, "prize": entry.prize, "claim": claim}
        )


# Serializers deep-copy their fields whenever one is created; rendering through one long-lived
# instance each (they keep no per-call state) spares that on the most read endpoint
# (unmeasured by a benchmark on its own).
_MY_ENTRY = MyEntryOutput()
LIVE = EventLiveOutput()


class EventOutput(EventPublicOutput, EventLiveOutput):
    """An event as the caller sees it: the public part and the live part, one shape."""


class EntryOutput(serializers.Serializer):
    """One entrant as the public sees them: never an openid or session data."""

    user = UserOutput()
    joined_at = AwareDateTimeField(source="created_at")


class ShareOutput(serializers.Serializer):
    """What ``onShareAppMessage`` returns, and the mini-program code to save or show."""

    title = serializers.CharField()
    path = serializers.CharField(help_text="the page and query the share card opens")
    image = ImageOutput(help_text="the event's mini-program code (wxacode.getUnlimited)")


class JoinOutput(serializers.Serializer):
    event_id = serializers.CharField()
    joined = serializers.BooleanField()
    joined_at = AwareDateTimeField(allow_null=True)


JOIN = JoinOutput()  # the flash-crowd path renders through one instance too (see LIVE)


class SquareEventPublicOutput(serializers.Serializer):
    """An event's card on the square: fields of the public part, and ``draw_at``, ``lock_at``
    as the square's check of the page read them (``events.read_model.cards`` assembles it)."""

    id = serializers.CharField(source="public_id")
    title = serializers.CharField()
    cover = ImageOutput(allow_null=True)
    creator = UserOutput()
    prizes = PrizeOutput(many=True, source="ordered_prizes")
    draw_mode = serializers.ChoiceField(choices=Event.DrawMode.values)
    target_participants = serializers.IntegerField(allow_null=True)
    draw_at = AwareDateTimeField()
    lock_at = AwareDateTimeField()
    created_at = AwareDateTimeField()


class SquareEventOutput(SquareEventPublicOutput):
    participant_count = serializers.IntegerField(help_text="entrants now")
    recent_joins = serializers.IntegerField(
        help_text="joins in the hot window (SQUARE_HOT_WINDOW_HOURS), as of the last re-sort"
    )
