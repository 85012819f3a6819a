"""The id of the request being served, for log records. No Django imports: logging loads this."""

import contextvars
import logging

current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdLogFilter(logging.Filter):
    """Stamps every log record with the id of the request that produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        return True
