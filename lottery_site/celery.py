"""The Celery app: ``celery -A lottery_site worker`` and ``celery -A lottery_site beat``."""

import functools
import logging
import os
import uuid

from celery import Celery, signals

from lottery_site import broker, logs, telemetry
from lottery_site import request_id as log_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.settings")

broker.register()  # the embedded default broker, "lotteryfs://"
app = Celery("lottery_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id rides in this message header from the request that queued a task to the task.
REQUEST_ID_HEADER = "lottery_request_id"


@signals.setup_logging.connect
def _log_like_django(loglevel=None, **kwargs) -> None:
    """Worker and beat log through settings.LOGGING: our format, UTC, the task's context.

    With a receiver on this signal Celery installs no handler of its own. The level is
    ``LOG_LEVEL`` when set, else Celery's ``--loglevel`` (WARNING unless given).
    """
    from django.conf import settings

    logs.configure(settings.LOGGING)
    if loglevel and not os.environ.get("LOG_LEVEL"):
        logging.getLogger().setLevel(loglevel)


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **kwargs) -> None:
    request_id = log_context.current.get()
    if headers is not None and request_id != "-":
        headers.setdefault(REQUEST_ID_HEADER, request_id)


# task id -> the context tokens its prerun set, for postrun to reset (tasks may run inline).
_task_tokens: dict[str, tuple] = {}


@functools.cache
def _scheduled_tasks() -> frozenset[str]:
    """The tasks beat runs (CELERY_BEAT_SCHEDULE, declared in code): the sweepers."""
    from django.conf import settings

    return frozenset(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values())


@signals.task_prerun.connect
def _enter_task_context(task_id=None, task=None, **kwargs) -> None:
    # A worker finds the request id in the message; an inline (eager) task already runs in the
    # request's context. A sweep no request asked for gets an id of its own, "sweep-<hex>",
    # which the tasks it queues carry like a request's: every line of a draw the sweeper
    # started names that sweep.
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or log_context.current.get()
    if request_id == "-" and task.name in _scheduled_tasks():
        request_id = f"sweep-{uuid.uuid4().hex}"
    _task_tokens[task_id] = (
        log_context.current.set(request_id),
        log_context.task_id.set(task_id),
        log_context.event_id.set(log_context.event_id.get()),  # the task may name its event
    )


@signals.task_postrun.connect
def _leave_task_context(task_id=None, **kwargs) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens is not None:
        log_context.event_id.reset(tokens[2])
        log_context.task_id.reset(tokens[1])
        log_context.current.reset(tokens[0])


@signals.worker_init.connect
@signals.beat_init.connect
def _start_error_tracking(**kwargs) -> None:
    telemetry.init_sentry()


def _say_through_the_log(msg: str, f=None) -> None:
    """Celery's worker prints a few notices itself, past logging, even with ``--quiet``:
    ``worker: Warm shutdown (MainProcess)`` on SIGTERM, the Ctrl-C warnings, each between two
    newlines. Logged instead, they are lines of our format like every other (a JSON log stays
    JSON). They come from signal handlers, as Celery's own ``worker_shutting_down`` receivers
    do; one short record each."""
    logging.getLogger("celery.apps.worker").warning(msg.strip())


@signals.worker_init.connect
def _route_celerys_own_notices_to_the_log(**kwargs) -> None:
    from celery.apps import worker as worker_app

    worker_app.safe_say = _say_through_the_log  # the one function those handlers call


@signals.worker_process_init.connect
def _start_tracing(**kwargs) -> None:
    telemetry.init_tracing(service="worker")


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
