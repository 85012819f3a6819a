"""The front door: Debian's nginx with deploy/nginx/lottery.conf in front of a real gunicorn.

deploy/nginx/check-config builds a throwaway nginx prefix around the shipped file (a
self-signed certificate, free ports, this gunicorn as upstream); gunicorn runs bin/serve-web
with production settings (debug off, HTTPS redirect on, one trusted proxy) on the test
database and Redis, WeChat faked on loopback.
"""

import contextlib
import gzip
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import nginx_binary
from tests.fake_wechat import FakeWeChat
from tests.live import free_port

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.mysql,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
REPO = Path(__file__).resolve().parent.parent
LOGIN_LIMIT = 120


def wait_until_listening(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{what} did not listen on {port}")


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


def gunicorn_env(*, port: int, wechat: FakeWeChat, var_dir: Path) -> dict:
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lottery_site.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "nginx-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        # Production's default: gunicorn redirects unless nginx says the request came over TLS.
        "DJANGO_SECURE_SSL_REDIRECT": "1",
        "TRUSTED_PROXY_COUNT": "1",
        # A per-hour login window: the 130 logins below cannot straddle a window boundary
        # (the per-minute default is tested with frozen time in tests/test_client_ip.py).
        "THROTTLE_LOGIN_RATE": f"{LOGIN_LIMIT}/hour",
        # Each worker shares its counts through Redis on every request, not once a second (the
        # production default, which lets a burst spread over workers run over by about a
        # second's worth): this test counts to the request which address was counted.
        "THROTTLE_SYNC_SECONDS": "0",
        "DATABASE_URL": (
            f"mysql://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}"
            f":{database['PORT'] or 3306}/{database['NAME']}"
        ),
        "CACHE_KEY_PREFIX": "lottery-test",  # the counters the autouse fixture clears
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "LOTTERY_VAR_DIR": str(var_dir),
        "WECHAT_APP_ID": "wx-nginx-test",
        "WECHAT_APP_SECRET": "nginx-test-secret",
        "WECHAT_API_BASE": wechat.url,
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "2",
        "WEB_ACCESS_LOG": "0",
        "LOG_LEVEL": "WARNING",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }


class Front:
    def __init__(self, prefix: Path, http_port: int, https_port: int, static_parent: Path):
        self.prefix = prefix
        self.http_port = http_port
        self.https_port = https_port
        self.static_parent = static_parent

    def tls_context(self, alpn=("http/1.1",)) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.prefix / "cert.pem"))
        context.set_alpn_protocols(list(alpn))
        return context

    def https(self, source: str = "127.0.0.1") -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "localhost",
            self.https_port,
            context=self.tls_context(),
            source_address=(source, 0),
            timeout=30,
        )

    def request(self, method, path, body=None, *, token=None, source="127.0.0.1", headers=()):
        conn = self.https(source)
        try:
            return send(conn, method, path, body, token=token, headers=dict(headers))
        finally:
            conn.close()


class Reply:
    def __init__(self, response: http.client.HTTPResponse):
        self.status = response.status
        self.headers = response.headers
        self.raw = response.read()

    def json(self) -> dict:
        return json.loads(self.raw)


def send(conn, method, path, body=None, *, token=None, headers=None) -> Reply:
    headers = dict(headers or {})
    payload = None
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=payload, headers=headers)
    return Reply(conn.getresponse())


@pytest.fixture(scope="module")
def front(django_db_setup, django_db_blocker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("front")
    web_port = free_port()
    static_parent = tmp / "var"
    with django_db_blocker.unblock(), FakeWeChat() as wechat:
        web = subprocess.Popen(
            [str(REPO / "bin" / "serve-web")],
            cwd=REPO,
            env=gunicorn_env(port=web_port, wechat=wechat, var_dir=static_parent),
            start_new_session=True,
        )
        try:
            wait_until_listening(web_port, web, "gunicorn")
            with running_nginx(tmp / "nginx", f"127.0.0.1:{web_port}", static_parent) as front:
                yield front
        finally:
            stop(web)


@contextlib.contextmanager
def running_nginx(prefix: Path, upstream: str, static_parent: Path):
    """deploy/nginx/check-config's prefix around lottery.conf, then nginx itself, on free ports."""
    nginx = nginx_binary()
    assert nginx, "nginx is not installed (Debian: apt-get install nginx); .ci/run installs it"
    http_port, https_port = free_port(), free_port()
    subprocess.run(
        [str(REPO / "deploy" / "nginx" / "check-config"), str(prefix)],
        check=True,
        env={
            **os.environ,
            "PATH": f"{os.environ.get('PATH', '')}:{Path(nginx).parent}",
            "HTTP_PORT": str(http_port),
            "HTTPS_PORT": str(https_port),
            "UPSTREAM": upstream,
            "STATIC_PARENT": str(static_parent),
        },
    )
    process = subprocess.Popen(
        [nginx, "-e", "stderr", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        + ["-g", "daemon off;"],
        start_new_session=True,
    )
    try:
        wait_until_listening(https_port, process, "nginx")
        yield Front(prefix, http_port, https_port, static_parent)
    finally:
        stop(process, signal.SIGQUIT)  # nginx's graceful stop


def login(front: Front, code: str, **kwargs) -> Reply:
    return front.request("POST", "/api/v1/auth/login", {"code": code, "nickname": code}, **kwargs)


def test_https_login_create_and_join_work_through_nginx(front):
    creator = login(front, "nginx-creator")
    entrant = login(front, "nginx-entrant")
    assert creator.status == 201, creator.raw
    assert entrant.status == 201, entrant.raw

    draw_at = (timezone.now() + timedelta(hours=1)).isoformat()
    created = front.request(
        "POST",
        "/api/v1/events",
        {"title": "前门抽奖", "draw_at": draw_at, "prizes": [{"name": "一等奖", "quantity": 1}]},
        token=creator.json()["data"]["access"],
    )
    assert created.status == 201, created.raw
    event_id = created.json()["data"]["id"]
    joined = front.request(
        "POST", f"/api/v1/events/{event_id}/entry", token=entrant.json()["data"]["access"]
    )
    assert joined.status == 201, joined.raw
    assert joined.headers["X-Request-ID"]  # nginx's $request_id, echoed by the app


def test_nginx_offers_http2(front):
    context = front.tls_context(alpn=("h2", "http/1.1"))
    raw = socket.create_connection(("127.0.0.1", front.https_port), timeout=10)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.selected_alpn_protocol() == "h2"


def test_plain_http_redirects_to_https(front):
    conn = http.client.HTTPConnection("localhost", front.http_port, timeout=10)
    try:
        reply = send(conn, "POST", "/api/v1/auth/login?x=1", {"code": "plain"})
    finally:
        conn.close()
    assert reply.status == 301
    assert reply.headers["Location"] == "https://localhost/api/v1/auth/login?x=1"


def test_rate_limit_counts_the_real_client_not_a_forwarded_for_it_sent(front):
    """130 logins from one client, each with a different forged X-Forwarded-For: nginx
    appends the real address and the app counts that one."""
    conn = front.https(source="127.0.0.2")
    try:
        statuses = [
            send(
                conn,
                "POST",
                "/api/v1/auth/login",
                {"code": "spoofer"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status
            for i in range(130)
        ]
    finally:
        conn.close()
    assert statuses[:LOGIN_LIMIT].count(429) == 0
    assert statuses[LOGIN_LIMIT:] == [429] * (130 - LOGIN_LIMIT)
    # Another client (another address) has its own budget.
    assert login(front, "neighbour", source="127.0.0.3").status == 201


def test_metrics_are_not_served_to_the_internet(front):
    assert front.request("GET", "/metrics").status == 404
    assert front.request("GET", "/metrics?token=x").status == 404


def test_a_body_over_the_api_limit_is_refused_by_nginx_in_the_envelope(front):
    body = b'{"code": "' + b"x" * (64 * 1024) + b'"}'
    reply = front.request("POST", "/api/v1/auth/login", body)
    assert reply.status == 413
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["code"] == 41300


def test_hashed_static_files_are_cached_for_a_year_and_others_briefly(front):
    static = front.static_parent / "static" / "t"
    static.mkdir(parents=True, exist_ok=True)
    (static / "app.0123456789ab.css").write_text("body { color: red }\n")
    (static / "plain.css").write_text("body { color: blue }\n")

    hashed = front.request("GET", "/static/t/app.0123456789ab.css")
    plain = front.request("GET", "/static/t/plain.css")
    assert hashed.status == 200 and hashed.raw == b"body { color: red }\n"
    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.status == 200 and plain.headers["Cache-Control"] == "public, max-age=3600"


def test_large_json_answers_are_gzipped(front):
    reply = front.request("GET", "/api/schema/?format=json", headers={"Accept-Encoding": "gzip"})
    assert reply.status == 200
    assert reply.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(reply.raw))["openapi"].startswith("3.")


def test_api_answers_503_in_the_envelope_when_gunicorn_is_down(tmp_path):
    nobody_listens = f"127.0.0.1:{free_port()}"
    with running_nginx(tmp_path / "nginx", nobody_listens, tmp_path) as front:
        reply = front.request("GET", "/api/v1/me")
    assert reply.status == 503 and reply.headers["Retry-After"] == "5"
    assert reply.json() == {"code": 50301, "msg": "服务暂时不可用", "data": None}
