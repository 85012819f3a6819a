"""Reports of what an event shows: a user's report to staff, WeChat's rejection of a picture."""

from datetime import datetime

from django.db import IntegrityError, transaction

from accounts.models import Upload, User
from events import read_model
from events.models import Event, Prize, Report
from events.moderation import event_moderate
from events.services.refusals import invalid_input


def event_report(*, event: Event, user: User, reason: str, now: datetime) -> tuple[Report, bool]:
    """``user`` reports ``event`` to staff; returns (report, created). A second report by the
    same user changes nothing (the unique constraint decides, also between two racing ones)."""
    if reason not in Report.Reason.values:
        raise invalid_input("reason", "举报理由无效")
    try:
        with transaction.atomic():
            return Report.objects.create(
                event_id=event.pk, user_id=user.pk, reason=reason, created_at=now
            ), True
    except IntegrityError:
        return Report.objects.get(event_id=event.pk, user_id=user.pk), False


def events_flag_for_picture(*, upload: Upload, now: datetime) -> int:
    """The events showing ``upload`` (cover or prize picture), WeChat having rejected it: off the
    square pending review, and their public part re-rendered (the placeholder shows at once)."""
    event_pks = set(Event.objects.filter(cover_id=upload.pk).values_list("pk", flat=True))
    event_pks |= set(Prize.objects.filter(image_id=upload.pk).values_list("event_id", flat=True))
    flagged = 0
    for event in Event.objects.filter(pk__in=event_pks):
        read_model.event_changed(event_id=event.pk, what="picture")
        flagged += event_moderate(
            event=event,
            actor=None,
            to=Event.Moderation.REVIEW,
            now=now,
            reason="picture rejected by WeChat",
        )
    return flagged
