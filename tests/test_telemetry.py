"""Sentry and OpenTelemetry: off by default, credentials never leave, one join is one trace."""

import http.server
import json
import os
import subprocess
import sys
import threading
import wsgiref.util
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.utils import timezone
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sentry_sdk.transport import Transport

from accounts.services import tokens_for
from events import join_sql
from events.services.entries import entry_join
from lottery_site import telemetry
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parent.parent

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOjQyfQ.c2lnbmF0dXJlLW5vdC1yZWFs"
SECRETS = [
    JWT,
    "sessionid-cookie-value",
    "tiihtNczf5v6AKRyjwEUhQ==",  # a WeChat session_key
    "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",  # an openid
    "13812345678",
    "北京市朝阳区建国路88号",
    "wx-login-code-0a1b2c",
]


def test_nothing_starts_without_its_variable(monkeypatch):
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert telemetry.init_sentry() is False
    assert telemetry.init_tracing(service="web") is False


def realistic_event() -> dict:
    """What the Django integration sends for a crash in a request, with everything it may hold."""
    return {
        "level": "error",
        "logger": "lottery_site.api",
        "logentry": {"message": "unhandled error in POST /api/v1/auth/login", "params": []},
        "request": {
            "url": "https://lottery.example.com/api/v1/auth/login",
            "method": "POST",
            "query_string": f"access_token={JWT}",
            "headers": {
                "Authorization": f"Bearer {JWT}",
                "Cookie": "sessionid=sessionid-cookie-value",
                "X-Request-ID": "req-42",
                "Content-Type": "application/json",
            },
            "cookies": {"sessionid": "sessionid-cookie-value"},
            "data": {"code": "wx-login-code-0a1b2c", "js_code": "wx-login-code-0a1b2c"},
        },
        "exception": {
            "values": [
                {
                    "type": "RuntimeError",
                    "value": f"WeChat said no for session_key=tiihtNczf5v6AKRyjwEUhQ== {JWT}",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "login",
                                "vars": {
                                    "session_key": "tiihtNczf5v6AKRyjwEUhQ==",
                                    "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                                    "payload": "{'phone': '13812345678'}",
                                    "address": "北京市朝阳区建国路88号",
                                    "refresh": JWT,
                                    "event_id": "e_0123456789abcdef",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {
            "values": [{"category": "accounts", "message": "user phoned from 13812345678"}]
        },
        "user": {"ip_address": "203.0.113.7"},
    }


def test_before_send_drops_credentials_and_personal_data_from_a_realistic_event():
    event = telemetry.scrub_event(realistic_event(), {})
    sent = json.dumps(event, ensure_ascii=False)
    # The login code rides under a key Sentry's own scrubber knows ("code" is too common for
    # ours); everything else must already be gone here.
    leaked = [secret for secret in SECRETS if secret in sent and secret != "wx-login-code-0a1b2c"]
    assert not leaked, sent
    assert "203.0.113.7" not in sent
    headers = event["request"]["headers"]
    assert headers["Authorization"] == headers["Cookie"] == "[redacted]"
    assert "cookies" not in event["request"]
    # What a developer needs stays.
    assert headers["X-Request-ID"] == "req-42"
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["function"] == "login" and frame["vars"]["event_id"] == "e_0123456789abcdef"


class CapturingTransport(Transport):
    """Stands in for the network: keeps every envelope the SDK would send."""

    envelopes: list = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def sentry(monkeypatch, settings):
    monkeypatch.setenv("SENTRY_DSN", "https://publickey@sentry.invalid/1")
    monkeypatch.setenv("SENTRY_ENVIRONMENT", "staging")
    monkeypatch.setenv("SENTRY_RELEASE", "lottery@1.2.3")
    settings.ROOT_URLCONF = "tests.urls_crash"
    init = sentry_sdk.init
    monkeypatch.setattr(
        sentry_sdk, "init", lambda **options: init(transport=CapturingTransport, **options)
    )
    assert telemetry.init_sentry() is True
    CapturingTransport.envelopes.clear()
    yield lambda: [
        item.payload.json
        for envelope in CapturingTransport.envelopes
        for item in envelope.items
        if item.type == "event"
    ]
    sentry_sdk.flush()
    sentry_sdk.get_global_scope().set_client(None)
    telemetry._started.discard("sentry")


def test_a_crash_reaches_sentry_without_the_callers_token_or_cookie(sentry):
    access = tokens_for(UserFactory())["access"]
    # Through the WSGI handler gunicorn calls (the test client bypasses it, and with it the
    # integration's request data): the event then carries the request's headers and cookies.
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/test/drf-crash",
        "QUERY_STRING": f"access_token={access}",
        "HTTP_HOST": "testserver",
        "HTTP_AUTHORIZATION": f"Bearer {access}",
        "HTTP_COOKIE": "sessionid=sessionid-cookie-value",
        "HTTP_X_REQUEST_ID": "req-sentry-1",
    }
    wsgiref.util.setup_testing_defaults(environ)
    statuses = []
    # As the test client does: the test's transaction must survive the request's signals.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert statuses == ["500 Internal Server Error"]
    sentry_sdk.flush()
    [event] = sentry()
    sent = json.dumps(event, ensure_ascii=False)
    assert "boom inside a DRF view" in sent
    assert event["environment"] == "staging" and event["release"] == "lottery@1.2.3"
    assert access not in sent and "sessionid-cookie-value" not in sent
    headers = event["request"]["headers"]
    assert headers.get("Authorization", "[redacted]") == "[redacted]"
    assert headers["X-Request-Id"] == "req-sentry-1"  # to find the same request in the logs


# --- OpenTelemetry --------------------------------------------------------------------------


@pytest.mark.mysql
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_one_join_is_one_trace_spanning_the_view_its_queries_and_the_cache():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    event = EventFactory()
    participant = client_for(UserFactory())
    telemetry.instrument(provider)
    try:
        # The instrumentation wraps MySQLdb.connect: the join's connections (the request's,
        # and the one its batch goes through, events/join_sql.py) must be new ones.
        connection.close()
        join_sql.batch_connection().close()
        exporter.clear()
        response = participant.post(f"/api/v1/events/{event.public_id}/entry")
    finally:
        telemetry.uninstrument()
        connection.close()
    assert response.status_code == 201, response.content

    spans = exporter.get_finished_spans()
    assert len({span.context.trace_id for span in spans}) == 1
    [root] = [span for span in spans if span.parent is None]
    assert root.kind == SpanKind.SERVER
    assert root.name == "POST api/v1/events/<str:event_id>/entry"
    ids = {span.context.span_id for span in spans}
    assert all(span.parent.span_id in ids for span in spans if span is not root)
    statements = [
        span.attributes.get("db.statement", "")
        for span in spans
        if span.attributes.get("db.system") == "mysql"
    ]
    # The join's transaction (events/join_sql.py): one batch, its gate UPDATE and its INSERT.
    [batch] = [statement for statement in statements if statement.startswith("START TRANSACTION")]
    assert "\nUPDATE " in batch and "\nINSERT INTO " in batch and batch.endswith("COMMIT"), batch
    assert any(span.attributes.get("db.system") == "redis" for span in spans)


class Collector:
    """An OTLP/HTTP trace collector on loopback: keeps what the exporters post."""

    def __init__(self):
        self.requests: list = []
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    collector.requests.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[str, str, bytes]]:
        """(service name, span name, trace id) of every span received."""
        found = []
        for request in list(self.requests):
            for resource_spans in request.resource_spans:
                attributes = {
                    a.key: a.value.string_value for a in resource_spans.resource.attributes
                }
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append((attributes.get("service.name"), span.name, span.trace_id))
        return found


@pytest.mark.mysql
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_draw_requested_over_http_is_one_trace_from_gunicorn_into_the_worker(tmp_path):
    """The production wiring: wsgi.py and the worker's process start tracing from the env."""
    from tests.test_draw_worker import worker_env
    from tests.test_logs import free_port, stop, wait_for

    collector = Collector()
    creator = UserFactory()
    start = timezone.now() - timedelta(minutes=2)
    event = EventFactory(creator=creator, draw_mode="manual", now=start)
    entry_join(event=event, user=UserFactory(), now=start)
    port = free_port()
    env = {
        **worker_env(),
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within a fraction of a second
        "WEB_PORT": str(port),
        "WEB_WORKERS": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    celery = [sys.executable, "-m", "celery", "-A", "lottery_site", "--quiet", "worker"]
    celery += ["--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with (tmp_path / "processes.log").open("w") as log:
        processes = [
            subprocess.Popen(p, cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True)
            for p in (celery, [str(REPO / "bin" / "serve-web")])
        ]
    try:
        url = f"http://127.0.0.1:{port}/api/v1/events/{event.public_id}/draw"
        headers = {"Authorization": f"Bearer {tokens_for(creator)['access']}"}

        def draw_accepted() -> bool:
            try:
                return requests.post(url, headers=headers, timeout=10).status_code == 202
            except requests.ConnectionError:
                return False

        wait_for(draw_accepted, timeout=60, what="gunicorn to accept the draw")
        worker_ran = lambda: any(  # noqa: E731
            service == "lottery-worker" and name.startswith("run/")
            for service, name, _ in collector.spans()
        )
        wait_for(worker_ran, timeout=60, what="the worker's span")
    finally:
        for process in processes:
            stop(process)
        collector.server.shutdown()
    spans = collector.spans()
    [web_trace] = {
        trace
        for service, name, trace in spans
        if service == "lottery-web" and name == "POST api/v1/events/<str:event_id>/draw"
    }
    in_that_trace = {(service, name) for service, name, trace in spans if trace == web_trace}
    assert ("lottery-web", "apply_async/draws.tasks.draw_event") in in_that_trace
    assert ("lottery-worker", "run/draws.tasks.draw_event") in in_that_trace
    assert any(
        service == "lottery-worker" and name != "run/draws.tasks.draw_event"
        for service, name in in_that_trace
    )  # the draw's queries, under the task
