"""Queue a Celery task after the commit, without letting a broker outage fail the request.

Every task we queue from a request is also found by a sweeper (draws.tasks.sweep picks up any
due or early-locked event, notifications.tasks.sweep any pending outbox row or delivery): a
message that could not be sent is late, not lost. So with the broker down (or known down, see
lottery_site.redis_breaker) the request still succeeds and the work happens on the first sweep
after Redis returns.
"""

import logging
from functools import partial

from celery import Task
from django.db import transaction

from lottery_site import redis_breaker

logger = logging.getLogger(__name__)


def publish_on_commit(task: Task, *args) -> None:
    transaction.on_commit(partial(publish, task, *args))


def publish(task: Task, *args) -> None:
    def send() -> bool:
        task.apply_async(args=args, retry=False)
        return True

    if not redis_breaker.call(send, fallback=False):
        logger.warning(
            "%s%r not queued (broker down): the sweeper will pick it up", task.name, args
        )
