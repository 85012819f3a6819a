"""Shared fixtures: personas, an authenticated API client, WeChat faked at the HTTP level.

Nothing of ours is mocked: tests talk to the configured database and cache (MariaDB and Redis in
CI). Only WeChat, which is outside our walls, is replaced, with ``responses``.
"""

import os
import shutil

import pytest
import responses as responses_lib
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import EventFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config):
    if IN_CI and not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise pytest.UsageError(
            "CI must run against MariaDB and Redis: set DATABASE_URL and REDIS_URL"
        )


def nginx_binary() -> str | None:
    """Debian's nginx lives in /usr/sbin, which a non-root PATH often lacks."""
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def pytest_collection_modifyitems(config, items):
    """Tests marked mysql/redis/nginx skip on a laptop without the service, and fail in CI."""
    have = {
        "mysql": settings.DATABASES["default"]["ENGINE"] == "django.db.backends.mysql",
        "redis": bool(settings.REDIS_URL),
        "nginx": nginx_binary() is not None,  # .ci/run installs Debian's
    }
    for item in items:
        for marker, present in have.items():
            # In CI pytest_configure has already refused to start without both services, so a
            # missing service there is an error, never a skip (a missing nginx fails the test).
            if item.get_closest_marker(marker) and not present and not IN_CI:
                item.add_marker(pytest.mark.skip(reason=f"needs {marker}"))


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters must not leak from one test into the next, nor any cache of ours."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    # Every cache of this process, through the register (lottery_site.caches), and its view of
    # Redis.
    from lottery_site import caches, redis_breaker

    caches.reset_all()
    redis_breaker.reset()
    yield


@pytest.fixture
def wechat():
    """WeChat's HTTP API, faked: register answers with ``wechat.add(...)``."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


# The personas most tests speak of: an event's creator, someone who joins it, someone who does not.
@pytest.fixture
def creator(db):
    return UserFactory(nickname="发起人")


@pytest.fixture
def entrant(db):
    return UserFactory()


@pytest.fixture
def outsider(db):
    return UserFactory()


@pytest.fixture
def event(creator):
    return EventFactory(creator=creator)


def client_for(user) -> APIClient:
    from accounts.services import tokens_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    return client


@pytest.fixture
def user_client(user):
    return client_for(user)


def url(event, suffix: str = "") -> str:
    """An event's API URL (an Event or its public id), with ``suffix`` ("/entry", ...)."""
    public_id = event if isinstance(event, str) else event.public_id
    return f"/api/v1/events/{public_id}{suffix}"


def data(response):
    return response.json()["data"]


def refused(response, status: int, code: int) -> bool:
    """The response is the API's refusal ``code`` with HTTP ``status``."""
    return response.status_code == status and response.json()["code"] == code


@pytest.fixture
def is_mysql():
    return connection.vendor == "mysql"
