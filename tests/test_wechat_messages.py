"""Subscribe messages and the shared WeChat access token (issue #5, the WeChat-facing part)."""

import json
import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import responses
import time_machine
from django.core.cache import cache

from tests.fake_wechat import FakeWeChat
from wechat import access_token
from wechat.access_token import get_access_token, invalidate_access_token
from wechat.subscribe import (
    SendResult,
    build_template_data,
    fit_template_value,
    send_subscribe_message,
    template_kind,
)

STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
SUBSCRIBE_SEND = "https://wechat.test/cgi-bin/message/subscribe/send"
APP_SECRET = "test-app-secret"  # lottery_site/test_settings.py
BASE_DIR = Path(__file__).resolve().parent.parent
START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def wechat_issues(wechat, *tokens, expires_in=7200):
    """stable_token answers these tokens, one per call, and the last one from then on."""
    for token in tokens:
        wechat.add(
            responses.POST, STABLE_TOKEN, json={"access_token": token, "expires_in": expires_in}
        )


def wechat_answers_sends(wechat, *errcodes):
    for errcode in errcodes:
        wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": errcode, "errmsg": "x"})


def requests_to(wechat, url):
    return [call.request for call in wechat.calls if call.request.url.split("?")[0] == url]


def token_used_by(request) -> str:
    return requests.utils.urlparse(request.url).query.removeprefix("access_token=")


def send(**overrides) -> SendResult:
    message = {"openid": "o-entrant", "template_id": "tpl-result", "data": {"thing1": "一等奖"}}
    return send_subscribe_message(**{**message, **overrides})


# --- The access token -----------------------------------------------------------------------


def test_token_is_fetched_once_and_reused_for_many_sends(wechat):
    wechat_issues(wechat, "AT-1")
    wechat_answers_sends(wechat, 0)

    results = [send(openid=f"o-{i}") for i in range(10)]

    assert {result.outcome for result in results} == {"sent"}
    assert len(requests_to(wechat, STABLE_TOKEN)) == 1
    assert [token_used_by(r) for r in requests_to(wechat, SUBSCRIBE_SEND)] == ["AT-1"] * 10


def test_token_request_sends_app_credentials_without_forcing_a_refresh(wechat):
    wechat_issues(wechat, "AT-1")
    assert get_access_token() == "AT-1"
    body = json.loads(requests_to(wechat, STABLE_TOKEN)[0].body)
    assert body == {
        "grant_type": "client_credential",
        "appid": "wx-test-app",
        "secret": APP_SECRET,
        "force_refresh": False,
    }


def test_token_is_refreshed_once_shortly_before_it_expires(wechat):
    wechat_issues(wechat, "AT-1", "AT-2")
    with time_machine.travel(START, tick=False) as traveller:
        assert get_access_token() == "AT-1"
        traveller.shift(6900)  # 5 minutes left: not yet
        assert get_access_token() == "AT-1"
        traveller.shift(100)  # 200 s left: inside the refresh margin
        assert [get_access_token() for _ in range(5)] == ["AT-2"] * 5

    assert len(requests_to(wechat, STABLE_TOKEN)) == 2


def test_token_handed_out_with_little_time_left_does_not_make_every_call_refetch(wechat):
    # A normal stable_token call outside WeChat's last 5 minutes returns the same token with
    # the time it has left; that must not put us in a loop of refetches.
    wechat_issues(wechat, "AT-1", expires_in=300)
    with time_machine.travel(START, tick=False) as traveller:
        get_access_token()
        traveller.shift(100)
        assert [get_access_token() for _ in range(5)] == ["AT-1"] * 5
    assert len(requests_to(wechat, STABLE_TOKEN)) == 1


def test_while_another_process_refreshes_the_still_valid_token_is_used(wechat):
    wechat_issues(wechat, "AT-1", "AT-2")
    with time_machine.travel(START, tick=False) as traveller:
        get_access_token()
        traveller.shift(7000)
        cache.add(access_token.LOCK_KEY, "another-process", timeout=10)
        assert get_access_token() == "AT-1"
    assert len(requests_to(wechat, STABLE_TOKEN)) == 1


def test_without_a_token_a_process_waits_for_the_one_fetching_it(wechat):
    wechat_issues(wechat, "AT-1")
    cache.add(access_token.LOCK_KEY, "another-process", timeout=10)

    def other_process_finishes_its_fetch():
        cache.delete(access_token.LOCK_KEY)
        get_access_token()

    timer = threading.Timer(0.3, other_process_finishes_its_fetch)
    timer.start()
    token = get_access_token()
    timer.join()

    assert token == "AT-1"
    assert len(requests_to(wechat, STABLE_TOKEN)) == 1


def test_without_a_token_and_a_stuck_lock_the_process_fetches_itself(wechat, settings):
    settings.WECHAT_ACCESS_TOKEN_WAIT_SECONDS = 0.2
    wechat_issues(wechat, "AT-1")
    cache.add(access_token.LOCK_KEY, "crashed-process", timeout=10)
    assert get_access_token() == "AT-1"
    assert len(requests_to(wechat, STABLE_TOKEN)) == 1


def test_failed_refresh_keeps_the_valid_token_and_is_not_retried_on_every_call(wechat):
    wechat_issues(wechat, "AT-1")
    wechat.add(responses.POST, STABLE_TOKEN, json={"errcode": -1, "errmsg": "system busy"})
    with time_machine.travel(START, tick=False) as traveller:
        get_access_token()
        traveller.shift(7000)
        assert [get_access_token() for _ in range(5)] == ["AT-1"] * 5
    assert len(requests_to(wechat, STABLE_TOKEN)) == 2


def test_many_reports_of_the_same_rejected_token_cause_one_refetch(wechat):
    wechat_issues(wechat, "AT-1", "AT-2", "AT-3")
    get_access_token()

    for _ in range(5):  # five workers hit 40001 with the same token at once
        invalidate_access_token("AT-1")
    assert [get_access_token() for _ in range(5)] == ["AT-2"] * 5
    invalidate_access_token("AT-1")  # a late report about the old token changes nothing
    assert get_access_token() == "AT-2"

    assert len(requests_to(wechat, STABLE_TOKEN)) == 2


def test_refetch_forces_a_refresh_only_when_wechat_returns_the_rejected_token(wechat):
    wechat_issues(wechat, "AT-1", "AT-1", "AT-2")
    get_access_token()
    invalidate_access_token("AT-1")

    assert get_access_token() == "AT-2"
    forced = [json.loads(r.body)["force_refresh"] for r in requests_to(wechat, STABLE_TOKEN)]
    assert forced == [False, False, True]


def test_forced_refresh_is_not_repeated_within_its_cooldown(wechat):
    wechat_issues(wechat, "AT-1")  # WeChat keeps returning the token it rejects
    get_access_token()
    for _ in range(3):
        invalidate_access_token("AT-1")
        assert get_access_token() == "AT-1"
    forced = [json.loads(r.body)["force_refresh"] for r in requests_to(wechat, STABLE_TOKEN)]
    assert forced.count(True) == 1


# --- Sending and its outcomes ---------------------------------------------------------------


def test_message_body_follows_the_subscribe_send_api(wechat):
    wechat_issues(wechat, "AT-1")
    wechat_answers_sends(wechat, 0)

    send(
        data={"thing1": "一等奖：扫地机器人", "time2": START},
        page="pages/event/detail?id=7",
        miniprogram_state="trial",
    )

    body = json.loads(requests_to(wechat, SUBSCRIBE_SEND)[0].body)
    assert body == {
        "touser": "o-entrant",
        "template_id": "tpl-result",
        "page": "pages/event/detail?id=7",
        "data": {"thing1": {"value": "一等奖：扫地机器人"}, "time2": {"value": "2025-03-01 16:00"}},
        "miniprogram_state": "trial",
        "lang": "zh_CN",
    }


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [
        (0, "sent"),
        (43101, "refused"),
        (40003, "failed"),
        (47003, "failed"),
        (40037, "failed"),
        (-1, "retry"),
    ],
)
def test_each_errcode_ends_in_its_outcome(wechat, errcode, outcome):
    wechat_issues(wechat, "AT-1")
    wechat_answers_sends(wechat, errcode)

    result = send()

    assert result == SendResult(outcome, errcode, "x")
    assert len(requests_to(wechat, SUBSCRIBE_SEND)) == 1  # nothing is retried on the spot


@pytest.mark.parametrize(
    "answer",
    [
        {"body": requests.Timeout("read timed out")},
        {"body": requests.ConnectionError("refused")},
        {"body": "busy", "status": 500},
        {"body": "<html>gateway</html>", "status": 200},
    ],
    ids=["timeout", "connection-error", "http-500", "non-json"],
)
def test_network_trouble_is_a_retry_never_an_exception(wechat, answer):
    wechat_issues(wechat, "AT-1")
    wechat.add(responses.POST, SUBSCRIBE_SEND, **answer)
    assert send().outcome == "retry"


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"errcode": -1, "errmsg": "system busy"}},
        {"json": {"errcode": 40125, "errmsg": "invalid appsecret"}},
        {"body": requests.ConnectionError("refused")},
    ],
    ids=["busy", "bad-secret", "connection-error"],
)
def test_no_access_token_is_a_retry_and_sends_nothing(wechat, settings, answer):
    settings.WECHAT_ACCESS_TOKEN_WAIT_SECONDS = 0
    wechat.add(responses.POST, STABLE_TOKEN, **answer)
    assert send().outcome == "retry"
    assert requests_to(wechat, SUBSCRIBE_SEND) == []


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_rejected_token_is_replaced_once_and_the_message_resent_once(wechat, errcode):
    wechat_issues(wechat, "AT-1", "AT-2")
    wechat_answers_sends(wechat, errcode, 0)

    assert send().outcome == "sent"
    assert send().outcome == "sent"

    assert len(requests_to(wechat, STABLE_TOKEN)) == 2
    assert [token_used_by(r) for r in requests_to(wechat, SUBSCRIBE_SEND)] == [
        "AT-1",
        "AT-2",
        "AT-2",
    ]


def test_second_rejection_after_the_refresh_is_a_retry_without_another_refresh(wechat):
    wechat_issues(wechat, "AT-1", "AT-2", "AT-3")
    wechat_answers_sends(wechat, 40001, 40001)

    result = send()

    assert result.outcome == "retry" and result.errcode == 40001
    assert len(requests_to(wechat, STABLE_TOKEN)) == 2
    assert len(requests_to(wechat, SUBSCRIBE_SEND)) == 2


def test_app_secret_and_access_token_appear_in_no_log_record(wechat, settings, caplog):
    settings.WECHAT_ACCESS_TOKEN_WAIT_SECONDS = 0
    caplog.set_level(logging.DEBUG)
    wechat_issues(wechat, "AT-secret-1", "AT-secret-2")
    wechat.add(
        responses.POST,
        SUBSCRIBE_SEND,
        json={"errcode": 40001, "errmsg": "invalid credential, access_token is AT-secret-1"},
    )
    wechat_answers_sends(wechat, 40003, 47003, -1, 0)
    wechat.add(responses.POST, SUBSCRIBE_SEND, body=requests.ConnectionError("refused"))

    outcomes = [send().outcome for _ in range(5)]
    cache.clear()
    wechat.replace(responses.POST, STABLE_TOKEN, json={"errcode": 40125, "errmsg": "bad secret"})
    outcomes.append(send().outcome)

    assert outcomes == ["failed", "failed", "retry", "sent", "retry", "retry"]
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    for secret in (APP_SECRET, "AT-secret-1", "AT-secret-2"):
        assert secret not in logged


def test_access_token_stays_out_of_http_debug_logs_over_a_real_socket(settings, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeWeChat() as fake:
        settings.WECHAT_API_BASE = fake.url
        assert send().outcome == "sent"

    assert fake.state.token and fake.state.token not in caplog.text
    assert "access_token=***" in caplog.text  # urllib3 logged the request line, redacted
    assert APP_SECRET not in caplog.text


WORKER = """
import json, sys
from concurrent.futures import ThreadPoolExecutor

import django

django.setup()
from wechat.subscribe import send_subscribe_message

print("ready", flush=True)
sys.stdin.readline()


def send(i):
    return send_subscribe_message(
        openid=f"o-{i}", template_id="tpl-result", data={"thing1": "一等奖"}
    ).outcome


with ThreadPoolExecutor(4) as pool:
    print(json.dumps(list(pool.map(send, range(20)))), flush=True)
"""


@pytest.mark.redis
def test_processes_sharing_redis_fetch_the_access_token_once():
    assert cache.get(access_token.CACHE_KEY) is None
    with FakeWeChat() as fake:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
            "WECHAT_API_BASE": fake.url,
            "PYTHONPATH": str(BASE_DIR),
        }
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER],
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        try:
            for worker in workers:  # all started and set up before any of them sends
                assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
            for worker in workers:
                worker.stdin.write("go\n")
                worker.stdin.flush()
            results = [worker.communicate(timeout=60) for worker in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()

    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
        assert json.loads(out) == ["sent"] * 20
    assert fake.state.calls["stable_token"] == 1
    assert fake.state.calls["subscribe_send"] == 80
    assert len(fake.state.sent) == 80


# --- Template values ------------------------------------------------------------------------


def test_thing_longer_than_20_characters_is_cut_to_19_and_an_ellipsis():
    long = "恭喜您在春节幸运大抽奖活动中获得一等奖扫地机器人一台"
    fitted = fit_template_value("thing", long)
    assert fitted == long[:19] + "…"
    assert len(fitted) == 20


def test_thing_of_exactly_20_characters_is_kept_whole():
    exact = "恭喜您在春节幸运大抽奖活动中获得一等奖品"
    assert len(exact) == 20
    assert fit_template_value("thing", exact) == exact


def test_text_is_put_on_one_line_before_it_is_measured():
    assert fit_template_value("thing", "  一等奖\n扫地机器人 ") == "一等奖 扫地机器人"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("phrase", "已中奖了吗真的", "已中奖了吗"),
        ("name", "欧阳一二三四五六七八九", "欧阳一二三四五六七八"),
        ("character_string", "A" * 40, "A" * 32),
        ("number", 12345, "12345"),
        ("unknownkind", "x" * 50, "x" * 50),
    ],
)
def test_each_kind_is_cut_to_its_wechat_limit(kind, value, expected):
    assert fit_template_value(kind, value) == expected


def test_time_is_formatted_in_asia_shanghai_by_default():
    assert fit_template_value("time", datetime(2025, 3, 1, 16, 30, tzinfo=UTC)) == (
        "2025-03-02 00:30"
    )


def test_time_is_formatted_in_the_time_zone_asked_for():
    moment = datetime(2025, 3, 1, 16, 30, tzinfo=UTC)
    assert fit_template_value("date", moment, tz="UTC") == "2025-03-01 16:30"
    assert fit_template_value("date", date(2025, 3, 1)) == "2025-03-01"


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        fit_template_value("time", datetime(2025, 3, 1, 16, 30))  # noqa: DTZ001


def test_build_template_data_fits_each_value_by_its_key_prefix():
    data = build_template_data(
        {
            "thing1": "一" * 25,
            "time2": datetime(2025, 3, 1, 4, 0, tzinfo=UTC),
            "character_string3": "EV-" + "9" * 40,
        },
        tz="Asia/Shanghai",
    )
    assert data == {
        "thing1": {"value": "一" * 19 + "…"},
        "time2": {"value": "2025-03-01 12:00"},
        "character_string3": {"value": ("EV-" + "9" * 40)[:32]},
    }


def test_template_kind_is_the_key_without_its_number():
    assert template_kind("thing1") == "thing"
    assert template_kind("time12") == "time"
    assert template_kind("character_string3") == "character_string"
