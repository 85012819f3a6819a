from rest_framework import serializers

from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer


class SubscriptionsInput(InputSerializer):
    accepted = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=20, allow_empty=True
    )


class QuotaOutput(serializers.Serializer):
    quota = serializers.DictField(
        child=serializers.IntegerField(), help_text="Remaining messages per template id."
    )


class ReadInput(InputSerializer):
    up_to = AwareDateTimeField(
        required=False, help_text="Mark read everything up to this time; default: now."
    )


class UnreadOutput(serializers.Serializer):
    unread_count = serializers.IntegerField()


class NotificationEventOutput(serializers.Serializer):
    id = serializers.CharField(source="event_id")
    title = serializers.CharField(source="event_title")


class NotificationPrizeOutput(serializers.Serializer):
    id = serializers.CharField(source="prize_id")
    name = serializers.CharField(source="prize_name")


class NotificationOutput(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=["result", "cancel", "summary", "shipped", "claim_reminder"]
    )
    event = NotificationEventOutput(source="*")
    won = serializers.SerializerMethodField()
    prize = serializers.SerializerMethodField()
    reason = serializers.CharField(help_text="Why the event was canceled (kind=cancel).")
    entrants = serializers.IntegerField(allow_null=True, help_text="kind=summary")
    winners = serializers.IntegerField(allow_null=True, help_text="kind=summary")
    unawarded = serializers.IntegerField(allow_null=True, help_text="kind=summary")
    carrier = serializers.CharField(help_text="kind=shipped")
    tracking_number = serializers.CharField(help_text="kind=shipped")
    deadline = AwareDateTimeField(allow_null=True, help_text="kind=claim_reminder: claim by then")
    created_at = AwareDateTimeField()
    read = serializers.BooleanField()

    def get_won(self, item) -> bool | None:
        return item.prize_id is not None if item.kind == "result" else None

    def get_prize(self, item) -> dict | None:
        return NotificationPrizeOutput(item).data if item.prize_id else None


class InboxOutput(serializers.Serializer):
    results = NotificationOutput(many=True)
    next = serializers.CharField(allow_null=True)
    unread_count = serializers.IntegerField()
