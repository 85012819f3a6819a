"""Sharing an event: the page a share card opens and the event's mini-program code.

The code is made with WeChat once per event and stored; concurrent first requests agree on
who asks WeChat through a claim on the ``ShareCode`` row.
"""

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import Upload
from accounts.services import upload_create
from events.models import Event, ShareCode
from lottery_site.errors import ApplicationError
from wechat.codes import get_unlimited_code

logger = logging.getLogger(__name__)

# Longer than a getUnlimited call can take (connect + read timeouts) plus storing the picture:
# a claim older than this was left by a process that died.
SHARE_CLAIM_SECONDS = 30
# How long a request waits for another one that is making the code.
SHARE_WAIT_SECONDS = 5.0


def share_path(event: Event) -> str:
    """The page the share card opens: WECHAT_MESSAGE_PAGE, as for subscribe messages."""
    return settings.NOTIFY_PAGE.format(event_id=event.public_id)


def event_share_image(*, event: Event, now: datetime) -> Upload:
    """The event's mini-program code: made with WeChat once, then always the stored one.

    Concurrent first requests: the one that inserts the ShareCode row asks WeChat; the others
    wait up to SHARE_WAIT_SECONDS for its picture, then answer ``wechat_unavailable`` (retry).
    A WeChat failure releases the claim, so the next request tries again at once. Raises
    ``wechat_unavailable`` / ``wechat_bad_gateway``.
    """
    stored = _stored_share_image(event)
    if stored is not None:
        return stored
    claim = _claim_share_code(event, now=now)
    if claim is None:
        return _wait_for_share_image(event)
    try:
        png = get_unlimited_code(scene=event.public_id, page=share_path(event).split("?", 1)[0])
        image = _store_share_image(event, png, now=now)
    except BaseException:
        ShareCode.objects.filter(event_id=event.pk, claim=claim, image__isnull=True).delete()
        raise
    if not ShareCode.objects.filter(event_id=event.pk, claim=claim).update(image=image):
        # Our claim was taken over as stale meanwhile and the other holder stored its code.
        Upload.objects.filter(pk=image.pk).delete()
        return _wait_for_share_image(event)
    return image


def _stored_share_image(event: Event) -> Upload | None:
    code = ShareCode.objects.select_related("image").filter(event_id=event.pk).first()
    return code.image if code is not None else None


def _claim_share_code(event: Event, *, now: datetime) -> str | None:
    """A claim token if this request is to ask WeChat; None if another one holds the claim."""
    claim = uuid.uuid4().hex
    try:
        with transaction.atomic():
            ShareCode.objects.create(event_id=event.pk, claim=claim, claimed_at=now)
        return claim
    except IntegrityError:
        stale = now - timedelta(seconds=SHARE_CLAIM_SECONDS)
        taken = ShareCode.objects.filter(
            event_id=event.pk, image__isnull=True, claimed_at__lt=stale
        ).update(claim=claim, claimed_at=now)
        return claim if taken else None


def _store_share_image(event: Event, png: bytes, *, now: datetime) -> Upload:
    try:
        return upload_create(
            owner=event.creator, purpose="share_code", data=png, now=now, attached=True
        )
    except ApplicationError:  # WeChat's answer is not a picture we can read
        logger.error("getwxacodeunlimit answered something that is not an image")
        raise ApplicationError("wechat_bad_gateway") from None


def _wait_for_share_image(event: Event) -> Upload:
    deadline = time.monotonic() + SHARE_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.1)
        stored = _stored_share_image(event)
        if stored is not None:
            return stored
    raise ApplicationError("wechat_unavailable")
