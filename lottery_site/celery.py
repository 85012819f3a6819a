"""The Celery app: ``celery -A lottery_site worker`` and ``celery -A lottery_site beat``."""

import os

from celery import Celery, signals

from lottery_site import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.settings")

broker.register()  # the embedded default broker, "lotteryfs://"
app = Celery("lottery_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Metrics (lottery_site/metrics.py). Imported inside the handlers: this module is imported with
# the package, before settings may have chosen the metrics directory (the test settings do).
@signals.worker_process_shutdown.connect
def _metrics_process_dead(pid=None, **kwargs) -> None:
    from lottery_site import metrics

    metrics.mark_process_dead(pid or os.getpid())


def _count_task(outcome: str):
    def handler(sender=None, **kwargs) -> None:
        from lottery_site import metrics

        name = getattr(sender, "name", None) or str(sender)
        metrics.CELERY_TASKS.labels(name, outcome).inc()

    return handler


for _signal, _outcome in (
    (signals.task_success, "success"),
    (signals.task_failure, "failure"),
    (signals.task_retry, "retry"),
):
    _signal.connect(_count_task(_outcome), weak=False)
