"""deploy/systemd: the units that run web, worker, beat and the backup on a machine.

What matters is checked from the files themselves (an unprivileged user, env from a file,
restart on failure, a graceful stop long enough for the longest task, every directory they write
made for them); ``systemd-analyze verify`` also checks them, and ``systemd-tmpfiles`` runs the
documented directory step on a throwaway root, where systemd is installed.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
UNITS = REPO / "deploy" / "systemd"
NAMES = [
    "lottery-web.service",
    "lottery-worker.service",
    "lottery-beat.service",
    "lottery-live.service",
]
BACKUP = "lottery-backup.service"
UNITS_WITH_A_PROCESS = [*NAMES, BACKUP]
TMPFILES = UNITS / "lottery.tmpfiles"
RUNBOOK = REPO / "docs" / "operations.md"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
}
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
    for key, value in HARDENING.items():
        assert unit[key] == [value], key
    assert "WantedBy" in parse_unit(UNITS / name)["Install"]


def test_web_runs_bin_serve_web_and_waits_longer_than_gunicorns_graceful_timeout():
    unit = service("lottery-web.service")
    assert unit["ExecStart"] == ["/srv/lottery/bin/serve-web"]
    assert unit["Type"] == ["notify"]  # gunicorn sends READY=1
    assert seconds(unit["TimeoutStopSec"][0]) > graceful_timeout_of_serve_web()


def test_live_runs_bin_serve_live_and_waits_longer_than_uvicorns_graceful_shutdown():
    unit = service("lottery-live.service")
    assert unit["ExecStart"] == ["/srv/lottery/bin/serve-live"]
    graceful = int(
        re.search(r"--timeout-graceful-shutdown (\d+)", (REPO / "bin/serve-live").read_text())[1]
    )
    assert seconds(unit["TimeoutStopSec"][0]) > graceful


def test_worker_waits_for_the_longest_task_to_end_by_its_own_time_limit():
    unit = service("lottery-worker.service")
    assert " -A lottery_site --quiet worker --loglevel=INFO " in unit["ExecStart"][0]
    assert seconds(unit["TimeoutStopSec"][0]) > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_beat_runs_the_database_scheduler_from_code():
    unit = service("lottery-beat.service")
    assert " -A lottery_site --quiet beat --loglevel=INFO " in unit["ExecStart"][0]
    assert settings.CELERY_BEAT_SCHEDULER.startswith("django_celery_beat.")


def test_backup_runs_nightly_unprivileged_and_writes_files_only_its_user_reads():
    unit = service(BACKUP)
    assert unit["Type"] == ["oneshot"]
    assert unit["User"] == ["lottery"] and unit["Group"] == ["lottery"]
    assert unit["EnvironmentFile"] == ["/etc/lottery/lottery.env"]
    assert unit["ExecStart"] == [
        "/srv/lottery/.venv/bin/python manage.py backup /var/backups/lottery --keep-days 14"
    ]
    assert unit["UMask"] == ["0077"]  # the dumps hold every undrawn event's seed
    for key, value in HARDENING.items():
        assert unit[key] == [value], key
    timer = parse_unit(UNITS / "lottery-backup.timer")
    assert timer["Timer"]["OnCalendar"] == ["*-*-* 03:30:00 UTC"]
    assert timer["Timer"]["Persistent"] == ["yes"]  # a night the machine was off is made up
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def tmpfiles_directories() -> dict[str, tuple[str, str, str]]:
    """{path: (mode, user, group)} of the `d` lines of deploy/systemd/lottery.tmpfiles."""
    found = {}
    for line in TMPFILES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, path, mode, user, group, _age = line.split()
            assert kind == "d", line
            found[path] = (mode, user, group)
    return found


def written_directories(name: str) -> set[str]:
    """The directories ``name`` writes: its state directories, ReadWritePaths, LOTTERY_VAR_DIR,
    and the backup's target."""
    unit = service(name)
    paths = {f"/var/lib/{d}" for value in unit.get("StateDirectory", []) for d in value.split()}
    paths |= {p.lstrip("-") for value in unit.get("ReadWritePaths", []) for p in value.split()}
    for value in unit.get("Environment", []):
        if value.startswith("LOTTERY_VAR_DIR="):
            paths.add(value.split("=", 1)[1])
    paths |= set(re.findall(r" backup (\S+)", unit["ExecStart"][0]))
    return paths


@pytest.mark.parametrize("name", UNITS_WITH_A_PROCESS)
def test_every_directory_a_unit_writes_is_made_by_the_documented_install(name):
    """ReadWritePaths must exist before systemd can start the unit (226/NAMESPACE otherwise), and
    the first deploy's migrate and collectstatic run before any unit: lottery.tmpfiles makes
    them all, for the units' user."""
    made = tmpfiles_directories()
    for path in written_directories(name):
        assert path in made, f"{name} writes {path}, which lottery.tmpfiles does not make"
        assert made[path][1:] == ("lottery", "lottery"), path
    assert made["/var/backups/lottery"][0] == "0700"


def runbook_shell_blocks() -> str:
    return "\n".join(re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(), re.DOTALL))


def test_the_runbook_installs_the_directories_and_runs_manage_py_as_the_units_do():
    shell = runbook_shell_blocks()
    assert "install -m 0644 deploy/systemd/lottery.tmpfiles /etc/tmpfiles.d/lottery.conf" in shell
    assert "systemd-tmpfiles --create lottery.conf" in shell
    assert "lottery-*.timer /etc/systemd/system/" in shell
    # lottery-manage (first deploy: migrate, collectstatic) runs like the units: same user,
    # env file, directory, LOTTERY_VAR_DIR and state directory.
    manage = shell[
        shell.index("lottery-manage() {") : shell.index("}", shell.index("lottery-manage() {"))
    ]
    web = service("lottery-web.service")
    assert "--uid=lottery --gid=lottery" in manage
    assert f"-p StateDirectory={web['StateDirectory'][0]}" in manage
    assert f"-p EnvironmentFile={web['EnvironmentFile'][0]}" in manage
    assert f"-E {next(e for e in web['Environment'] if e.startswith('LOTTERY_VAR_DIR='))}" in manage


@pytest.mark.skipif(not shutil.which("systemd-tmpfiles"), reason="needs systemd-tmpfiles")
def test_the_documented_directory_step_makes_them_owned_by_the_service_user(tmp_path):
    """The runbook's `systemd-tmpfiles --create lottery.conf`, on a throwaway root whose
    /etc/passwd has the user the runbook's adduser makes."""
    (tmp_path / "etc" / "tmpfiles.d").mkdir(parents=True)
    (tmp_path / "var" / "lib").mkdir(parents=True)
    (tmp_path / "var" / "backups").mkdir(parents=True)
    (tmp_path / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nlottery:x:990:990::/var/lib/lottery:/usr/sbin/nologin\n"
    )
    (tmp_path / "etc" / "group").write_text("root:x:0:\nlottery:x:990:\n")
    shutil.copy(TMPFILES, tmp_path / "etc" / "tmpfiles.d" / "lottery.conf")
    result = subprocess.run(
        ["systemd-tmpfiles", "--create", f"--root={tmp_path}", "lottery.conf"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for name in UNITS_WITH_A_PROCESS:
        for path in written_directories(name):
            made = (tmp_path / path.lstrip("/")).stat()
            assert (made.st_uid, made.st_gid) == (990, 990), path
            expected = int(tmpfiles_directories()[path][0], 8)
            assert made.st_mode & 0o7777 == expected, path


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path):
    # verify insists that ExecStart exists: point /srv/lottery at this checkout.
    names = [*UNITS_WITH_A_PROCESS, "lottery-backup.timer"]
    for name in names:
        text = (UNITS / name).read_text().replace("/srv/lottery", str(REPO))
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in names)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
