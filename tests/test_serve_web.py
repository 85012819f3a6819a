"""bin/serve-web finds gunicorn without the virtualenv on PATH (systemd, cron and sudo lack it)."""

import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.live import free_port, wait_for

REPO = Path(__file__).resolve().parent.parent
# What a bare service manager gives a process: the system's directories only.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def bare_env(tmp_path: Path, port: int) -> dict:
    """No virtualenv anywhere: not on PATH, not activated; the embedded default otherwise."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR")
    return {
        **{k: v for k, v in os.environ.items() if k in keep},
        "PATH": SYSTEM_PATH,
        "DJANGO_DEBUG": "1",
        "LOTTERY_VAR_DIR": str(tmp_path / "var"),
        "WEB_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def test_serve_web_runs_the_checkouts_gunicorn_with_the_virtualenv_off_path(tmp_path):
    assert shutil.which("gunicorn", path=SYSTEM_PATH) is None, "a system gunicorn would hide it"
    port = free_port()
    web = subprocess.Popen(
        [str(REPO / "bin" / "serve-web")],
        cwd=tmp_path,  # not the checkout either
        env=bare_env(tmp_path, port),
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: web.poll() is not None or answers(f"http://127.0.0.1:{port}/healthz"),
            timeout=60,
            what="gunicorn to answer /healthz",
        )
        assert web.poll() is None, f"serve-web exited with {web.returncode}"
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)


def test_serve_web_says_what_to_do_when_there_is_no_gunicorn(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "bin").mkdir(parents=True)
    shutil.copy(REPO / "bin" / "serve-web", checkout / "bin" / "serve-web")
    result = subprocess.run(
        [str(checkout / "bin" / "serve-web")],
        env=bare_env(tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 127
    assert "gunicorn not found" in result.stderr and "make setup" in result.stderr


def test_serve_web_serves_another_wsgi_application_under_the_same_settings(tmp_path):
    # bench/ measures every endpoint against a plain WSGI app served this way (WEB_APP).
    port = free_port()
    web = subprocess.Popen(
        [str(REPO / "bin" / "serve-web")],
        env={**bare_env(tmp_path, port), "WEB_APP": "bench.plain_wsgi"},
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/anything"
        wait_for(
            lambda: web.poll() is not None or answers(url),
            timeout=60,
            what="the plain WSGI app to answer",
        )
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            assert response.read() == b'{"code": 0, "msg": "ok", "data": {"status": "ok"}}'
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
