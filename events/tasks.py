"""Periodic claim work: thin, idempotent (running it twice changes nothing the second time)."""

import logging

from celery import shared_task
from django.utils import timezone

from events import claims

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def claims_sweep() -> None:
    """Remind winners a day before their claim deadline; erase personal data of closed claims."""
    now = timezone.now()
    reminded = claims.claims_remind_due(now=now)
    erased = claims.claims_erase_due(now=now)
    if reminded or erased:
        logger.info("claims sweep: %d reminded, %d erased", len(reminded), erased)
