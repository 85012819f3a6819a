"""Sharing an event (issue #14, "Sharing"): GET /api/v1/events/{id}/share.

WeChat is faked at the HTTP level: ``responses`` in-process, or the fake server on loopback for
the race between concurrent first requests.
"""

import io
import json
import threading
import time
from datetime import timedelta

import pytest
import requests
import responses
from django.core.files.storage import storages
from django.db import connections
from django.utils import timezone
from PIL import Image

from accounts.models import Upload
from accounts.services import uploads_sweep
from events.models import ShareCode
from events.services import sharing
from lottery_site.errors import ApplicationError
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory
from tests.fake_wechat import FakeWeChat, FakeWeChatHandler, add_unlimited_code

STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
CODE = "https://wechat.test/wxa/getwxacodeunlimit"


def wechat_issues_token(wechat, *tokens):
    for token in tokens or ("AT-1",):
        wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": token, "expires_in": 7200})


def code_requests(wechat):
    return [c.request for c in wechat.calls if c.request.url.split("?")[0] == CODE]


def share(client, event):
    return client.get(f"/api/v1/events/{event.public_id}/share")


@pytest.fixture
def event(db):
    return EventFactory(title="年会抽奖")


@pytest.fixture
def entrant(db):
    return UserFactory()


@pytest.mark.django_db
def test_share_answers_title_path_and_a_stored_code_made_by_wechat_once(wechat, event, entrant):
    wechat_issues_token(wechat)
    add_unlimited_code(wechat)
    client = client_for(entrant)

    first, second = share(client, event), share(client, event)

    assert first.status_code == 200, first.content
    data = first.json()["data"]
    assert data["title"] == "年会抽奖"
    assert data["path"] == f"pages/event/detail?id={event.public_id}"
    upload = ShareCode.objects.get(event=event).image
    assert data["image"] == {
        "url": f"http://testserver/media/{upload.file}",
        "width": 430,
        "height": 430,
    }
    assert second.json()["data"] == data
    assert len(code_requests(wechat)) == 1  # never per request
    with storages["media"].open(upload.file) as stored:
        assert Image.open(io.BytesIO(stored.read())).format == "PNG"


@pytest.mark.django_db
def test_code_request_names_the_event_as_scene_with_the_cached_stable_token(wechat, event, entrant):
    wechat_issues_token(wechat, "AT-shared")
    add_unlimited_code(wechat)

    share(client_for(entrant), event)

    sent = code_requests(wechat)[0]
    assert sent.url.endswith("access_token=AT-shared")
    assert json.loads(sent.body) == {
        "scene": event.public_id,
        "page": "pages/event/detail",
        "check_path": True,
        "env_version": "release",
    }
    assert len(event.public_id) <= 32


@pytest.mark.django_db
def test_trial_builds_get_trial_codes(wechat, event, entrant, settings):
    settings.NOTIFY_MINIPROGRAM_STATE = "trial"
    settings.WECHAT_CODE_CHECK_PATH = False
    wechat_issues_token(wechat)
    add_unlimited_code(wechat)
    share(client_for(entrant), event)
    body = json.loads(code_requests(wechat)[0].body)
    assert body["env_version"] == "trial" and body["check_path"] is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [(-1, 503, 50300), (45009, 503, 50300), (41030, 502, 50200), (40097, 502, 50200)],
)
def test_wechat_refusals_are_502_or_503_and_the_next_request_tries_again(
    wechat, event, entrant, errcode, status, code
):
    wechat_issues_token(wechat)
    add_unlimited_code(wechat, errcode=errcode)
    client = client_for(entrant)

    response = share(client, event)

    assert response.status_code == status and response.json()["code"] == code
    assert not ShareCode.objects.exists()  # the claim is released
    assert not Upload.objects.exists()
    share(client, event)
    assert len(code_requests(wechat)) == 2


@pytest.mark.django_db
def test_wechat_unreachable_is_a_503(wechat, event, entrant):
    wechat_issues_token(wechat)
    wechat.add(responses.POST, CODE, body=requests.ConnectionError("down"))
    assert share(client_for(entrant), event).status_code == 503


@pytest.mark.django_db
def test_rejected_access_token_is_replaced_once_and_the_code_asked_again(wechat, event, entrant):
    wechat_issues_token(wechat, "AT-old", "AT-new")
    wechat.add(responses.POST, CODE, json={"errcode": 40001, "errmsg": "invalid credential"})
    add_unlimited_code(wechat)

    response = share(client_for(entrant), event)

    assert response.status_code == 200
    assert [r.url.rsplit("=", 1)[1] for r in code_requests(wechat)] == ["AT-old", "AT-new"]


@pytest.mark.django_db
def test_wechat_answering_something_that_is_not_an_image_is_a_502(wechat, event, entrant):
    wechat_issues_token(wechat)
    wechat.add(responses.POST, CODE, body=b"<html>gateway</html>", content_type="text/html")
    response = share(client_for(entrant), event)
    assert response.status_code == 502 and response.json()["code"] == 50200
    assert not ShareCode.objects.exists() and not Upload.objects.exists()


@pytest.mark.django_db
def test_claim_left_by_a_dead_process_is_taken_over(wechat, event, entrant):
    wechat_issues_token(wechat)
    add_unlimited_code(wechat)
    long_ago = timezone.now() - timedelta(seconds=sharing.SHARE_CLAIM_SECONDS + 1)
    ShareCode.objects.create(event=event, claim="dead", claimed_at=long_ago)

    assert share(client_for(entrant), event).status_code == 200
    assert ShareCode.objects.get(event=event).image is not None


@pytest.mark.django_db
def test_fresh_claim_of_another_request_is_waited_for_not_duplicated(
    wechat, event, entrant, monkeypatch
):
    monkeypatch.setattr(sharing, "SHARE_WAIT_SECONDS", 0.3)
    ShareCode.objects.create(event=event, claim="busy", claimed_at=timezone.now())

    response = share(client_for(entrant), event)

    assert response.status_code == 503 and response.json()["code"] == 50300  # retry
    assert code_requests(wechat) == []


@pytest.mark.django_db
def test_share_of_an_unknown_event_is_a_404(entrant):
    response = client_for(entrant).get("/api/v1/events/e_doesnotexist0000/share")
    assert response.status_code == 404 and response.json()["code"] == 40401


@pytest.mark.django_db
def test_anonymous_caller_cannot_share(api, event):
    assert share(api, event).status_code == 401


@pytest.mark.django_db
def test_sweeper_never_deletes_a_share_code(wechat, event, entrant):
    wechat_issues_token(wechat)
    add_unlimited_code(wechat)
    share(client_for(entrant), event)
    assert uploads_sweep(now=timezone.now() + timedelta(days=30)) == 0
    assert ShareCode.objects.get(event=event).image is not None


class SlowCodeHandler(FakeWeChatHandler):
    """WeChat taking its time over a code, so concurrent first requests really overlap."""

    def do_POST(self):
        if self.path.startswith("/wxa/getwxacodeunlimit"):
            time.sleep(0.5)
        return super().do_POST()


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_concurrent_first_requests_ask_wechat_once_and_store_one_code(settings):
    event = EventFactory()
    results: list = []
    start = threading.Barrier(6)

    def first_request():
        try:
            start.wait()
            image = sharing.event_share_image(event=event, now=timezone.now())
            results.append(image.pk)
        except ApplicationError as refusal:
            results.append(refusal.name)
        finally:
            connections.close_all()

    with FakeWeChat(SlowCodeHandler) as fake:
        settings.WECHAT_API_BASE = fake.url
        threads = [threading.Thread(target=first_request) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert fake.state.calls["getwxacodeunlimit"] == 1
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert Upload.objects.filter(purpose="share_code").count() == 1
    assert fake.state.codes[0]["scene"] == event.public_id
