"""Periodic work of the events app: thin, idempotent tasks that call a service (running one
twice changes nothing the second time)."""

import logging

from celery import shared_task
from django.utils import timezone

from accounts import services as accounts_services
from events import claims, personal_data
from events.services.entries import entries_remove_banned_sweep
from events.services.events import events_recheck_texts
from events.services.retention import events_erase_fraud_signals_due
from wechat import security

logger = logging.getLogger(__name__)


@shared_task(name="events.tasks.recheck_content", ignore_result=True)
def recheck_content() -> int:
    """Content accepted while WeChat's checks did not answer, checked again (beat:
    MODERATION_RECHECK_INTERVAL_SECONDS): event texts, nicknames, unsubmitted pictures."""
    if not security.enabled():
        return 0
    now = timezone.now()
    return (
        events_recheck_texts(now=now)
        + accounts_services.users_recheck_nicknames(now=now)
        + accounts_services.uploads_check_unchecked()
    )


@shared_task(name="events.tasks.claims_sweep", ignore_result=True)
def claims_sweep() -> None:
    """Remind winners a day before their claim deadline; erase personal data of closed claims,
    delete the promotion records kept long enough and blank the anti-fraud signals of events
    finished long enough ago (docs/privacy.md)."""
    now = timezone.now()
    reminded = claims.claims_remind_due(now=now)
    erased = claims.claims_erase_due(now=now)
    expired = personal_data.promotion_records_expire(now=now)
    signals = events_erase_fraud_signals_due(now=now)
    if reminded or erased or expired or signals:
        logger.info(
            "claims sweep: %d reminded, %d erased, %d promotion records deleted, "
            "%d anti-fraud signals blanked",
            len(reminded),
            erased,
            expired,
            signals,
        )


@shared_task(name="events.tasks.banned_entries_sweep", ignore_result=True)
def banned_entries_sweep() -> None:
    """Banned users' entries out of events not yet locked, however the ban was written (the
    service's own signal does it at once; this catches a ban from a shell or a migration)."""
    removed = entries_remove_banned_sweep(now=timezone.now())
    if removed:
        logger.info("banned entries sweep: %d entries removed", removed)
