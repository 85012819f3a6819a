"""The Celery app: ``celery -A lottery_site worker`` and ``celery -A lottery_site beat``."""

import os

from celery import Celery

from lottery_site import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.settings")

broker.register()  # the embedded default broker, "lotteryfs://"
app = Celery("lottery_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
