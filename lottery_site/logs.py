"""How every process writes its log: UTC timestamps, plain or JSON lines, secrets redacted.

One configuration (``logging_config``) serves Django (``settings.LOGGING``), the Celery worker and
beat (``lottery_site/celery.py`` stops Celery from installing its own) and gunicorn's own lines
(``lottery_site/gunicorn_conf.py``), so all of them share one format and one time zone: UTC,
written ``2026-12-01T20:05:00.123Z`` whatever ``TIME_ZONE`` the API shows times in.

``LOG_FORMAT=json`` writes one JSON object per line for a log pipeline; the default, ``plain``,
is the line a person reads. No Django imports: gunicorn's master loads this before Django.
"""

import functools
import json
import logging
import logging.config
import re
import time

# --- Redaction: the safety net under "never log secrets" -----------------------------------
# Code should not log tokens, session keys, phone numbers or addresses in the first place; these
# patterns catch the slip (a request body in an error, a WeChat answer, a URL with a token).
REDACTED = "[redacted]"
_SENSITIVE_NAME = (
    r"[\w-]*(?:token|secret|passw(?:or)?d|session_?key|sessionid|openid|unionid|phone|mobile"
    r"|address|authorization|cookie|api_?key|signature)[\w-]*|access|refresh|js_code"
)
SENSITIVE_KEY = re.compile(rf"^(?:{_SENSITIVE_NAME})$", re.IGNORECASE)
# Words whose presence (lower-cased) lets the key=value rule run at all.
_SENSITIVE_WORDS = (
    "token", "secret", "passw", "session", "openid", "unionid", "phone", "mobile", "address",
    "authorization", "cookie", "api_key", "apikey", "signature", "access", "refresh", "js_code",
)  # fmt: skip


def _has_key_value(text: str) -> bool:
    """key=value, key: value, "key":value, 'key':value (not a route's "<str:event_id>")."""
    return "=" in text or ": " in text or '":' in text or "':" in text


_ELEVEN_DIGITS = re.compile(r"\d{11}")
# (does the rule apply to this text?, pattern, replacement). Every line of every process goes
# through these, so each rule first asks a cheap question (a substring test on the lower-cased
# line) and runs its regex only on the rare line that could match: an access line costs a few
# microseconds instead of the hundreds the regexes alone would.
_RULES = [
    # A JWT (access and refresh tokens): three base64url parts, the first one always "eyJ".
    (
        lambda text, lowered: "eyj" in lowered,
        re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"),
        REDACTED,
    ),
    # "Authorization: Bearer <token>" and the like.
    (
        lambda text, lowered: "bearer" in lowered or "basic" in lowered or "token" in lowered,
        re.compile(r"\b(Bearer|Basic|Token)\s+[\w.~+/=-]+", re.IGNORECASE),
        rf"\1 {REDACTED}",
    ),
    # key=value, key: value, "key": "value" for a sensitive key name (query strings, dict reprs,
    # JSON bodies).
    (
        lambda text, lowered: (
            _has_key_value(text) and any(word in lowered for word in _SENSITIVE_WORDS)
        ),
        re.compile(
            rf"""(["']?\b(?:{_SENSITIVE_NAME})\b["']?\s*[:=]\s*)(?:"[^"]*"|'[^']*'|[^\s,;&}}\]'"]+)""",
            re.IGNORECASE,
        ),
        rf'\1"{REDACTED}"',
    ),
    # Mainland China mobile numbers (with or without +86), and other numbers written with "+".
    (
        lambda text, lowered: _ELEVEN_DIGITS.search(text) is not None,
        re.compile(r"(?<![\w.])(?:\+?86[- ]?)?1[3-9]\d{9}(?![\w.])"),
        REDACTED,
    ),
    (
        lambda text, lowered: "+" in text,
        re.compile(r"(?<![\w.])\+\d[\d -]{6,}\d(?![\w.])"),
        REDACTED,
    ),
]


def redact(text: str) -> str:
    """``text`` with tokens, secrets after a sensitive key, and phone numbers replaced."""
    lowered = text.lower()
    for applies, pattern, replacement in _RULES:
        if applies(text, lowered):
            text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value):
    """A structured field's value as it may be logged: hidden when its name is sensitive."""
    if _is_sensitive_key(key):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else is written as its str(), which may hold a secret (a request's repr shows
    # its query string).
    text = value if isinstance(value, str) else str(value)
    return _redact_short(text) if len(text) <= 100 else redact(text)


@functools.cache
def _is_sensitive_key(key: str) -> bool:  # field names come from code: a handful, remembered
    return SENSITIVE_KEY.match(key) is not None


# Fields such as the access line's method and route template repeat on every request: their
# redacted form is remembered (short values only, so the memo stays small).
_redact_short = functools.lru_cache(maxsize=4096)(redact)


# --- Formatters -----------------------------------------------------------------------------


class UTCFormatter(logging.Formatter):
    """``%(asctime)s`` in UTC, ISO 8601 with milliseconds and a Z, whatever the machine's zone."""

    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt:
            return time.strftime(datefmt, self.converter(record.created))
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
        return f"{seconds}.{int(record.msecs):03d}Z"


class PlainFormatter(UTCFormatter):
    """The human-readable line, with the redaction net over its message and traceback."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802
        record.message = redact(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # noqa: N802
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))


# LogRecord's own attributes and the ones the context filter adds: anything else on a record
# came from ``extra=`` and becomes a field of its own in the JSON line.
_CONTEXT_FIELDS = ("request_id", "user_id", "event_id", "task_id")
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    *_CONTEXT_FIELDS,
}


class JsonFormatter(UTCFormatter):
    """One JSON object per line: timestamp, level, logger, message, the log context, extras.

    The context fields are always present (null when there is none), so a log query can rely on
    them. Fields passed with ``extra=`` are added under their own names.
    """

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", "-")
        line = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": None if request_id == "-" else request_id,
            "user_id": getattr(record, "user_id", None),
            "event_id": getattr(record, "event_id", None),
            "task_id": getattr(record, "task_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                line[key] = redact_value(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for ``LOG_FORMAT`` (json or plain), for handlers built outside dictConfig."""
    return JsonFormatter() if log_format == "json" else PlainFormatter(PLAIN_FORMAT)


def logging_config(*, log_format: str, level: str) -> dict:
    """The ``dictConfig`` of every process: one console handler, context filter, our format."""
    if log_format not in {"plain", "json"}:
        raise ValueError(f"LOG_FORMAT must be plain or json, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "lottery_site.request_id.LogContextFilter"}},
        "formatters": {
            "plain": {"()": "lottery_site.logs.PlainFormatter", "format": PLAIN_FORMAT},
            "json": {"()": "lottery_site.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default handlers (a console one in debug, mail_admins) write lines of their
            # own format: everything goes through ours.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            # runserver's own request lines (local time, a second access line): errors only.
            "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }


def configure(config: dict) -> None:
    """Django's LOGGING_CONFIG, also run by Celery's worker and beat: apply ``config``, and send
    Python warnings through it too, so they are lines in our format instead of bare stderr."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
