"""Rate limits count the client our own proxies saw, not an address the client wrote itself.

Issue #10, finding 4: 130 logins from one client, each with a different forged
``X-Forwarded-For``, were never limited (the login limit is 120/min). The same through a real
nginx is in tests/test_nginx.py.
"""

import logging
from datetime import UTC, datetime

import pytest
import responses
import time_machine
from django.test import RequestFactory

from lottery_site import client_ip as client_ip_module
from lottery_site.client_ip import client_ip

pytestmark = pytest.mark.django_db

JSCODE2SESSION = "https://wechat.test/sns/jscode2session"
LOGIN_LIMIT = 120  # THROTTLE_LOGIN_RATE's default, per minute
# Mid-minute, so all the logins of a test fall into one fixed throttle window.
FROZEN = datetime(2026, 5, 1, 12, 0, 20, tzinfo=UTC)


@pytest.fixture
def logins(api, wechat):
    wechat.add(responses.GET, JSCODE2SESSION, json={"openid": "o-spoofer", "session_key": "sk"})

    def login_statuses(forwarded_for, *, remote_addr="198.51.100.7", times=130):
        statuses = []
        with time_machine.travel(FROZEN, tick=False):
            for i in range(times):
                response = api.post(
                    "/api/v1/auth/login",
                    {"code": f"code-{i}"},
                    format="json",
                    REMOTE_ADDR=remote_addr,
                    HTTP_X_FORWARDED_FOR=forwarded_for(i),
                )
                statuses.append(response.status_code)
        return statuses

    return login_statuses


def test_forged_forwarded_for_does_not_escape_the_login_limit_by_default(logins):
    statuses = logins(lambda i: f"203.0.113.{i}")
    assert statuses.count(429) == 130 - LOGIN_LIMIT
    assert statuses[LOGIN_LIMIT:] == [429] * (130 - LOGIN_LIMIT)


def test_behind_one_proxy_the_address_it_appended_is_counted_not_the_forged_ones(logins, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # nginx appends the address it saw ($proxy_add_x_forwarded_for) to the client's forgery.
    statuses = logins(lambda i: f"203.0.113.{i}, 198.51.100.7", remote_addr="127.0.0.1")
    assert statuses.count(429) == 130 - LOGIN_LIMIT


def test_behind_one_proxy_two_real_clients_have_their_own_budgets(logins, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    first = logins(lambda i: "198.51.100.7", remote_addr="127.0.0.1", times=LOGIN_LIMIT + 1)
    second = logins(lambda i: "198.51.100.8", remote_addr="127.0.0.1", times=1)
    assert first[-1] == 429 and second == [200]


def request_from(remote_addr: str, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


def test_with_no_trusted_proxy_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("198.51.100.7", "203.0.113.1")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.1, 198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.1,198.51.100.7", "198.51.100.7"),
        (2, "203.0.113.1, 198.51.100.7, 10.0.0.5", "198.51.100.7"),
        (2, "2001:db8::1, 10.0.0.5", "2001:db8::1"),
        (1, "203.0.113.1, not-an-address", "127.0.0.1"),  # a broken proxy: fall back
        (1, "", "127.0.0.1"),
    ],
)
def test_the_client_is_the_trusted_count_th_address_from_the_right(
    settings, trusted, forwarded_for, expected
):
    settings.TRUSTED_PROXY_COUNT = trusted
    assert client_ip(request_from("127.0.0.1", forwarded_for)) == expected


def test_forwarded_requests_from_a_private_peer_with_no_trusted_proxy_warn_once(
    settings, caplog, monkeypatch
):
    """Behind nginx with TRUSTED_PROXY_COUNT left at 0 every client looks like 127.0.0.1 and
    shares one login budget: say so in the log, once per process."""
    settings.TRUSTED_PROXY_COUNT = 0
    monkeypatch.setattr(client_ip_module, "_warned_untrusted_proxy", False)
    caplog.set_level(logging.WARNING, logger="lottery_site.client_ip")
    client_ip(request_from("8.8.8.8", "203.0.113.1"))  # a public peer: a client's forgery
    assert not caplog.records
    for _ in range(3):
        assert client_ip(request_from("127.0.0.1", "203.0.113.1")) == "127.0.0.1"
    assert [r.getMessage() for r in caplog.records] == [
        "X-Forwarded-For arrives from 127.0.0.1 but TRUSTED_PROXY_COUNT is 0: every client "
        "behind that proxy shares one rate limit; set TRUSTED_PROXY_COUNT (docs/operations.md)"
    ]
