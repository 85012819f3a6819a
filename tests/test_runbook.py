"""The runbook's steps, run once: each alert's cause made real, its steps taken, the end checked.

docs/operations.md ("Alerts") lists, for every alert, the test or recorded drill that runs its
runbook; tests/test_operations_doc.py keeps that list complete. The runbooks of LotteryRedisDown
and LotteryWebDown run next to their subject (tests/test_redis_outage.py, tests/test_metrics.py).
"""

import http.client
import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from draws import tasks as draw_tasks
from events.models import Event
from tests.factories import UserFactory
from tests.live import free_port, wait_for
from tests.test_metrics import TOKEN, overdue_event, scrape, start_serve_web, stop_gracefully

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def late_draws(values) -> float:
    """Draws later than a minute, as LotteryDrawLagHigh counts them."""
    return values("lottery_schedule_lag_seconds_count", transition="draw") - values(
        "lottery_schedule_lag_seconds_bucket", transition="draw", le="60.0"
    )


def test_runbook_lotteryoverdueevents_draws_missed_while_beat_was_down_happen_on_its_first_sweep(
    api,
):
    """LotteryOverdueEvents and LotteryDrawLagHigh: beat (or every worker) was down past an
    event's lock and draw times. What the sweeper reports shows it overdue (the alert's input);
    the first sweep once beat runs again (step 1) locks and draws it, however late, and counts
    the draw as late (LotteryDrawLagHigh's input); `manage.py verify_draw` confirms its winners
    (the last step)."""
    event = overdue_event(entrants=UserFactory.create_batch(3))
    before = scrape(api)
    draw_tasks._record_overdue(timezone.now())  # what a sweep whose tasks nobody runs reports
    assert scrape(api)("lottery_overdue_events", transition="lock") >= 1

    draw_tasks.sweep.delay()  # beat runs again: its first tick (the tasks run inline here)

    event.refresh_from_db()
    assert event.status == Event.Status.OPENED
    after = scrape(api)
    assert after("lottery_overdue_events", transition="lock") == 0
    assert after("lottery_overdue_events", transition="draw") == 0
    assert late_draws(after) == late_draws(before) + 1
    out = io.StringIO()
    call_command("verify_draw", event.public_id, stdout=out)
    assert f"{event.public_id}: OK, winners confirmed" in out.getvalue()


def readyz(port: int) -> tuple[int | None, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/readyz", headers={"Host": "lottery.example.com"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    except OSError:
        return None, {}
    finally:
        connection.close()


def test_runbook_lotterynotready_readyz_names_the_database_until_it_answers_again(
    tmp_path, monkeypatch
):
    """LotteryNotReady: a web machine whose database does not answer (here: its DATABASE_URL
    points where nothing listens). /readyz answers 503 and its body names the database (step
    1); with the database reachable again (step 2) and the unit restarted, it is ready. The
    front's part (nginx answering for a gunicorn that is down) is
    tests/test_nginx.py::test_api_answers_503_in_the_envelope_when_gunicorn_is_down."""
    port, log = free_port(), tmp_path / "web.log"
    monkeypatch.setenv("LOTTERY_VAR_DIR", str(tmp_path / "var"))
    working_database = os.environ.get("DATABASE_URL")
    monkeypatch.setenv("DATABASE_URL", f"mysql://nobody@127.0.0.1:{free_port()}/lottery")
    web = start_serve_web(port, log)
    try:
        wait_for(lambda: readyz(port)[0] is not None, timeout=60, what="gunicorn")
        status, body = readyz(port)
    finally:
        stop_gracefully(web)
    assert status == 503
    assert body["code"] == 50301 and body["data"]["database"] == "down"

    if working_database:
        monkeypatch.setenv("DATABASE_URL", working_database)
    else:
        monkeypatch.delenv("DATABASE_URL")  # the embedded default: a SQLite file
    web = start_serve_web(port, log)
    try:
        wait_for(lambda: readyz(port)[0] is not None, timeout=60, what="gunicorn again")
        status, body = readyz(port)
    finally:
        stop_gracefully(web)
    assert status == 200 and body["data"]["database"] == "ok"
    lines = [json.loads(line) for line in Path(log).read_text().splitlines() if line.strip()]
    assert any("readiness check database failed" in line["message"] for line in lines)
