"""What the draw publishes: the proof, the winners, the unawarded prizes.

The verifier (tools/verify_draw.py) reads exactly these shapes, so they are shared by the API
and the ``verify_draw`` management command.
"""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import PublicUserOutput
from draws import allocator, selectors
from events import conditions, fraud
from events.models import Substitution
from events.serializers import STATUS_CHOICES, ConditionOutput, ExclusionCountOutput
from events.serializers import PrizeOutput as ProofPrize
from events.serializers import PrizeRefOutput as PrizeRef
from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer


class BeaconChainOutput(serializers.Serializer):
    hash = serializers.CharField()
    scheme = serializers.CharField()
    public_key = serializers.CharField()
    period = serializers.IntegerField()
    genesis_time = serializers.IntegerField()
    # What drand's chain hash also covers, so anyone can recompute it (null: an older event).
    group_hash = serializers.CharField(allow_null=True, default=None)
    beacon_id = serializers.CharField(allow_null=True, default=None)
    name = serializers.CharField(allow_null=True, default=None)

    def to_representation(self, chain):
        data = super().to_representation(chain)
        return {name: value if value != "" else None for name, value in data.items()}


class BeaconOutput(serializers.Serializer):
    round = serializers.IntegerField()
    randomness = serializers.CharField()
    signature = serializers.CharField()
    previous_signature = serializers.CharField(allow_null=True)
    relays = serializers.ListField(child=serializers.CharField(), required=False)


class SubstitutionOutput(serializers.Serializer):
    """One prize unit passing to the next alternate of the draw's order (docs/fairness.md)."""

    unit = serializers.IntegerField(
        help_text="0-based unit of the draw (winner #unit+1 of the draw's own winner list)"
    )
    prize = PrizeRef()
    replaced = serializers.CharField(source="replaced_key", help_text="the replaced user's id")
    reason = serializers.ChoiceField(choices=Substitution.Reason.values)
    at = AwareDateTimeField(source="created_at")
    step = serializers.IntegerField(
        allow_null=True, help_text="the step of the order that named the alternate"
    )
    replacement = serializers.CharField(
        allow_null=True,
        help_text="the alternate's user id; null: the unit is now unawarded (or, while "
        "`pending`, not drawn yet)",
    )
    # v3 (docs/fairness.md): the alternate is drawn among those who never held a unit, with the
    # first beacon round at or after `at` + the reveal gap; `pending` until that round is out.
    pending = serializers.BooleanField(
        help_text="v3: waiting for its beacon round; the unit has no holder meanwhile"
    )
    beacon_round = serializers.IntegerField(allow_null=True)
    beacon = BeaconOutput(allow_null=True)
    drawn_at = AwareDateTimeField(
        source="resolved_at",
        allow_null=True,
        help_text="v3: when the alternate was drawn (their claim window starts then)",
    )
    position = serializers.IntegerField(
        source="replacement_position",
        allow_null=True,
        help_text="v3: the alternate's 0-based place in the sorted entrant list",
    )
    replaced_deadline = AwareDateTimeField(
        allow_null=True,
        default=None,
        help_text="the replaced holder's claim deadline (null: no claim step); `expired` is "
        "valid only at or after it",
    )
    deadline = AwareDateTimeField(
        allow_null=True, default=None, help_text="the alternate's claim deadline"
    )

    def to_representation(self, substitution):
        data = super().to_representation(substitution)
        data["replacement"] = substitution.replacement_key or None
        return data


class UserRefOutput(serializers.Serializer):
    id = serializers.CharField()


class WinnerRefOutput(serializers.Serializer):
    """A would-be winner of a canceled event: the user's public id and the prize, unit order."""

    user = UserRefOutput()
    prize = PrizeRef()


def with_deadlines(event, substitutions: list[Substitution]) -> list[Substitution]:
    """Each substitution with the replaced holder's claim deadline and the alternate's.

    A draw's winner holds the unit from ``drawn_at``, an alternate from when they were drawn
    (v3 ``resolved_at``; before, the substitution's time): the claim window runs from there.
    """
    if event.delivery == event.Delivery.NONE or event.drawn_at is None:
        return substitutions
    window = timedelta(days=event.claim_days)
    held_since = {}
    for sub in substitutions:
        since = held_since.get(sub.unit, event.drawn_at)
        sub.replaced_deadline = since + window
        awarded = sub.resolved_at or (sub.created_at if sub.replacement_key else None)
        sub.deadline = awarded + window if sub.replacement_key and awarded else None
        if sub.replacement_key:
            held_since[sub.unit] = awarded
    return substitutions


class ProofOutput(serializers.Serializer):
    algorithm = serializers.CharField(source="fairness_algorithm")
    event_id = serializers.CharField(source="public_id")
    status = serializers.ChoiceField(choices=STATUS_CHOICES, source="status_name")
    commitment = serializers.CharField(source="seed_commitment")
    entrant_count = serializers.IntegerField(allow_null=True)
    entrants_digest = serializers.CharField(allow_null=True)
    seed = serializers.SerializerMethodField()
    prizes = ProofPrize(many=True, source="ordered_prizes")
    # v2: fixed at the lock and mixed into the draw, with the beacon round named in advance.
    prizes_digest = serializers.CharField(allow_null=True)
    beacon_round = serializers.IntegerField(allow_null=True)
    beacon_chain = BeaconChainOutput(allow_null=True)
    beacon = BeaconOutput(allow_null=True)
    beacon_missing_reason = serializers.CharField(allow_null=True)
    # When each part was published: the commitment at creation, the entrant list at the lock,
    # the seed at the draw. An auditor checks the commitment predates every entry.
    committed_at = AwareDateTimeField(source="created_at")
    lock_at = AwareDateTimeField()
    locked_at = AwareDateTimeField(allow_null=True)
    draw_at = AwareDateTimeField()
    drawn_at = AwareDateTimeField(allow_null=True)
    # Alternates (docs/fairness.md): every unit that passed on since the draw, in order.
    max_substitutions = serializers.SerializerMethodField()
    substitutions = serializers.SerializerMethodField()
    # v3: fixed at creation. An event created while no beacon was configured is drawn without
    # one (and says so from creation); every other waits for its round. null before v3.
    without_beacon = serializers.SerializerMethodField()
    reveal_gap_seconds = serializers.SerializerMethodField()
    # The claim window (null: no claim step, so nothing ever expires): `expired` is checkable.
    claim_days = serializers.SerializerMethodField()
    # A cancel asked after the lock (staff, with a public reason) is settled at the named round
    # and publishes the winners the draw would have had; null when not canceled that way.
    cancel_reason = serializers.SerializerMethodField()
    cancel_requested_at = AwareDateTimeField(allow_null=True)
    canceled_at = AwareDateTimeField(allow_null=True)
    would_be_winners = serializers.SerializerMethodField()
    # The entry conditions (docs/fairness.md, "Entry conditions and exclusions"): what anyone
    # may read of them, the digest of the whole record (fixed from the first join), the record
    # itself once entries are closed, and how many entrants were excluded for which reason.
    conditions = serializers.SerializerMethodField()
    conditions_digest = serializers.SerializerMethodField()
    conditions_record = serializers.SerializerMethodField()
    exclusions = serializers.SerializerMethodField()
    # Where the two other inputs of tools/verify_draw.py are published.
    entrants_url = serializers.SerializerMethodField()
    winners_url = serializers.SerializerMethodField()

    def get_seed(self, event) -> str | None:
        """Revealed once the event is drawn or canceled: before that it would give the result
        away. A cancel reveals it too, so a cancel after the lock (the outcome was knowable)
        can be audited."""
        revealed = event.status in (event.Status.OPENED, event.Status.CANCELED)
        return bytes(event.seed).hex() if revealed else None

    def get_max_substitutions(self, event) -> int:
        """How many times a unit may pass to an alternate before it is recorded unawarded: fixed
        at the event's first substitution; until then the current setting."""
        if event.max_substitutions is not None:
            return event.max_substitutions
        return settings.LOTTERY_MAX_SUBSTITUTIONS

    @extend_schema_field(SubstitutionOutput(many=True))
    def get_substitutions(self, event) -> list:
        if event.status != event.Status.OPENED:
            return []
        rows = with_deadlines(event, selectors.substitutions_of(event=event))
        return SubstitutionOutput(rows, many=True).data

    def get_without_beacon(self, event) -> bool | None:
        if event.fairness_algorithm != allocator.ALGORITHM_V3:
            return None
        return event.without_beacon

    def get_reveal_gap_seconds(self, event) -> int | None:
        """v3: the gap fixed at creation (the round is the first at or after locked_at + it)."""
        if event.fairness_algorithm != allocator.ALGORITHM_V3:
            return None
        return event.reveal_gap_seconds

    def get_claim_days(self, event) -> int | None:
        return None if event.delivery == event.Delivery.NONE else event.claim_days

    def get_cancel_reason(self, event) -> str | None:
        asked = event.status == event.Status.CANCELED or event.cancel_requested_at is not None
        return (event.cancel_reason or None) if asked else None

    @extend_schema_field(WinnerRefOutput(many=True, allow_null=True))
    def get_would_be_winners(self, event) -> list | None:
        if event.status != event.Status.CANCELED or event.would_be_winners is None:
            return None
        units = [prize for prize in event.ordered_prizes for _ in range(prize.quantity)]
        return [
            {"user": {"id": key}, "prize": {"id": prize.public_id, "name": prize.name}}
            for key, prize in zip(event.would_be_winners, units, strict=False)
        ]

    @extend_schema_field(ConditionOutput(many=True))
    def get_conditions(self, event) -> list:
        return conditions.public(event.entry_conditions)

    def get_conditions_digest(self, event) -> str | None:
        return conditions.digest(event.entry_conditions)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": True,
            "description": "The stored record the digest covers (the password and the group as "
            "salted hashes, the answer, the nonce): null while entries are open, or without "
            "conditions.",
        }
    )
    def get_conditions_record(self, event) -> dict | None:
        if event.status == event.Status.INIT or not event.entry_conditions:
            return None
        return event.entry_conditions

    @extend_schema_field(ExclusionCountOutput(many=True))
    def get_exclusions(self, event) -> list:
        return fraud.exclusion_counts(event_pk=event.pk)

    def get_entrants_url(self, event) -> str:
        return reverse("event-entrants", args=[event.public_id])

    def get_winners_url(self, event) -> str:
        return reverse("event-winners", args=[event.public_id])

    def to_representation(self, event):
        data = super().to_representation(event)
        data["entrants_digest"] = data["entrants_digest"] or None
        data["prizes_digest"] = data["prizes_digest"] or None
        data["beacon_missing_reason"] = data["beacon_missing_reason"] or None
        return data


class WinnerOutput(serializers.Serializer):
    user = PublicUserOutput()
    prize = PrizeRef()


class UnawardedOutput(serializers.Serializer):
    prize = PrizeRef()
    # Units of this prize nobody received (fewer entrants than units). ``quantity`` is the
    # same number under its historical name, kept for clients written against it.
    unawarded_units = serializers.IntegerField(source="quantity")
    quantity = serializers.IntegerField()


class WinnersOutput(serializers.Serializer):
    winners = WinnerOutput(many=True)
    unawarded = UnawardedOutput(many=True)


class EntrantPlaceOutput(serializers.Serializer):
    key = serializers.CharField()
    included = serializers.BooleanField()
    # 0-based index of ``key`` in the sorted entrant list; null when not included.
    position = serializers.IntegerField(allow_null=True)
    entrant_count = serializers.IntegerField()
    entrants_digest = serializers.CharField()
    locked_at = AwareDateTimeField(allow_null=True)


class DisqualifyInput(InputSerializer):
    reason = serializers.ChoiceField(
        choices=allocator.DISQUALIFY_REASONS,
        help_text="one of a short public list; the proof shows it",
    )
