"""A ban acts within a documented bound, whatever wrote it (issue 10, finding 6).

Authentication takes no round trip per request: each process re-reads the inactive user ids at
most every AUTH_BAN_CHECK_SECONDS. Through the service or the admin a ban acts at once in the
process that wrote it; from a shell, a data migration or another process, within the bound.
"""

import time

import pytest

from accounts.models import User
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db


def wait_out_the_bound(settings) -> None:
    """Sleep past the documented bound (AUTH_BAN_CHECK_SECONDS; the goal is 2 s at most)."""
    time.sleep(getattr(settings, "AUTH_BAN_CHECK_SECONDS", 2) + 0.05)


def test_the_documented_bound_is_at_most_two_seconds(settings):
    assert 0 < settings.AUTH_BAN_CHECK_SECONDS <= 2


def test_user_deactivated_by_a_queryset_update_is_refused_within_the_bound(settings):
    entrant = UserFactory()
    client, event = client_for(entrant), EventFactory()
    assert client.get("/api/v1/me").status_code == 200

    User.objects.filter(pk=entrant.pk).update(is_active=False)  # a shell, a data migration
    wait_out_the_bound(settings)

    me = client.get("/api/v1/me")
    assert me.status_code == 401 and me.json()["code"] == 40102
    join = client.post(f"/api/v1/events/{event.public_id}/entry")
    assert join.status_code == 401 and join.json()["code"] == 40102


def test_user_deactivated_by_save_is_refused_within_the_bound(settings):
    entrant = UserFactory()
    client, event = client_for(entrant), EventFactory()
    assert client.get(f"/api/v1/events/{event.public_id}").status_code == 200

    entrant.is_active = False
    entrant.save()
    wait_out_the_bound(settings)

    assert client.post(f"/api/v1/events/{event.public_id}/entry").status_code == 401


def test_reactivated_user_is_let_back_in_within_the_bound(settings):
    entrant = UserFactory(is_active=False)
    client = client_for(entrant)
    assert client.get("/api/v1/me").status_code == 401

    User.objects.filter(pk=entrant.pk).update(is_active=True)
    wait_out_the_bound(settings)

    assert client.get("/api/v1/me").status_code == 200


def test_within_the_bound_authentication_reads_nothing(django_assert_num_queries):
    """The inactive list is read once per interval, not per request: an authenticated
    endpoint with no query of its own makes none."""
    client = client_for(UserFactory())
    client.get("/api/v1/me/subscriptions")  # reads the inactive list
    with django_assert_num_queries(1):  # the quota's own query
        assert client.get("/api/v1/me/subscriptions").status_code == 200


def test_user_deleted_from_a_shell_gets_401_not_a_server_error():
    gone = UserFactory()
    client = client_for(gone)
    User.objects.filter(pk=gone.pk).delete()

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == 40102
