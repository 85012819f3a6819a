"""Optional error tracking (Sentry) and tracing (OpenTelemetry): both off unless configured.

``SENTRY_DSN`` turns on Sentry, ``OTEL_EXPORTER_OTLP_ENDPOINT`` turns on tracing over OTLP/HTTP.
Off, neither is imported and nothing is patched: a request pays nothing for them.

Where they start: ``lottery_site/wsgi.py`` (each gunicorn worker, before Django builds its
middleware chain, which the Django instrumentation extends) and the Celery signals in
``lottery_site/celery.py`` (Sentry in the worker's and beat's main process, whose forks inherit
it; tracing in each prefork child, since an exporter's thread does not survive a fork).
"""

import os

from lottery_site.logs import REDACTED, SENSITIVE_KEY, redact

_started: set[str] = set()


def setup_web() -> None:
    init_sentry()
    init_tracing(service="web")


# --- Sentry ---------------------------------------------------------------------------------
# Headers that carry credentials: never sent, even though PII is off (the SDK's own list is
# shorter than ours and changes between versions).
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken"}
)
# Sentry's key-based scrubber, on top of its defaults: WeChat's identifiers and the personal data
# a mini-program can hand us.
_EXTRA_DENYLIST = ["openid", "unionid", "session_key", "js_code", "phone", "mobile", "address"]


def init_sentry() -> bool:
    dsn = os.environ.get("SENTRY_DSN", "").strip()
    if not dsn or "sentry" in _started:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=os.environ.get("SENTRY_ENVIRONMENT") or None,
        release=os.environ.get("SENTRY_RELEASE") or None,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
        send_default_pii=False,
        event_scrubber=EventScrubber(denylist=DEFAULT_DENYLIST + _EXTRA_DENYLIST, recursive=True),
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
    )
    _started.add("sentry")
    return True


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """The event without credentials: secret headers and cookies dropped, tokens and phone
    numbers redacted wherever they appear (messages, exception values, local variables)."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in list(headers):
                if name.lower() in _SECRET_HEADERS:
                    headers[name] = REDACTED
        request.pop("cookies", None)
    return _scrubbed(event)


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return _scrubbed(crumb)


def _scrubbed(value):
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and SENSITIVE_KEY.match(key) and value[key] is not None
            else _scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


# --- OpenTelemetry --------------------------------------------------------------------------


def init_tracing(*, service: str) -> bool:
    """Export traces over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

    The exporter reads the other standard ``OTEL_EXPORTER_OTLP_*`` variables (headers, timeout),
    the SDK reads ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` and
    ``OTEL_RESOURCE_ATTRIBUTES``; ``OTEL_SERVICE_NAME`` defaults to ``lottery-<service>``.
    """
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or "otel" in _started:
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"lottery-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    instrument(provider)
    _started.add("otel")
    return True


def _instrumentors() -> list:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.mysqlclient import MySQLClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    return [
        DjangoInstrumentor(),  # a middleware first in MIDDLEWARE: one server span per request
        CeleryInstrumentor(),  # publish and run spans; the trace context rides in the message
        RequestsInstrumentor(),  # WeChat calls
        RedisInstrumentor(),  # cache, throttle counters, the broker
        # The join's raw SQL runs on Django's cursor over MySQLdb: this wraps MySQLdb.connect, so
        # connections opened afterwards trace every statement, ORM or not.
        MySQLClientInstrumentor(),
    ]


def instrument(provider) -> None:
    for instrumentor in _instrumentors():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)


def uninstrument() -> None:
    """Undo ``instrument`` (tests)."""
    for instrumentor in _instrumentors():
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
