"""Periodic work of the accounts app: thin tasks that call a service."""

from celery import shared_task
from django.utils import timezone

from accounts import services


@shared_task(name="accounts.tasks.sweep_uploads", ignore_result=True)
def sweep_uploads() -> int:
    """Delete uploads nobody used within a day (beat: UPLOAD_SWEEP_INTERVAL_SECONDS)."""
    return services.uploads_sweep(now=timezone.now())


@shared_task(name="accounts.tasks.media_check", ignore_result=True)
def media_check(upload_id: int) -> bool:
    """Submit one new picture to WeChat's media_check_async (queued on commit by the upload)."""
    return services.upload_media_check_submit(upload_id=upload_id)


@shared_task(name="accounts.tasks.privacy_sweep", ignore_result=True)
def privacy_sweep() -> int:
    """Finish account erasures a crash interrupted (beat: PRIVACY_SWEEP_INTERVAL_SECONDS)."""
    return services.users_erase_interrupted(now=timezone.now())
