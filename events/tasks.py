"""Periodic work of the events app: thin tasks that call a service."""

from celery import shared_task
from django.utils import timezone

from accounts import services as accounts_services
from accounts import wechat_security
from events import services


@shared_task(name="events.tasks.recheck_content", ignore_result=True)
def recheck_content() -> int:
    """Content accepted while WeChat's checks did not answer, checked again (beat:
    MODERATION_RECHECK_INTERVAL_SECONDS): event texts, nicknames, unsubmitted pictures."""
    if not wechat_security.enabled():
        return 0
    now = timezone.now()
    return (
        services.events_recheck_texts(now=now)
        + accounts_services.users_recheck_nicknames(now=now)
        + accounts_services.uploads_check_unchecked()
    )
