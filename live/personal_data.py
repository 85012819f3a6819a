"""The live app's part of a person's data (``accounts.personal_data``, docs/privacy.md).

It keeps one thing about a person: which screen links they made for their live events. The
export lists them; an erasure forgets who made them (the link belongs to the event, whose
creator's own data the events app handles).
"""

from datetime import datetime
from typing import Any

from accounts.models import User
from live.models import ScreenLink


def data_export(*, user: User, now: datetime, context: dict) -> dict[str, Any]:
    links = ScreenLink.objects.filter(created_by=user).select_related("live__event")
    return {
        "live_screen_links": [
            {
                "id": link.public_id,
                "event": link.live.event.public_id,
                "created_at": link.created_at.isoformat(),
                "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
            }
            for link in links.order_by("created_at")
        ]
    }


def erase(*, user: User, now: datetime) -> None:
    ScreenLink.objects.filter(created_by=user).update(created_by=None)
