"""The front door: Debian's nginx with deploy/nginx/lottery.conf in front of a real gunicorn.

deploy/nginx/check-config builds a throwaway nginx prefix around the shipped file (a
self-signed certificate, free ports, this gunicorn as upstream, the HTTPS access log in
PREFIX/lottery-access.log); gunicorn runs bin/serve-web with production settings (debug off,
HTTPS redirect on, one trusted proxy, JSON log lines into a file) on the test database and
Redis, pictures stored under the directory nginx serves, WeChat faked on loopback.
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
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from urllib3 import encode_multipart_formdata

from tests.conftest import nginx_binary
from tests.fake_wechat import FakeWeChat
from tests.live import free_port
from tests.pictures import decoded, phone_photo

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
        # The app's own access lines (logger lottery.access), to find a request id in them.
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }


class Front:
    def __init__(self, prefix: Path, http_port: int, https_port: int, static_parent: Path):
        self.prefix = prefix
        self.http_port = http_port
        self.https_port = https_port
        self.static_parent = static_parent
        self.web_log: Path | None = None  # gunicorn's stderr, when this front has one

    def nginx_log(self) -> list[dict]:
        """The HTTPS server's access log so far (log_format lottery: one JSON object a line)."""
        lines = (self.prefix / "lottery-access.log").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def app_log(self) -> list[dict]:
        lines = self.web_log.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

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
    web_log = tmp / "web.log"
    with django_db_blocker.unblock(), FakeWeChat() as wechat, web_log.open("wb") as log:
        web = subprocess.Popen(
            [str(REPO / "bin" / "serve-web")],
            cwd=REPO,
            env=gunicorn_env(port=web_port, wechat=wechat, var_dir=static_parent),
            start_new_session=True,
            stderr=log,
        )
        try:
            wait_until_listening(web_port, web, "gunicorn")
            with running_nginx(tmp / "nginx", f"127.0.0.1:{web_port}", static_parent) as front:
                front.web_log = web_log
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


def test_a_request_line_over_nginx_buffer_is_refused_in_the_envelope(front):
    reply = front.request("GET", "/api/v1/square?q=" + "x" * 9000)
    assert reply.status == 414
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["code"] == 41400


def test_a_long_url_nginx_passes_on_is_answered_by_the_app_in_the_envelope(front):
    reply = front.request("GET", "/api/v1/square?q=" + "x" * 5000)
    assert reply.status == 414
    assert reply.json()["code"] == 41400


def wx_upload_file(front: Front, data: bytes, *, token: str, purpose: str = "cover") -> Reply:
    """The multipart body wx.uploadFile sends: ``file`` under a temporary name, and formData."""
    body, content_type = encode_multipart_formdata(
        {"purpose": purpose, "file": ("tmp_0a1b2c3d.jpg", data, "image/jpeg")}
    )
    return front.request(
        "POST", "/api/v1/uploads", body, token=token, headers={"Content-Type": content_type}
    )


def test_a_phone_photo_uploads_through_nginx_and_comes_back_from_nginx(front):
    photo = phone_photo(orientation=6)  # 4032 x 3024, shot sideways
    assert 2_000_000 <= len(photo) <= settings.UPLOAD_MAX_BYTES
    token = login(front, "nginx-photographer").json()["data"]["access"]

    uploaded = wx_upload_file(front, photo, token=token)
    assert uploaded.status == 201, uploaded.raw
    data = uploaded.json()["data"]
    url = urlsplit(data["url"])
    assert (url.scheme, url.hostname) == ("https", "localhost")
    assert url.path.startswith("/media/cover/") and url.path.endswith(".jpg")

    fetched = front.request("GET", url.path)
    assert fetched.status == 200
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    assert fetched.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # nginx read what the app stored: the upright re-encode, not the phone's file.
    stored = front.static_parent / url.path.lstrip("/")
    assert fetched.raw == stored.read_bytes()
    picture = decoded(fetched.raw)
    assert picture.format == "JPEG" and picture.size == (data["width"], data["height"])
    assert picture.height > picture.width  # turned upright
    assert not picture.getexif()  # no GPS, no maker left


def test_a_body_over_the_upload_limit_is_refused_by_nginx_in_the_envelope(front):
    token = login(front, "nginx-too-big").json()["data"]["access"]
    reply = wx_upload_file(front, b"\xff" * (7 * 1024 * 1024), token=token)
    assert reply.status == 413
    assert reply.json()["code"] == 41300
    assert reply.headers["X-Request-ID"]


@pytest.mark.parametrize("path", ["/api/v1/uploads/", "/api/v1/uploadsx", "/api/v1/events"])
def test_only_the_upload_route_takes_a_body_over_64k(front, path):
    body = b'{"title": "' + b"x" * (100 * 1024) + b'"}'
    reply = front.request("POST", path, body)
    assert reply.status == 413 and reply.json()["code"] == 41300


def test_media_serves_only_pictures_by_name_as_images_that_cannot_run(front):
    media = front.static_parent / "media"
    month = media / "cover" / "2026" / "01"
    month.mkdir(parents=True, exist_ok=True)
    (month / "img_disguised.jpg").write_bytes(b"<html><script>alert(1)</script></html>")
    (month / "img_page.html").write_text("<script>alert(1)</script>")
    (month / "img_vector.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (month / ".img_hidden.jpg").write_bytes(b"\xff\xd8")
    (media / "notes.txt").write_text("not a picture")

    disguised = front.request("GET", "/media/cover/2026/01/img_disguised.jpg")
    assert disguised.status == 200
    assert disguised.headers["Content-Type"] == "image/jpeg"  # whatever is inside
    assert disguised.headers["X-Content-Type-Options"] == "nosniff"
    assert disguised.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    for path in [
        "/media/cover/2026/01/img_page.html",
        "/media/cover/2026/01/img_vector.svg",
        "/media/cover/2026/01/.img_hidden.jpg",
        "/media/notes.txt",
        "/media/",  # no listing
        "/media/cover/2026/01/",
        "/media/cover/2026/01/img_missing.jpg",
        "/media/cover/2026/01/../01/img_page.html",
    ]:
        reply = front.request("GET", path)
        assert reply.status == 404, path
        assert "immutable" not in reply.headers.get("Cache-Control", ""), path


def test_the_request_id_is_the_same_in_nginx_log_the_app_log_and_the_response(front):
    ids = []
    for sent in ["mp-3f2a9c.retry-1", None, "not well formed!", "x" * 65]:
        headers = {"X-Request-ID": sent} if sent else {}
        reply = front.request("GET", "/api/v1/config", headers=headers)
        assert reply.status == 200
        ids.append(reply.headers["X-Request-ID"])
    kept, made, *replaced = ids
    assert kept == "mp-3f2a9c.retry-1"  # the mini-program's own id, kept across its retries
    for request_id in [made, *replaced]:
        assert len(request_id) == 32 and int(request_id, 16) >= 0  # nginx's $request_id
    assert len(set(ids)) == 4

    expected = {(request_id, "/api/v1/config", 200) for request_id in ids}
    # gunicorn and nginx each write their line as the response leaves, maybe after we read it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        app = {line["request_id"] for line in front.app_log() if line["logger"] == "lottery.access"}
        nginx = {(line["request_id"], line["uri"], line["status"]) for line in front.nginx_log()}
        if set(ids) <= app and expected <= nginx:
            break
        time.sleep(0.1)
    assert set(ids) <= app
    assert expected <= nginx


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
    # The id a support request quotes is in nginx's log even when the app never saw it.
    request_id = reply.headers["X-Request-ID"]
    assert request_id in {line["request_id"] for line in front.nginx_log()}
