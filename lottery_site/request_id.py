"""The log context of the work in hand: request id, caller, event, Celery task. No Django imports.

Each is a context variable that ``LogContextFilter`` copies onto every log record, so a line
logged deep in a service says which request (and which caller, event, task) it belongs to without
anyone passing them down. ``RequestIdMiddleware`` sets them for a request and resets them when it
ends (a reset also undoes what code below it set meanwhile); the Celery signals in
``lottery_site/celery.py`` do the same around each task.
"""

import contextvars
import logging

# The request id ("-" outside any request); the name ``current`` is older than the others.
current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The caller's public user id ("u_..."), never the primary key or the WeChat openid.
user_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)
# The public id ("e_...") of the event the request is about.
event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)


class LogContextFilter(logging.Filter):
    """Stamps every log record with the request id, caller, event and task it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        record.user_id = user_id.get()
        record.event_id = event_id.get()
        record.task_id = task_id.get()
        return True
