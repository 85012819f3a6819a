"""Overlong URLs (issue #20, item 7): a 414 in the envelope, not gunicorn's HTML page.

The app refuses an API URL over API_MAX_URL_BYTES (4096) itself; gunicorn reads request lines
up to 8190 bytes (lottery_site/gunicorn_conf.py), as long as nginx's default buffer for them
(8k), so every URL the front door lets through reaches the app and is answered in JSON.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.test import Client

from tests.live import free_port, wait_for
from tests.test_logs import stop

REPO = Path(__file__).resolve().parent.parent
METHODS = {"get", "post", "put", "patch", "delete"}


def padded(path: str, length: int) -> str:
    """``path`` with a query that makes the URL exactly ``length`` bytes long."""
    prefix = f"{path}?pad="
    return prefix + "a" * (length - len(prefix))


def is_uri_too_long(response) -> bool:
    body = response.json()
    return response.status_code == 414 and body == {
        "code": 41400,
        "msg": "请求地址过长",
        "data": None,
    }


@pytest.mark.django_db
def test_api_url_over_the_limit_is_a_414_in_the_envelope(api, settings):
    response = api.get(padded("/api/v1/square", settings.API_MAX_URL_BYTES + 1))

    assert is_uri_too_long(response)
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_api_url_at_the_limit_is_served(api, settings):
    response = api.get(padded("/api/v1/square", settings.API_MAX_URL_BYTES))

    assert response.status_code == 200, response.content


def test_a_long_path_counts_like_a_long_query(api, settings):
    response = api.post("/api/v1/events/" + "e" * settings.API_MAX_URL_BYTES, {}, format="json")

    assert is_uri_too_long(response)


def test_the_limit_is_a_setting(api, settings):
    settings.API_MAX_URL_BYTES = 2048

    assert is_uri_too_long(api.get(padded("/api/v1/nowhere", 2049)))


def test_every_operation_documents_the_414():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for item in schema["paths"].values():
        for method, operation in item.items():
            if method in METHODS:
                body = operation["responses"]["414"]["content"]["application/json"]["schema"]
                assert body["properties"]["code"]["enum"] == [41400]


def test_gunicorn_lets_every_url_nginx_accepts_reach_the_app(tmp_path):
    """Through a real gunicorn (bin/serve-web): up to its limit the app answers, in JSON."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
        "WEB_PORT": str(port),
        "WEB_WORKERS": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    log = tmp_path / "web.log"
    with log.open("w") as out:
        web = subprocess.Popen(
            [str(REPO / "bin" / "serve-web")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=10).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(answers, timeout=60, what="gunicorn")
        # gunicorn's old limit was 4094 bytes for the whole request line.
        within = requests.get(base + padded("/api/v1/nowhere", 4090), timeout=10)
        over_ours = requests.get(base + padded("/api/v1/nowhere", 5000), timeout=10)
        # "GET <url> HTTP/1.1" (the URL and 13 bytes) at 8190 bytes: the longest line gunicorn
        # reads, as nginx's 8k buffer holds it with its CRLF.
        longest = requests.get(base + padded("/api/v1/nowhere", 8190 - 13), timeout=10)
        beyond = requests.get(base + padded("/api/v1/nowhere", 8190 - 12), timeout=10)
    finally:
        stop(web)

    assert within.status_code == 404 and within.json()["code"] == 40400
    assert is_uri_too_long(over_ours), over_ours.text
    assert is_uri_too_long(longest), longest.text
    # Longer lines never reach the app: nginx (8k) refuses them first in production.
    assert beyond.status_code == 414 and "<html>" in beyond.text
    assert "WORKER TIMEOUT" not in log.read_text()


@pytest.mark.parametrize("value", ["512", "9000"])
def test_the_service_refuses_a_url_limit_gunicorn_or_nginx_would_not_honour(value):
    from tests.test_settings import run_manage

    result = run_manage("check", DJANGO_DEBUG="1", API_MAX_URL_BYTES=value)

    assert result.returncode != 0
    assert "API_MAX_URL_BYTES" in result.stderr
