"""The notifications app's part of a person's data (``accounts.personal_data``).

Export: the whole inbox, the subscribe-message quota and the WeChat messages sent or queued.
Erasure: all three go (the inbox is derived from other tables and has only its read position
here; once the entries are gone it is empty).
"""

from datetime import datetime

from rest_framework import serializers

from accounts.models import User
from lottery_site.fields import AwareDateTimeField
from notifications import selectors, services
from notifications.models import Delivery
from notifications.serializers import NotificationOutput

_PAGE = 100


class _Message(serializers.Serializer):
    event = serializers.CharField(source="event.public_id")
    kind = serializers.CharField()
    state = serializers.CharField()
    at = AwareDateTimeField(source="created_at")
    finished_at = AwareDateTimeField(allow_null=True)


def data_export(*, user: User, now: datetime, context: dict) -> dict:  # noqa: ARG001
    return {
        "inbox": _whole_inbox(user),
        "subscriptions": services.quota_of(user_id=user.pk),
        "messages": _Message(
            Delivery.objects.filter(user_id=user.pk).select_related("event").order_by("pk"),
            many=True,
        ).data,
    }


def _whole_inbox(user: User) -> list:
    items, cursor = [], None
    while True:
        page = selectors.inbox_page(user_id=user.pk, cursor=cursor, size=_PAGE)
        items += NotificationOutput(page["results"], many=True).data
        cursor = page["next"]
        if cursor is None:
            return items


def erase(*, user: User, now: datetime) -> None:  # noqa: ARG001
    services.user_data_erase(user_id=user.pk)
