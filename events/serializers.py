"""Input and output shapes of the events API. Validation of shapes only: rules live in services."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import ImageOutput, PublicUserOutput, UserOutput
from events import conditions, fraud, selectors, square
from events.models import (
    MAX_CLAIM_DAYS,
    MAX_CODE_LENGTH,
    MAX_PRIZE_NAME_LENGTH,
    MAX_PRIZE_QUANTITY,
    MAX_PRIZES,
    Event,
    Exclusion,
    Report,
)
from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer
from wechat.open_data import MAX_ENCRYPTED_CHARS

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


class GroupDataInput(InputSerializer):
    """What ``wx.getGroupEnterInfo`` (or ``wx.getChatToolInfo``) gave the client, as it is."""

    encrypted_data = serializers.CharField(max_length=MAX_ENCRYPTED_CHARS)
    iv = serializers.CharField(max_length=64)


class NewUsersInput(InputSerializer):
    rule = serializers.ChoiceField(
        choices=conditions.NEW_USER_RULES,
        help_text="after_event: accounts created after the event; within_days: accounts at "
        "most `days` days old when they join",
    )
    days = serializers.IntegerField(
        min_value=1, max_value=conditions.NEW_USER_DAYS_MAX, required=False, allow_null=True
    )


class QuestionInput(InputSerializer):
    text = serializers.CharField(min_length=1, max_length=conditions.QUESTION_MAX_LENGTH)
    choices = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=conditions.CHOICE_MAX_LENGTH),
        min_length=conditions.CHOICES_MIN,
        max_length=conditions.CHOICES_MAX,
    )
    answer = serializers.IntegerField(
        min_value=0,
        max_value=conditions.CHOICES_MAX - 1,
        help_text="the index of the right choice (never shown to entrants)",
    )


class RiskInput(InputSerializer):
    threshold = serializers.IntegerField(
        min_value=min(conditions.RISK_THRESHOLDS),
        max_value=max(conditions.RISK_THRESHOLDS),
        help_text="refuse an entrant whose WeChat risk rank (0-4) is at or above this",
    )
    when_unavailable = serializers.ChoiceField(
        choices=conditions.WHEN_UNAVAILABLE,
        help_text="what a join gets while WeChat's risk check does not answer",
    )


class ConditionsInput(InputSerializer):
    """Entry conditions, each kind optional; on an edit a kind set to null is removed and a
    kind left out stays as it is. Frozen from the first join on."""

    password = serializers.CharField(
        max_length=conditions.PASSWORD_MAX_LENGTH,
        required=False,
        allow_null=True,
        help_text="口令: the phrase entrants must send (compared ignoring case, width and extra "
        "spaces); never shown",
    )
    group = GroupDataInput(
        required=False,
        allow_null=True,
        help_text="group only: the creator's own wx.getGroupEnterInfo data, from the group",
    )
    new_users = NewUsersInput(required=False, allow_null=True)
    question = QuestionInput(required=False, allow_null=True)
    risk = RiskInput(required=False, allow_null=True)


class _RefusesForbiddenRules(InputSerializer):
    """An event's body naming what WeChat's rules (运营规范 5.1) forbid is refused by the rule's
    own error, before anything else (events.conditions.FORBIDDEN)."""

    def to_internal_value(self, data):
        conditions.refuse_forbidden(data)
        return super().to_internal_value(data)


class EventCreateInput(_RefusesForbiddenRules, _DeliveryFields):
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
    conditions = ConditionsInput(required=False)


class EventUpdateInput(_RefusesForbiddenRules, _DeliveryFields):
    """Only these may change; ``status``, ``creator`` or counters in the body are a 400."""

    title = serializers.CharField(min_length=1, max_length=100, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    draw_at = AwareDateTimeField(required=False)
    prizes = PrizeInput(many=True, min_length=1, max_length=MAX_PRIZES, required=False)
    cover = serializers.CharField(
        **UPLOAD_ID, help_text='id of an upload with purpose "cover"; "" removes the cover'
    )
    visibility = serializers.ChoiceField(choices=Event.Visibility.values, required=False)
    conditions = ConditionsInput(required=False)


class JoinInput(InputSerializer):
    """What a join carries for the event's entry conditions (nothing for an event without)."""

    password = serializers.CharField(max_length=64, required=False, allow_blank=True)
    answer = serializers.IntegerField(
        min_value=0, max_value=conditions.CHOICES_MAX - 1, required=False
    )
    group = GroupDataInput(
        required=False, help_text="the entrant's own wx.getGroupEnterInfo data, from the group"
    )


# A join with conditions validates its body through one instance (``run_validation`` keeps no
# state; a new serializer deep-copies its fields, the nested group's too): see SQUARE_QUERY.
JOIN_INPUT = JoinInput()


def join_answers(body) -> conditions.Answers:
    """A join's body, validated (``invalid_input``), as the conditions' checks read it."""
    data = JOIN_INPUT.run_validation(body if body is not None else {})
    group = data.get("group") or {}
    return conditions.Answers(
        password=data.get("password"),
        answer=data.get("answer"),
        group_encrypted_data=group.get("encrypted_data"),
        group_iv=group.get("iv"),
    )


# Why an entrant was excluded: any reason (the proof, the inbox), and those a creator may give.
EXCLUSION_REASONS = list(Exclusion.Reason.values)
CREATOR_EXCLUSION_REASONS = [str(reason) for reason in Exclusion.CREATOR_REASONS]


class ExclusionInput(InputSerializer):
    entrant = serializers.CharField(max_length=24, help_text="the flagged entrant's user id")
    reason = serializers.ChoiceField(choices=CREATOR_EXCLUSION_REASONS)


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


class ConditionOutput(serializers.Serializer):
    """One entry condition as anyone may read it: never the password, the group's id or the
    question's answer. Fields other than ``kind`` come with their kind only."""

    kind = serializers.ChoiceField(choices=conditions.KINDS)
    rule = serializers.ChoiceField(
        choices=conditions.NEW_USER_RULES, required=False, help_text="new_users"
    )
    days = serializers.IntegerField(
        required=False, allow_null=True, help_text="new_users, rule within_days"
    )
    text = serializers.CharField(required=False, help_text="question")
    choices = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="question: send the index"
    )
    threshold = serializers.IntegerField(
        required=False, help_text="risk: WeChat's rank (0-4) at or above which a join is refused"
    )
    when_unavailable = serializers.ChoiceField(
        choices=conditions.WHEN_UNAVAILABLE, required=False, help_text="risk"
    )
    scene = serializers.ChoiceField(
        choices=["marketing"], required=False, help_text="risk: WeChat's scene 营销作弊"
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
    conditions = serializers.SerializerMethodField(
        help_text="The entry conditions (docs/miniprogram.md says what to send for each)."
    )
    commitment = serializers.CharField(source="seed_commitment")
    fairness = FairnessOutput(source="*")
    created_at = AwareDateTimeField()

    @extend_schema_field(ConditionOutput(many=True))
    def get_conditions(self, event) -> list:
        return conditions.public(event.entry_conditions)


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
    """One entrant as the public sees them: masked unless they chose to be shown."""

    user = PublicUserOutput()
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


class FlagOutput(serializers.Serializer):
    entrant = serializers.CharField(source="user_key", help_text="the entrant's user id")
    joined_at = AwareDateTimeField()
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=fraud.REASONS))


class ExclusionCountOutput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=EXCLUSION_REASONS)
    count = serializers.IntegerField()


class FlagsOutput(serializers.Serializer):
    """The creator's anti-fraud page: who is flagged and why, and what was excluded so far."""

    flagged = FlagOutput(many=True)
    excluded = ExclusionCountOutput(many=True)


class ExclusionOutput(serializers.Serializer):
    entrant = serializers.CharField(source="user_key")
    reason = serializers.ChoiceField(choices=EXCLUSION_REASONS)
    flags = serializers.SerializerMethodField()
    excluded_at = AwareDateTimeField(source="created_at")

    def get_flags(self, exclusion) -> list[str]:
        return [flag for flag in exclusion.flags.split(",") if flag]
