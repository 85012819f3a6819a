"""Periodic work of the accounts app: thin tasks that call a service."""

from celery import shared_task
from django.utils import timezone

from accounts import services


@shared_task(name="accounts.tasks.sweep_uploads", ignore_result=True)
def sweep_uploads() -> int:
    """Delete uploads nobody used within a day (beat: UPLOAD_SWEEP_INTERVAL_SECONDS)."""
    return services.uploads_sweep(now=timezone.now())
