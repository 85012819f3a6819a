"""Logs: one format and one time zone everywhere, the request's context on every line, no secrets."""

import contextlib
import io
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from django.test import Client
from django.utils import timezone

from events.services.entries import entry_join
from lottery_site import request_id as log_context
from lottery_site.celery import app
from lottery_site.logs import PLAIN_FORMAT, JsonFormatter, PlainFormatter, logging_config, redact
from tests.conftest import client_for
from tests.factories import EventFactory, StaffFactory, UserFactory
from tests.live import free_port, wait_for

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOjQyfQ.c2lnbmF0dXJlLW5vdC1yZWFs"


@pytest.fixture
def json_log():
    """Every log line written meanwhile, as our JSON formatter writes it, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(log_context.LogContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous_level)


def record(message="hello %s", args=("world",), **attributes) -> logging.LogRecord:
    rec = logging.LogRecord("lottery.test", logging.WARNING, __file__, 1, message, args, None)
    rec.__dict__.update(attributes)
    log_context.LogContextFilter().filter(rec)
    return rec


def access_lines(lines):
    return [line for line in lines if line["logger"] == "lottery.access"]


# --- the formats ----------------------------------------------------------------------------


def test_json_line_is_one_object_with_utc_time_level_logger_and_context():
    token = log_context.current.set("req-1")
    try:
        rec = record()
    finally:
        log_context.current.reset(token)
    line = json.loads(JsonFormatter().format(rec))
    assert ISO_UTC.match(line["timestamp"])
    logged_at = datetime.fromisoformat(line["timestamp"])
    assert abs(logged_at - datetime.fromtimestamp(rec.created, UTC)) < timedelta(milliseconds=1)
    assert line["level"] == "WARNING" and line["logger"] == "lottery.test"
    assert line["message"] == "hello world"
    assert line["request_id"] == "req-1"
    assert line["user_id"] is None and line["event_id"] is None and line["task_id"] is None


def test_json_line_carries_extra_fields_and_the_traceback_on_one_line():
    try:
        raise ValueError("broken")
    except ValueError:
        rec = record(exc_info=sys.exc_info(), status=503)
    text = JsonFormatter().format(rec)
    assert "\n" not in text
    line = json.loads(text)
    assert line["status"] == 503
    assert "ValueError: broken" in line["exc_info"]


def test_plain_line_keeps_its_layout_with_the_time_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        text = PlainFormatter(PLAIN_FORMAT).format(record())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    stamp, level, name, request_id, message = text.split(" ", 4)
    assert ISO_UTC.match(stamp) and (level, name, request_id) == ("WARNING", "lottery.test", "[-]")
    assert message == "hello world"
    logged_at = datetime.fromisoformat(stamp)
    assert abs(logged_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_unknown_log_format_refuses_to_start():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(log_format="xml", level="INFO")


# --- redaction ------------------------------------------------------------------------------

SECRETS = {
    "jwt": JWT,
    "session_key": "tiihtNczf5v6AKRyjwEUhQ==",
    "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    "phone": "13812345678",
    "address": "北京市朝阳区建国路88号",
    "refresh": "r3fr3sh-t0k3n-value",
}


def test_tokens_session_keys_phone_numbers_and_addresses_are_redacted():
    messages = [
        f"Authorization: Bearer {SECRETS['jwt']}",
        f"wechat answered {{'session_key': '{SECRETS['session_key']}', "
        f"'openid': '{SECRETS['openid']}'}}",
        f'body {{"refresh": "{SECRETS["refresh"]}", "phone": "{SECRETS["phone"]}"}}',
        f"GET /api/v1/x?access_token={SECRETS['jwt']}&page=2",
        f"call me on {SECRETS['phone']} or +86 138 1234 5678",
        f"address={SECRETS['address']}",
        f"token {SECRETS['jwt']} inside a sentence",
    ]
    for message in messages:
        text = redact(message)
        assert "[redacted]" in text
        assert not any(secret in text for secret in SECRETS.values()), text
        assert "5678" not in text


def test_redaction_leaves_ordinary_lines_alone():
    line = "POST api/v1/events/<str:event_id>/entry 201 3.2ms event e_0123456789abcdef drawn: 3"
    assert redact(line) == line
    assert redact("errcode=40001 errmsg=invalid credential") == (
        "errcode=40001 errmsg=invalid credential"
    )


def test_both_formats_redact_the_message_extras_and_the_traceback():
    try:
        raise RuntimeError(f"login failed for session_key={SECRETS['session_key']}")
    except RuntimeError:
        rec = record(
            "user %s at %s",
            (SECRETS["openid"], SECRETS["phone"]),
            exc_info=sys.exc_info(),
            address=SECRETS["address"],
            openid=SECRETS["openid"],
            request=f"<WSGIRequest: GET '/x?token={SECRETS['refresh']}'>",
        )
    plain = PlainFormatter(PLAIN_FORMAT).format(rec)
    as_json = JsonFormatter().format(rec)
    for text in (plain, as_json):
        leaked = [name for name, secret in SECRETS.items() if secret in text and name != "openid"]
        assert not leaked, text
    # An openid in a message without its key name cannot be recognised; as a field it can.
    assert json.loads(as_json)["openid"] == "[redacted]"


# --- the request's context and the access line ----------------------------------------------


def test_join_writes_one_access_line_with_route_status_duration_and_caller(json_log):
    event = EventFactory()
    participant = UserFactory()
    response = client_for(participant).post(
        f"/api/v1/events/{event.public_id}/entry", HTTP_X_REQUEST_ID="req-join-1"
    )
    assert response.status_code == 201
    lines = json_log()
    [access] = access_lines(lines)
    assert access["route"] == "api/v1/events/<str:event_id>/entry"
    assert access["method"] == "POST" and access["status"] == 201
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["request_id"] == "req-join-1" == response["X-Request-ID"]
    assert access["user_id"] == participant.public_id
    assert access["event_id"] == event.public_id
    assert access["message"].startswith("POST api/v1/events/<str:event_id>/entry 201 ")
    output = json.dumps(lines)
    assert participant.openid not in output and participant.session_key not in output


def test_access_line_of_an_anonymous_request_names_no_caller(json_log):
    response = Client().get("/api/v1/events/e_doesnotexist0000")
    [access] = access_lines(json_log())
    assert access["status"] == response.status_code == 401
    assert access["user_id"] is None
    assert access["request_id"] == response["X-Request-ID"]


def test_access_line_costs_no_query(json_log, django_assert_num_queries):
    with django_assert_num_queries(0):
        Client().get("/healthz")
    [access] = access_lines(json_log())
    assert access["route"] == "healthz" and access["user_id"] is None


def test_access_line_of_the_admin_names_the_staff_member(json_log):
    staff = StaffFactory()
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    [access] = access_lines(json_log())
    assert access["user_id"] == staff.public_id


def test_unknown_path_is_logged_by_path_without_its_query_string(json_log):
    Client().get("/no/such/page?token=abc123")
    [access] = access_lines(json_log())
    assert access["route"] is None and access["path"] == "/no/such/page"
    assert access["status"] == 404
    assert "abc123" not in json.dumps(json_log())


def test_lines_logged_inside_a_request_name_its_request_caller_and_event(json_log):
    creator = UserFactory()
    event = EventFactory(creator=creator)
    response = client_for(creator).delete(
        f"/api/v1/events/{event.public_id}", HTTP_X_REQUEST_ID="req-cancel-1"
    )
    assert response.status_code == 200, response.content
    [canceled] = [line for line in json_log() if "canceled by creator" in line["message"]]
    assert canceled["logger"] == "events.services.events"
    assert canceled["request_id"] == "req-cancel-1"
    assert canceled["user_id"] == creator.public_id
    assert canceled["event_id"] == event.public_id


def test_context_ends_with_the_request(json_log):
    client_for(UserFactory()).get("/api/v1/me")
    logging.getLogger("lottery.test").warning("after the request")
    after = json_log()[-1]
    assert after["message"] == "after the request"
    assert after["request_id"] is None and after["user_id"] is None


def test_crash_outside_the_api_is_logged_with_its_request_id(settings, json_log):
    settings.ROOT_URLCONF = "tests.urls_crash"
    Client(raise_request_exception=False).get(
        "/api/v1/test/plain-crash", HTTP_X_REQUEST_ID="req-crash-1"
    )
    errors = [line for line in json_log() if line["level"] == "ERROR"]
    assert errors and all(line["request_id"] == "req-crash-1" for line in errors)
    assert any("boom inside a plain Django view" in line.get("exc_info", "") for line in errors)


@pytest.mark.django_db(transaction=True)  # on_commit fires inside the request, as in production
def test_a_task_run_inline_logs_under_the_request_that_queued_it(json_log):
    creator = UserFactory()
    start = timezone.now()
    event = EventFactory(creator=creator, draw_mode="manual", now=start)
    entry_join(event=event, user=UserFactory(), now=start)
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        response = client_for(creator).post(
            f"/api/v1/events/{event.public_id}/draw", HTTP_X_REQUEST_ID="req-draw-1"
        )
    assert response.status_code == 202, response.content
    lines = json_log()
    [drawn] = [line for line in lines if " drawn: " in line["message"]]
    assert drawn["request_id"] == "req-draw-1"
    assert drawn["task_id"] is not None
    assert drawn["event_id"] == event.public_id
    assert any(line["message"] == f"event {event.public_id} locked (drawn early)" for line in lines)
    of_the_draw = [line for line in lines if line["event_id"] == event.public_id]
    assert {line["request_id"] for line in of_the_draw} == {"req-draw-1"}


SWEEP_ID = re.compile(r"^sweep-[0-9a-f]{32}$")


def overdue_event_with_entrants():
    start = timezone.now() - timedelta(hours=2)
    event = EventFactory(now=start, draw_at=start + timedelta(hours=1))
    for user in UserFactory.create_batch(2):
        entry_join(event=event, user=user, now=start)
    return event


def test_a_sweep_and_the_draws_it_starts_log_under_one_sweep_id_of_its_own(json_log):
    from draws import tasks as draw_tasks

    event = overdue_event_with_entrants()
    draw_tasks.sweep.delay()  # as beat sends it: no request behind it (run inline here)
    draw_tasks.sweep.delay()

    lines = [line for line in json_log() if line["event_id"] == event.public_id]
    messages = [line["message"] for line in lines]
    assert f"event {event.public_id} locked (lock time)" in messages
    assert any(message.startswith(f"event {event.public_id} drawn") for message in messages)
    [sweep_id] = {line["request_id"] for line in lines}
    assert SWEEP_ID.match(sweep_id)
    assert all(line["task_id"] for line in lines)


def test_each_sweep_gets_an_id_of_its_own_that_ends_with_it(json_log):
    from draws import tasks as draw_tasks

    first = overdue_event_with_entrants()
    draw_tasks.sweep.delay()
    second = overdue_event_with_entrants()
    draw_tasks.sweep.delay()

    lines = json_log()
    [first_id] = {line["request_id"] for line in lines if line["event_id"] == first.public_id}
    [second_id] = {line["request_id"] for line in lines if line["event_id"] == second.public_id}
    assert first_id != second_id and SWEEP_ID.match(second_id)
    assert log_context.current.get() == "-"


# --- across processes: a real Celery worker, a real gunicorn --------------------------------


def stop(process: subprocess.Popen) -> None:
    """A graceful stop of the main process (it stops its own children), then of the rest."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.mysql
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_every_line_of_a_draw_in_the_worker_names_its_event_and_the_request_or_sweep_behind_it(
    tmp_path,
):
    from tests.test_draw_worker import worker_env

    creator = UserFactory()
    start = timezone.now() - timedelta(minutes=2)
    asked = EventFactory(creator=creator, draw_mode="manual", now=start)
    entry_join(event=asked, user=UserFactory(), now=start)

    log = tmp_path / "worker.log"
    env = {**worker_env(), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "TZ": "Asia/Shanghai"}
    args = [sys.executable, "-m", "celery", "-A", "lottery_site", "--quiet", "worker"]
    args += ["--concurrency", "1", "--without-gossip", "--without-mingle"]
    args += ["--without-heartbeat"]
    with log.open("w") as out:
        worker = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=out, stderr=out, start_new_session=True
        )
    app.conf.task_always_eager = False  # the view and the sweep queue for the worker
    try:
        response = client_for(creator).post(
            f"/api/v1/events/{asked.public_id}/draw", HTTP_X_REQUEST_ID="req-worker-1"
        )
        assert response.status_code == 202, response.content
        wait_for(
            lambda: f"event {asked.public_id} drawn" in log.read_text(),
            timeout=60,
            what="the draw asked for by the request",
        )
        swept = overdue_event_with_entrants()
        app.send_task("draws.tasks.sweep")  # as beat sends it: no request behind it
        wait_for(
            lambda: f"event {swept.public_id} drawn" in log.read_text(),
            timeout=60,
            what="the draw started by the sweep",
        )
        # Every line the worker wrote, Celery's own and Python warnings too, is one of ours.
        lines = json_lines(log)
    finally:
        app.conf.task_always_eager = True
        stop(worker)

    of_asked = [line for line in lines if line["event_id"] == asked.public_id]
    assert any(" drawn: " in line["message"] for line in of_asked)
    assert {line["request_id"] for line in of_asked} == {"req-worker-1"}
    of_swept = [line for line in lines if line["event_id"] == swept.public_id]
    messages = [line["message"] for line in of_swept]
    assert f"event {swept.public_id} locked (lock time)" in messages
    assert any(" drawn: " in message for message in messages)
    assert any(message.startswith("Task draws.tasks.lock_event[") for message in messages)
    [sweep_id] = {line["request_id"] for line in of_swept}
    assert SWEEP_ID.match(sweep_id)
    sweep_lines = [line for line in lines if line["message"].startswith("Task draws.tasks.sweep[")]
    assert sweep_id in {line["request_id"] for line in sweep_lines}  # the sweep's own line too
    assert all(line["task_id"] for line in of_asked + of_swept)
    assert any(line["logger"].startswith("celery") for line in lines)
    for line in lines:
        assert ISO_UTC.match(line["timestamp"]), line
        logged_at = datetime.fromisoformat(line["timestamp"])
        assert abs(logged_at - datetime.now(UTC)) < timedelta(minutes=5), line


def unit_command(name: str, *, var_dir: Path) -> list[str]:
    """A unit's ExecStart as argv on this machine: this virtualenv's programs for those of
    /srv/lottery/.venv, ``var_dir`` for the state directory, the unit's Environment= values."""
    from tests.test_systemd_units import service

    unit = service(name)
    values = dict(value.split("=", 1) for value in unit.get("Environment", []))
    values["STATE_DIRECTORY"] = str(var_dir)
    [command] = unit["ExecStart"]
    command = re.sub(r"\$\{(\w+)\}", lambda match: values[match[1]], command)
    command = command.replace("/srv/lottery/.venv/bin/", f"{Path(sys.executable).parent}/")
    return shlex.split(command.replace("/var/lib/lottery", str(var_dir)))


def every_line_is_json(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    for line in lines:
        assert line.startswith("{"), f"{path.name}: not a JSON line: {line!r}"
    return [json.loads(line) for line in lines]


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_started_as_their_units_say_write_only_json_from_start_to_exit(tmp_path):
    """No banner at start, no bare notice at exit: every line on stdout and stderr is one
    JSON object, with Celery's INFO lines (the unit's --loglevel) among them."""
    from tests.test_draw_worker import worker_env

    env = {**worker_env(), "LOG_FORMAT": "json", "LOTTERY_VAR_DIR": str(tmp_path)}
    env.pop("LOG_LEVEL", None)  # the unit's --loglevel=INFO decides, as on a machine
    started = {}
    for name in ("lottery-worker.service", "lottery-beat.service"):
        out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                unit_command(name, var_dir=tmp_path),
                cwd=REPO,
                env=env,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        started[name] = (process, out, err)
    worker, beat = started["lottery-worker.service"], started["lottery-beat.service"]
    try:
        # Beat sends its first sweeps at once; the worker runs them.
        wait_for(
            lambda: (
                "Task draws.tasks.sweep" in worker[2].read_text()
                and "succeeded" in worker[2].read_text()
            ),
            timeout=60,
            what="a sweep sent by beat and run by the worker",
        )
    finally:
        for process, _, _ in (beat, worker):  # SIGTERM to the main process, as systemd does
            stop(process)
    assert (beat[0].returncode, worker[0].returncode) == (0, 0)

    worker_lines = every_line_is_json(worker[1]) + every_line_is_json(worker[2])
    beat_lines = every_line_is_json(beat[1]) + every_line_is_json(beat[2])
    said = {line["message"] for line in worker_lines}
    assert any(message.startswith("celery@") and message.endswith("ready.") for message in said)
    assert "worker: Warm shutdown (MainProcess)" in said  # printed bare by Celery, now logged
    assert "beat: Starting..." in {line["message"] for line in beat_lines}
    assert any(line["level"] == "INFO" for line in worker_lines)


def test_gunicorn_and_the_app_write_the_same_json_lines_in_utc(tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
        "LOG_FORMAT": "json",
        "TZ": "Asia/Shanghai",
        "WEB_PORT": str(port),
        "WEB_WORKERS": "1",
        "WEB_ACCESS_LOG": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    with log.open("w") as out:
        web = subprocess.Popen(
            [str(REPO / "bin" / "serve-web")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/healthz"

        def answers() -> bool:
            try:
                return requests.get(url, timeout=10).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(answers, timeout=60, what="gunicorn")
        requests.get(f"{url}?token=s3cr3t-in-url", timeout=5, headers={"X-Request-ID": "req-gu"})
        wait_for(
            lambda: "s3cr3t" in log.read_text() or "req-gu" in log.read_text(),
            timeout=10,
            what="the access lines",
        )
    finally:
        stop(web)
    lines = json_lines(log)
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access", "lottery.access"} <= loggers
    for line in lines:
        assert ISO_UTC.match(line["timestamp"]), line
        logged_at = datetime.fromisoformat(line["timestamp"])
        assert abs(logged_at - datetime.now(UTC)) < timedelta(minutes=5), line
    assert "s3cr3t" not in log.read_text()
    # gunicorn's access line (when asked for) comes before the request's context is cleared.
    by_logger = {line["logger"]: line for line in lines if line["request_id"] == "req-gu"}
    assert by_logger.keys() == {"lottery.access", "gunicorn.access"}
    assert by_logger["lottery.access"]["route"] == "healthz"
