from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.serializers import PrizeRefOutput
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


# The kinds of inbox items; the schema's ``KindEnum`` (named in SPECTACULAR_SETTINGS, so another
# ``kind`` field elsewhere does not rename it).
KINDS = (
    "result",
    "cancel",
    "summary",
    "moderation",
    "account",
    "shipped",
    "claim_reminder",
    "offered",
    "disqualified",
    "excluded",
)


class NotificationOutput(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=KINDS,
        help_text=(
            "moderation: WeChat judged a picture or text of your event risky, it left the "
            "square pending review; account: your avatar (reason avatar_removed) or nickname "
            "(nickname_removed) was removed by WeChat's content check; shipped: your prize was "
            "shipped (carrier, tracking_number); claim_reminder: a day left to claim your prize "
            "(deadline); offered: a winner lost their prize and it passed to you, the draw's "
            "next alternate (prize, deadline: claim by then); disqualified: the creator "
            "disqualified you as a winner, your prize passed to the next alternate (prize, "
            "reason); excluded: you were taken out of an event before its lock (reason: "
            "fake_account, duplicate_account or rule_violation, by its creator; "
            "account_banned, when staff banned your account)"
        ),
    )
    event = serializers.SerializerMethodField()
    won = serializers.SerializerMethodField()
    prize = serializers.SerializerMethodField()
    reason = serializers.CharField(
        help_text="Why the event was canceled (kind=cancel); what was removed (kind=account); "
        "why you were disqualified (kind=disqualified: fake_account, duplicate_account, "
        "ineligible or rule_violation); why you were excluded (kind=excluded)."
    )
    entrants = serializers.IntegerField(allow_null=True, help_text="kind=summary")
    winners = serializers.IntegerField(allow_null=True, help_text="kind=summary")
    unawarded = serializers.IntegerField(allow_null=True, help_text="kind=summary")
    carrier = serializers.CharField(help_text="kind=shipped")
    tracking_number = serializers.CharField(help_text="kind=shipped")
    deadline = AwareDateTimeField(
        allow_null=True, help_text="kind=claim_reminder or offered: claim by then"
    )
    created_at = AwareDateTimeField()
    read = serializers.BooleanField()

    @extend_schema_field(NotificationEventOutput(allow_null=True))
    def get_event(self, item) -> dict | None:
        return NotificationEventOutput(item).data if item.event_id else None

    def get_won(self, item) -> bool | None:
        return item.prize_id is not None if item.kind == "result" else None

    @extend_schema_field(PrizeRefOutput(allow_null=True))
    def get_prize(self, item) -> dict | None:
        return {"id": item.prize_id, "name": item.prize_name} if item.prize_id else None


class InboxOutput(serializers.Serializer):
    results = NotificationOutput(many=True)
    next = serializers.CharField(allow_null=True)
    unread_count = serializers.IntegerField()
