"""What the draw publishes: the proof, the winners, the unawarded prizes.

The verifier (tools/verify_draw.py) reads exactly these shapes, so they are shared by the API
and the ``verify_draw`` management command.
"""

from django.urls import reverse
from rest_framework import serializers

from accounts.serializers import UserOutput
from draws import fairness
from events.serializers import STATUS_CHOICES
from events.serializers import PrizeOutput as ProofPrize
from events.serializers import PrizeRefOutput as PrizeRef
from lottery_site.fields import AwareDateTimeField


class ProofOutput(serializers.Serializer):
    algorithm = serializers.SerializerMethodField()
    event_id = serializers.CharField(source="public_id")
    status = serializers.ChoiceField(choices=STATUS_CHOICES, source="status_name")
    commitment = serializers.CharField(source="seed_commitment")
    entrant_count = serializers.IntegerField(allow_null=True)
    entrants_digest = serializers.CharField(allow_null=True)
    seed = serializers.SerializerMethodField()
    prizes = ProofPrize(many=True, source="ordered_prizes")
    # When each part was published: the commitment at creation, the entrant list at the lock,
    # the seed at the draw. An auditor checks the commitment predates every entry.
    committed_at = AwareDateTimeField(source="created_at")
    lock_at = AwareDateTimeField()
    draw_at = AwareDateTimeField()
    drawn_at = AwareDateTimeField(allow_null=True)
    # Where the two other inputs of tools/verify_draw.py are published.
    entrants_url = serializers.SerializerMethodField()
    winners_url = serializers.SerializerMethodField()

    def get_algorithm(self, event) -> str:
        return fairness.ALGORITHM

    def get_seed(self, event) -> str | None:
        """Revealed only once the event is drawn: before that it would give the result away."""
        return bytes(event.seed).hex() if event.status == event.Status.OPENED else None

    def get_entrants_url(self, event) -> str:
        return reverse("event-entrants", args=[event.public_id])

    def get_winners_url(self, event) -> str:
        return reverse("event-winners", args=[event.public_id])

    def to_representation(self, event):
        data = super().to_representation(event)
        data["entrants_digest"] = data["entrants_digest"] or None
        return data


class WinnerOutput(serializers.Serializer):
    user = UserOutput()
    prize = PrizeRef()


class UnawardedOutput(serializers.Serializer):
    prize = PrizeRef()
    quantity = serializers.IntegerField()


class WinnersOutput(serializers.Serializer):
    winners = WinnerOutput(many=True)
    unawarded = UnawardedOutput(many=True)
