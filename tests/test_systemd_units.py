"""deploy/systemd: the units that run web, worker and beat on a machine.

What matters is checked from the files themselves (an unprivileged user, env from a file,
restart on failure, a graceful stop long enough for the longest task); ``systemd-analyze
verify`` also checks them where systemd is installed.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
UNITS = REPO / "deploy" / "systemd"
NAMES = ["lottery-web.service", "lottery-worker.service", "lottery-beat.service"]
SPAN = re.compile(r"(\d+)\s*(min|m|s|sec|h)?$")
SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values in order]}} (keys may repeat in systemd)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service(name: str) -> dict[str, list[str]]:
    return parse_unit(UNITS / name)["Service"]


def seconds(span: str) -> int:
    match = SPAN.match(span)
    assert match, f"unexpected time span {span!r}"
    return int(match.group(1)) * SECONDS[match.group(2)]


def graceful_timeout_of_serve_web() -> int:
    return int(re.search(r"--graceful-timeout (\d+)", (REPO / "bin/serve-web").read_text())[1])


@pytest.mark.parametrize("name", NAMES)
def test_each_unit_runs_unprivileged_with_its_env_from_a_file_and_restarts_on_failure(name):
    unit = service(name)
    assert unit["User"] == ["lottery"] and unit["Group"] == ["lottery"]
    assert unit["EnvironmentFile"] == ["/etc/lottery/lottery.env"]
    assert unit["Restart"] == ["on-failure"]
    # Graceful stop: SIGTERM to the main process only, which stops its children in order.
    assert unit["KillMode"] == ["mixed"] and unit["KillSignal"] == ["SIGTERM"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit[key] == [value], key
    assert "WantedBy" in parse_unit(UNITS / name)["Install"]


def test_web_runs_bin_serve_web_and_waits_longer_than_gunicorns_graceful_timeout():
    unit = service("lottery-web.service")
    assert unit["ExecStart"] == ["/srv/lottery/bin/serve-web"]
    assert unit["Type"] == ["notify"]  # gunicorn sends READY=1
    assert seconds(unit["TimeoutStopSec"][0]) > graceful_timeout_of_serve_web()


def test_worker_waits_for_the_longest_task_to_end_by_its_own_time_limit():
    unit = service("lottery-worker.service")
    assert " -A lottery_site --quiet worker --loglevel=INFO " in unit["ExecStart"][0]
    assert seconds(unit["TimeoutStopSec"][0]) > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_beat_runs_the_database_scheduler_from_code():
    unit = service("lottery-beat.service")
    assert " -A lottery_site --quiet beat --loglevel=INFO " in unit["ExecStart"][0]
    assert settings.CELERY_BEAT_SCHEDULER.startswith("django_celery_beat.")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path):
    # verify insists that ExecStart exists: point /srv/lottery at this checkout.
    for name in NAMES:
        text = (UNITS / name).read_text().replace("/srv/lottery", str(REPO))
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in NAMES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
