"""/metrics (issue #9): Prometheus counters that move with real traffic, summed over processes.

Real database and cache; WeChat faked at the HTTP level. Counters are shared by the whole test
run (and by any worker it starts), so every assertion is about how much one moved.
"""

import contextlib
import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from celery import shared_task
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from draws import tasks as draw_tasks
from events.models import Event
from events.services.entries import entry_join
from lottery_site import metrics
from notifications import services as notify_services
from notifications import tasks as notify_tasks
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory
from wechat.subscribe import send_subscribe_message

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests"
REPO = Path(__file__).resolve().parent.parent
STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
SUBSCRIBE_SEND = "https://wechat.test/cgi-bin/message/subscribe/send"
ENTRY_ROUTE = "api/v1/events/<str:event_id>/entry"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.fixture
def wechat_ok(wechat):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 0, "errmsg": "ok"})
    return wechat


class Scrape(dict):
    def __call__(self, name: str, **labels) -> float:
        return self.get((name, frozenset(labels.items())), 0.0)


def scrape(api) -> Scrape:
    response = api.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    values = Scrape()
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


def overdue_event(*, entrants):
    """An event whose lock and draw times passed an hour ago, with these users joined."""
    start = timezone.now() - timedelta(hours=2)
    event = EventFactory(now=start, draw_at=start + timedelta(hours=1))
    for user in entrants:
        entry_join(event=event, user=user, now=start)
    return event


# --- Who may read it ------------------------------------------------------------------------


def test_metrics_is_not_found_when_no_token_is_configured(api, settings):
    settings.METRICS_TOKEN = ""
    assert api.get("/metrics").status_code == 404
    assert api.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_refuses_a_caller_without_the_token(api):
    response = api.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"lottery_" not in response.content


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"Basic {TOKEN}", "Bearer "]
)
def test_metrics_refuses_a_wrong_token(api, header):
    assert api.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401


def test_a_user_api_token_does_not_open_metrics(user_client):
    assert user_client.get("/metrics").status_code == 401


SCRAPE_ADDRESS = "10.0.0.5:8000"  # gunicorn's private address, as Prometheus's target names it


def test_prometheus_scraping_the_private_address_gets_the_metrics_without_an_error_line(
    api, settings, caplog
):
    settings.ALLOWED_HOSTS = ["lottery.example.com"]  # the site's name only, as deployed
    with caplog.at_level(logging.INFO):
        response = api.get(
            "/metrics", HTTP_HOST=SCRAPE_ADDRESS, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
    assert response.status_code == 200
    assert b"lottery_http_requests_total" in response.content
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_private_address_opens_nothing_without_the_token(api, settings, caplog):
    settings.ALLOWED_HOSTS = ["lottery.example.com"]
    with caplog.at_level(logging.INFO):
        assert api.get("/metrics", HTTP_HOST=SCRAPE_ADDRESS).status_code == 401
        settings.METRICS_TOKEN = ""
        assert api.get("/metrics", HTTP_HOST=SCRAPE_ADDRESS).status_code == 404
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_every_other_path_on_an_unlisted_host_is_still_refused(api, settings):
    settings.ALLOWED_HOSTS = ["lottery.example.com"]
    for path in ("/healthz", "/metrics/", "/api/v1/events"):
        response = api.get(path, HTTP_HOST=SCRAPE_ADDRESS, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 400, path


def test_a_scrape_is_counted_under_its_route(api):
    before = scrape(api)("lottery_http_requests_total", route="metrics", method="GET", status="200")
    metrics.HTTP_TALLY.flush()
    after = scrape(api)("lottery_http_requests_total", route="metrics", method="GET", status="200")
    assert after == before + 1


def test_the_env_examples_metrics_token_is_a_placeholder_the_service_refuses():
    example = (REPO / "deploy" / "systemd" / "lottery.env.example").read_text()
    [placeholder] = re.findall(r"^METRICS_TOKEN=(.*)$", example, flags=re.MULTILINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "METRICS_"))}
    env.update(DJANGO_SETTINGS_MODULE="lottery_site.test_settings", METRICS_TOKEN=placeholder)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "METRICS_TOKEN is still a placeholder" in result.stderr


def start_serve_web(port: int, log: Path) -> subprocess.Popen:
    """bin/serve-web as the unit runs it: the site's name only in DJANGO_ALLOWED_HOSTS."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
        "DJANGO_ALLOWED_HOSTS": "lottery.example.com",
        "METRICS_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
        "WEB_PORT": str(port),
        "WEB_WORKERS": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    with log.open("a") as out:
        return subprocess.Popen(
            [str(REPO / "bin" / "serve-web")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def scrape_status(port: int) -> int | None:
    """The status of a scrape as Prometheus makes it (its target's address as the Host), or
    None when nothing answers (Prometheus records up == 0)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "GET",
            "/metrics",
            headers={"Host": SCRAPE_ADDRESS, "Authorization": f"Bearer {TOKEN}"},
        )
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def test_runbook_lotterywebdown_scrape_fails_while_gunicorn_is_down_and_answers_once_restarted(
    tmp_path,
):
    """LotteryWebDown's runbook (docs/operations.md), run against a real gunicorn: the scrape
    of its private address answers 200 with no ERROR line; with gunicorn stopped it gets no
    answer (Prometheus's up == 0, the alert's input); restarted (step 2), the scrape that step 3
    makes answers 200 again."""
    from tests.live import free_port, wait_for

    port, log = free_port(), tmp_path / "web.log"
    web = start_serve_web(port, log)
    try:
        wait_for(lambda: scrape_status(port) == 200, timeout=60, what="gunicorn")
        assert scrape_status(port) == 200
    finally:
        stop_gracefully(web)
    assert scrape_status(port) is None

    web = start_serve_web(port, log)
    try:
        wait_for(lambda: scrape_status(port) == 200, timeout=60, what="gunicorn again")
    finally:
        stop_gracefully(web)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [line for line in lines if line["level"] in {"ERROR", "CRITICAL"}] == []
    assert any(line.get("route") == "metrics" and line["status"] == 200 for line in lines)


def stop_gracefully(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


# --- Traffic moves the counters -------------------------------------------------------------


def test_a_count_target_is_locked_by_the_sweeper_and_counted_as_such(api):
    """The join reaching the target changes no status; the sweep's lock is the one counted,
    and its lag is measured from the moment the target was reached."""
    start = timezone.now() - timedelta(seconds=30)
    event = EventFactory(now=start, draw_mode="count", target_participants=2)
    for user in UserFactory.create_batch(2):
        entry_join(event=event, user=user, now=start)
    before = scrape(api)

    draw_tasks.sweep()
    after = scrape(api)

    def moved(name, **labels):
        return after(name, **labels) - before(name, **labels)

    assert moved("lottery_events_locked_total", trigger="target") == 1
    assert moved("lottery_events_locked_total", trigger="schedule") == 0
    assert moved("lottery_schedule_lag_seconds_count", transition="lock") == 1
    assert 30 <= moved("lottery_schedule_lag_seconds_sum", transition="lock") < 3600
    event.refresh_from_db()
    assert event.status == Event.Status.OPENED


def test_join_draw_and_send_move_their_counters(api, settings, wechat_ok):
    settings.NOTIFY_TEMPLATES = {
        "result": {"id": "tpl-result", "fields": {"title": "thing1", "result": "thing2"}},
        "cancel": {"id": "", "fields": {}},
    }
    entrant, latecomer = UserFactory(), UserFactory()
    notify_services.subscription_accept(user=entrant, template_ids=["tpl-result"])
    upcoming = EventFactory()
    overdue = overdue_event(entrants=[entrant, UserFactory(), UserFactory()])
    before = scrape(api)

    joined = client_for(entrant).post(f"/api/v1/events/{upcoming.public_id}/entry")
    again = client_for(entrant).post(f"/api/v1/events/{upcoming.public_id}/entry")
    late = client_for(latecomer).post(f"/api/v1/events/{overdue.public_id}/entry")
    draw_tasks.sweep()  # beat's tick: locks and draws the overdue event (tasks run inline)
    notify_tasks.sweep()  # fans the draw out and sends the entrant's result through WeChat
    after = scrape(api)

    assert (joined.status_code, again.status_code, late.status_code) == (201, 200, 409)

    def moved(name, **labels):
        return after(name, **labels) - before(name, **labels)

    http = {"route": ENTRY_ROUTE, "method": "POST"}
    assert moved("lottery_http_requests_total", status="201", **http) == 1
    assert moved("lottery_http_requests_total", status="200", **http) == 1
    assert moved("lottery_http_requests_total", status="409", **http) == 1
    assert moved("lottery_http_request_duration_seconds_count", **http) == 3
    assert moved("lottery_joins_total", result="joined", reason="") == 1
    assert moved("lottery_joins_total", result="already_joined", reason="") == 1
    assert moved("lottery_joins_total", result="refused", reason="event_locked") == 1

    assert moved("lottery_events_locked_total", trigger="schedule") == 1
    assert moved("lottery_events_drawn_total") == 1
    assert moved("lottery_draw_duration_seconds_count") == 1
    assert moved("lottery_draw_entrants_sum") == 3
    # Both came an hour late: past every bucket up to 3600 s, counted by the draw-lag alert.
    for transition in ("lock", "draw"):
        assert (
            "lottery_schedule_lag_seconds_bucket",
            frozenset({"transition": transition, "le": "60.0"}.items()),
        ) in after  # the boundary the alert reads
        assert moved("lottery_schedule_lag_seconds_count", transition=transition) == 1
        assert moved("lottery_schedule_lag_seconds_bucket", transition=transition, le="60.0") == 0
        assert moved("lottery_schedule_lag_seconds_sum", transition=transition) >= 3600

    assert moved("lottery_notification_deliveries_total", state="sent") == 1
    send = {"endpoint": "/cgi-bin/message/subscribe/send"}
    assert moved("lottery_wechat_requests_total", errcode="0", **send) == 1
    assert moved("lottery_wechat_request_duration_seconds_count", **send) == 1

    # The sweeps were called directly; the tasks they queued ran through Celery (eagerly).
    for task in ("draws.tasks.lock_event", "notifications.tasks.send_batch"):
        assert moved("lottery_celery_tasks_total", task=task, outcome="success") >= 1


def test_sweeper_reports_events_overdue_by_more_than_a_minute(api):
    overdue_event(entrants=[UserFactory()])
    draw_tasks._record_overdue(timezone.now())  # what the sweep sees before handing it on

    values = scrape(api)
    assert values("lottery_overdue_events", transition="lock") >= 1
    assert values("lottery_sweep_last_run_timestamp_seconds") > 0

    draw_tasks.sweep()
    assert scrape(api)("lottery_overdue_events", transition="lock") == 0


def test_wechat_calls_are_counted_by_endpoint_and_errcode(api, wechat):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 43101, "errmsg": "refused"})
    wechat.add(responses.POST, SUBSCRIBE_SEND, status=502)
    before = scrape(api)

    for _ in range(2):
        send_subscribe_message(openid="o-1", template_id="tpl", data={"thing1": "x"})
    after = scrape(api)

    def moved(endpoint, errcode):
        labels = {"endpoint": endpoint, "errcode": errcode}
        return after("lottery_wechat_requests_total", **labels) - before(
            "lottery_wechat_requests_total", **labels
        )

    assert moved("/cgi-bin/stable_token", "0") == 1
    assert moved("/cgi-bin/message/subscribe/send", "43101") == 1
    assert moved("/cgi-bin/message/subscribe/send", "http_5xx") == 1


def test_request_times_land_in_the_buckets_prometheus_client_would_use(api):
    route = "tests/tally-buckets"
    for seconds in (0.005, 0.3, 20.0):  # on a bound (le is inclusive), between, past the last
        metrics.HTTP_TALLY.add((route, "GET", 200), seconds)

    values = scrape(api)  # the scrape writes this process's tally first
    labels = {"route": route, "method": "GET"}
    bucket = "lottery_http_request_duration_seconds_bucket"
    assert values(bucket, le="0.005", **labels) == 1
    assert values(bucket, le="0.25", **labels) == 1
    assert values(bucket, le="0.5", **labels) == 2
    assert values(bucket, le="10.0", **labels) == 2
    assert values(bucket, le="+Inf", **labels) == 3
    assert values("lottery_http_request_duration_seconds_sum", **labels) == pytest.approx(20.305)
    assert values("lottery_http_requests_total", status="200", **labels) == 3


@shared_task(name="tests.metrics.fails")
def fails() -> None:
    raise RuntimeError("boom")


def test_a_failing_task_is_counted_as_a_failure(api):
    labels = {"task": "tests.metrics.fails", "outcome": "failure"}
    before = scrape(api)("lottery_celery_tasks_total", **labels)

    assert fails.apply(throw=False).failed()  # as a worker runs it: the error is recorded

    assert scrape(api)("lottery_celery_tasks_total", **labels) == before + 1


# --- Labels stay bounded --------------------------------------------------------------------


def test_route_label_is_the_url_template_never_the_raw_path(api, user_client):
    user_client.get("/api/v1/events/e_0123456789abcdef")
    api.get("/no/such/page-e_0123456789abcdef")

    values = scrape(api)
    routes = {dict(labels).get("route") for (_, labels) in values}
    assert "api/v1/events/<str:event_id>" in routes
    assert metrics.UNMATCHED_ROUTE in routes
    assert not any("e_0123456789abcdef" in route for route in routes if route)
    detail = {"route": "api/v1/events/<str:event_id>", "method": "GET", "status": "404"}
    assert values("lottery_http_requests_total", **detail) >= 1


def test_an_unknown_http_method_is_counted_as_other(api):
    labels = {"route": "healthz", "status": "200"}
    before = scrape(api)("lottery_http_requests_total", method="other", **labels)

    api.generic("BREW", "/healthz")

    values = scrape(api)
    assert values("lottery_http_requests_total", method="other", **labels) == before + 1
    assert values("lottery_http_requests_total", method="BREW", **labels) == 0


# --- Several processes ----------------------------------------------------------------------


def run_python(code: str, **env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **env},
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def test_counts_of_another_process_sharing_the_directory_are_summed(api):
    labels = {"task": "tests.elsewhere", "outcome": "success"}
    before = scrape(api)("lottery_celery_tasks_total", **labels)

    run_python(
        "from lottery_site import metrics; "
        "metrics.CELERY_TASKS.labels('tests.elsewhere', 'success').inc(3)"
    )

    assert scrape(api)("lottery_celery_tasks_total", **labels) == before + 3


def test_a_service_starting_next_to_a_running_one_keeps_the_files(api):
    # This test run holds the directory (importing lottery_site.metrics took it), as a running
    # gunicorn would.
    run_python(
        "from lottery_site import metrics; metrics.CELERY_TASKS.labels('tests.x', 'retry').inc()"
    )

    assert (
        run_python("from lottery_site import metrics; print(metrics.claim_directory())") == "False"
    )
    assert scrape(api)("lottery_celery_tasks_total", task="tests.x", outcome="retry") >= 1


def test_the_first_service_to_start_wipes_files_left_by_the_previous_run(tmp_path):
    stale = tmp_path / "counter_999999999.db"
    stale.write_bytes(b"left by a process of the previous run")

    wiped = run_python(
        "from lottery_site import metrics; print(metrics.claim_directory())",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
    )

    assert wiped == "True" and not stale.exists()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.unix_path)


def get(sock: str, path: str, **headers) -> tuple[int, bytes]:
    connection = UnixHTTPConnection(sock)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_gunicorn_workers_that_come_and_go_add_up_on_one_scrape(tmp_path):
    """Two workers, each replaced after 5 requests: 20 requests pass through at least four
    processes, and whichever worker answers the scrape counts all of them."""
    sock = str(tmp_path / "web.sock")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "lottery_site.wsgi", "--config", "gunicorn.conf.py"]
        + ["--bind", f"unix:{sock}", "--workers", "2", "--max-requests", "5", "--preload"],
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "METRICS_TOKEN": TOKEN,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(sock):
            assert web.poll() is None, web.stderr.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        statuses = [get(sock, "/healthz")[0] for _ in range(20)]
        time.sleep(2 * metrics.HTTP_TALLY.FLUSH_SECONDS)  # the other worker's flusher runs
        status, body = get(sock, "/metrics", Authorization=f"Bearer {TOKEN}")
    finally:
        web.terminate()
        web.wait(timeout=30)

    assert statuses == [200] * 20 and status == 200
    values = Scrape()
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    labels = {"route": "healthz", "method": "GET", "status": "200"}
    assert values("lottery_http_requests_total", **labels) == 20


# --- Alerts and dashboard read what we export -----------------------------------------------


def exported_names() -> set[str]:
    suffixes = {
        "counter": ("_total",),
        "gauge": ("",),
        "histogram": ("", "_bucket", "_count", "_sum"),  # the family name, in comments
    }
    return {
        f"{metric._name}{suffix}"
        for metric in vars(metrics).values()
        if isinstance(metric, metrics.Counter | metrics.Gauge | metrics.Histogram)
        for suffix in suffixes[metric._type]
    }


@pytest.mark.parametrize("path", ["deploy/prometheus/alerts.yml", "deploy/grafana/lottery.json"])
def test_alerts_and_dashboard_name_only_metrics_we_export(path):
    referenced = set(re.findall(r"\blottery_[a-z_]+\b", (REPO / path).read_text()))
    referenced -= {"lottery_site"}
    assert referenced, "no lottery_ metric referenced"
    assert referenced <= exported_names(), referenced - exported_names()


@pytest.mark.mysql
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_draw_by_a_real_celery_worker_shows_on_the_web_scrape(api):
    """The worker is another process (started like `celery -A lottery_site worker`): what it
    counts reaches /metrics through the shared directory."""
    from lottery_site.celery import app
    from tests.test_draw_worker import overdue_event as overdue_with_entrants
    from tests.test_draw_worker import start_worker, status_of, stop, wait_for

    event = overdue_with_entrants(entrants=5)
    before = scrape(api)
    queue = f"test-metrics-{os.getpid()}-{event.pk}"
    worker = start_worker(queue, module="celery")
    try:
        app.send_task("draws.tasks.sweep", queue=queue)
        wait_for(lambda: status_of(event) == Event.Status.OPENED, timeout=60, what="the draw")
        # The task's success is counted just after its commit: give the worker a moment.
        wait_for(
            lambda: scrape(api)("lottery_celery_tasks_total", task="draws.tasks.lock_event",
                                outcome="success")
            > before("lottery_celery_tasks_total", task="draws.tasks.lock_event", outcome="success"),
            timeout=30,
            what="the worker's task count",
        )  # fmt: skip
    finally:
        stop(worker)
    after = scrape(api)

    assert after("lottery_events_drawn_total") == before("lottery_events_drawn_total") + 1
    assert after("lottery_draw_entrants_sum") == before("lottery_draw_entrants_sum") + 5
    sweeps = {"task": "draws.tasks.sweep", "outcome": "success"}
    assert (
        after("lottery_celery_tasks_total", **sweeps)
        >= before("lottery_celery_tasks_total", **sweeps) + 1
    )
