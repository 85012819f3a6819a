"""Content security and moderation (issue #14): WeChat's text and picture checks, the signed
callback, reports, visibility, and the staff's moderation queue.

WeChat is faked at the HTTP level (``responses`` + ``tests.fake_wechat``); our database, cache
and storage are real.
"""

import base64
import json
import secrets
from datetime import timedelta

import pytest
import redis
import requests
import responses
from django.core.cache import cache
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Upload, User, UserActionLog
from accounts.services import upload_create
from events import moderation
from events.models import Event, EventLog, Report
from events.services.entries import entry_join
from events.services.events import event_cancel, event_create
from events.services.reports import event_report
from events.tasks import recheck_content
from lottery_site.errors import ApplicationError
from tests.conftest import client_for
from tests.factories import EventFactory, StaffFactory, UserFactory, event_payload
from tests.fake_wechat import (
    add_content_checks,
    media_check_callback,
    media_check_message,
)
from tests.pictures import picture
from wechat.security import encrypt

pytestmark = pytest.mark.django_db

STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
MSG_CHECK = "https://wechat.test/wxa/msg_sec_check"
MEDIA_CHECK = "https://wechat.test/wxa/media_check_async"
CALLBACK = "/api/v1/wechat/callback"
CALLBACK_TOKEN = "callback-token-for-tests"
PLACEHOLDER = "http://testserver/static/moderation/removed.png"


@pytest.fixture
def checks_on(settings):
    settings.WECHAT_CONTENT_CHECK = True
    settings.WECHAT_CONTENT_CHECK_ON_ERROR = "refuse"
    settings.WECHAT_CALLBACK_TOKEN = CALLBACK_TOKEN
    settings.WECHAT_CALLBACK_AES_KEY = base64.b64encode(secrets.token_bytes(32)).decode()[:43]
    settings.SITE_URL = "https://api.example.test"
    return settings


@pytest.fixture
def fake(wechat, checks_on):
    """WeChat with a token, msg_sec_check and media_check_async; ``fake.media`` the pictures."""
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.media = []
    add_content_checks(wechat, media_traces=wechat.media)
    return wechat


@pytest.fixture
def creator():
    return UserFactory()


@pytest.fixture
def entrant():
    return UserFactory()


@pytest.fixture
def outsider():
    return UserFactory()


@pytest.fixture
def staff():
    return StaffFactory()


def checks_sent(wechat, url=MSG_CHECK):
    return [json.loads(c.request.body) for c in wechat.calls if c.request.url.split("?")[0] == url]


def create(user, **overrides):
    return client_for(user).post("/api/v1/events", event_payload(**overrides), format="json")


# --- text: msg_sec_check -----------------------------------------------------------------------


def test_creator_publishes_a_clean_event_checked_with_their_openid_in_the_forum_scene(
    fake, creator
):
    response = create(creator, title="年会抽奖", description="欢迎参加")

    assert response.status_code == 201, response.content
    sent = checks_sent(fake)
    assert {body["content"] for body in sent} == {"年会抽奖", "欢迎参加", "一等奖\n二等奖"}
    assert all(
        body["version"] == 2 and body["scene"] == 3 and body["openid"] == creator.openid
        for body in sent
    )
    assert Event.objects.get().text_unchecked is False


def test_creator_with_a_risky_title_is_refused_and_nothing_is_stored(fake, creator):
    response = create(creator, title="赌博大抽奖")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 40034 and body["msg"] == "内容含有违规信息，请修改后再提交"
    assert body["data"] == {"title": ["内容违规"]}
    assert not Event.objects.exists()


def test_risky_verdict_is_explained_in_english_on_request(fake, creator):
    response = client_for(creator).post(
        "/api/v1/events",
        event_payload(description="诈骗"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.json()["code"] == 40034
    assert response.json()["msg"].startswith("WeChat's content check found risky content")


def test_creator_cannot_leave_winners_a_risky_contact_note(fake, creator):
    # Only winners read it, but it is the creator's text all the same (a scam's favourite spot).
    response = create(creator, delivery="contact", contact_note="加微信领奖，先付赌博押金")

    assert response.json()["code"] == 40034
    assert response.json()["data"] == {"contact_note": ["内容违规"]}
    assert not Event.objects.exists()


def test_review_verdict_lets_the_text_through(fake, creator):
    assert create(creator, title="please review me").status_code == 201


def test_creator_cannot_edit_a_prize_name_into_something_risky(fake, creator):
    event = EventFactory(creator=creator)

    response = client_for(creator).patch(
        f"/api/v1/events/{event.public_id}",
        {"prizes": [{"name": "赌博筹码", "quantity": 1}]},
        format="json",
    )

    assert response.json()["code"] == 40034
    assert response.json()["data"] == {"prizes": ["内容违规"]}
    assert [p.name for p in event.ordered_prizes] == ["一等奖", "二等奖"]


def test_risky_nickname_is_refused_in_the_profile_scene(fake, entrant):
    response = client_for(entrant).patch("/api/v1/me", {"nickname": "诈骗高手"}, format="json")

    assert response.json()["code"] == 40034
    assert checks_sent(fake)[-1]["scene"] == 1
    entrant.refresh_from_db()
    assert entrant.nickname != "诈骗高手"


def test_a_risky_nickname_sent_with_a_login_is_dropped_and_the_login_succeeds(fake, api):
    fake.add(
        responses.GET,
        "https://wechat.test/sns/jscode2session",
        json={"openid": "o-login", "session_key": "k"},
    )

    response = api.post("/api/v1/auth/login", {"code": "c1", "nickname": "赌博"}, format="json")

    assert response.status_code == 201
    assert response.json()["data"]["user"]["nickname"] == ""
    assert checks_sent(fake)[0]["openid"] == "o-login"


def test_a_nickname_accepted_while_wechat_is_silent_is_marked_for_the_recheck(
    wechat, checks_on, entrant
):
    checks_on.WECHAT_CONTENT_CHECK_ON_ERROR = "accept"
    wechat.add(responses.POST, STABLE_TOKEN, body=requests.ConnectionError("down"))

    response = client_for(entrant).patch("/api/v1/me", {"nickname": "新名字"}, format="json")

    assert response.json()["data"]["nickname"] == "新名字"
    entrant.refresh_from_db()
    assert entrant.nickname_unchecked


def test_risky_cancel_reason_is_refused_in_the_comment_scene(fake, creator):
    event = EventFactory(creator=creator)

    response = client_for(creator).delete(
        f"/api/v1/events/{event.public_id}", {"reason": "去赌博了"}, format="json"
    )

    assert response.json()["code"] == 40034
    assert checks_sent(fake)[-1]["scene"] == 2
    event.refresh_from_db()
    assert event.status == Event.Status.INIT


def test_staff_cancel_reason_is_not_sent_to_wechat(fake, staff):
    event = EventFactory()
    fake.calls.reset()

    event_cancel(event=event, actor=staff, now=timezone.now(), reason="违规活动", by_staff=True)

    assert checks_sent(fake) == []


def test_nothing_is_sent_to_wechat_when_checks_are_off(wechat, creator, settings):
    settings.WECHAT_CONTENT_CHECK = False

    assert create(creator, title="赌博").status_code == 201
    assert len(wechat.calls) == 0


@pytest.mark.redis
def test_text_is_still_checked_while_redis_is_down(fake, creator, settings):
    """The access token's cache is Redis; without it the check asks WeChat for the token."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get("probe")  # Redis really is out of reach

    with pytest.raises(ApplicationError) as refused:
        event_create(
            creator=creator,
            title="赌博之夜",
            draw_at=timezone.now() + timedelta(hours=1),
            prizes=[{"name": "一等奖", "quantity": 1}],
            now=timezone.now(),
        )

    assert refused.value.name == "content_risky"
    assert checks_sent(fake)


def test_silent_wechat_refuses_the_write_when_so_configured(wechat, checks_on, creator):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, MSG_CHECK, body=requests.ConnectionError("down"))

    response = create(creator)

    assert response.status_code == 503 and response.json()["code"] == 50300
    assert not Event.objects.exists()


def test_silent_wechat_accepts_and_the_recheck_takes_a_risky_event_off_the_square(
    wechat, checks_on, creator
):
    checks_on.WECHAT_CONTENT_CHECK_ON_ERROR = "accept"
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, MSG_CHECK, body=requests.ConnectionError("down"))

    response = create(creator, title="赌博之夜", visibility="public")

    assert response.status_code == 201, response.content
    event = Event.objects.get()
    assert event.text_unchecked and not event.on_square

    wechat.remove(responses.POST, MSG_CHECK)
    add_content_checks(wechat)  # WeChat answers again
    recheck_content()
    recheck_content()  # twice: nothing more happens

    event.refresh_from_db()
    assert not event.text_unchecked
    assert event.moderation == Event.Moderation.REVIEW
    assert EventLog.objects.filter(event=event, action="flag").count() == 1
    inbox = client_for(creator).get("/api/v1/me/notifications").json()["data"]
    assert inbox["results"][0]["kind"] == "moderation"
    assert inbox["results"][0]["event"]["id"] == event.public_id


def test_recheck_clears_a_clean_event_and_a_risky_nickname_is_removed(fake, creator):
    event = EventFactory(creator=creator)
    Event.objects.filter(pk=event.pk).update(text_unchecked=True)
    User.objects.filter(pk=creator.pk).update(nickname="赌博王", nickname_unchecked=True)

    recheck_content()

    event.refresh_from_db()
    creator.refresh_from_db()
    assert not event.text_unchecked and event.moderation == Event.Moderation.OK
    assert creator.nickname == "" and not creator.nickname_unchecked
    inbox = client_for(creator).get("/api/v1/me/notifications").json()["data"]
    assert [(i["kind"], i["reason"], i["event"]) for i in inbox["results"]] == [
        ("account", "nickname_removed", None)
    ]
    assert inbox["unread_count"] == 1


# --- visibility --------------------------------------------------------------------------------


def test_event_is_unlisted_by_default_and_public_on_request(creator):
    assert create(creator).json()["data"]["visibility"] == "unlisted"
    public = create(creator, visibility="public").json()["data"]
    assert public["visibility"] == "public"
    assert Event.objects.get(public_id=public["id"]).on_square


def test_creator_makes_an_event_public_later_and_an_unknown_visibility_is_refused(creator):
    event = EventFactory(creator=creator)
    url = f"/api/v1/events/{event.public_id}"

    assert client_for(creator).patch(url, {"visibility": "public"}, format="json").json()["data"][
        "visibility"
    ] == ("public")
    assert client_for(creator).patch(url, {"visibility": "world"}, format="json").status_code == 400


def test_outsider_cannot_change_visibility(outsider):
    event = EventFactory()

    response = client_for(outsider).patch(
        f"/api/v1/events/{event.public_id}", {"visibility": "public"}, format="json"
    )

    assert response.status_code == 403
    event.refresh_from_db()
    assert event.visibility == Event.Visibility.UNLISTED


# --- reports -----------------------------------------------------------------------------------


def report(user, event, reason="fraud"):
    return client_for(user).post(
        f"/api/v1/events/{event.public_id}/report", {"reason": reason}, format="json"
    )


def test_entrant_and_outsider_report_an_event_once_each(entrant, outsider):
    event = EventFactory()

    first = report(entrant, event)
    again = report(entrant, event, reason="spam")
    other = report(outsider, event, reason="porn")

    assert first.status_code == 201 and first.json()["data"]["reason"] == "fraud"
    assert again.status_code == 200 and again.json()["data"] == first.json()["data"]
    assert other.status_code == 201
    assert sorted(Report.objects.values_list("reason", flat=True)) == ["fraud", "porn"]


def test_report_needs_a_known_reason_a_login_and_an_existing_event(api, entrant):
    event = EventFactory()

    assert report(entrant, event, reason="ugly").json()["code"] == 40000
    anonymous = api.post(f"/api/v1/events/{event.public_id}/report", {"reason": "spam"})
    assert anonymous.status_code == 401
    assert client_for(entrant).post(
        "/api/v1/events/nope/report", {"reason": "spam"}, format="json"
    ).json()["code"] == (40401)
    assert not Report.objects.exists()


# --- pictures: media_check_async and the callback ---------------------------------------------


def upload_via_api(user, purpose):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("a.png", picture("PNG"), content_type="image/png")
    response = client_for(user).post(
        "/api/v1/uploads", {"file": file, "purpose": purpose}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return Upload.objects.get(public_id=response.json()["data"]["id"])


def push(api, message, *, encrypted=True, token=CALLBACK_TOKEN):
    """WeChat pushes ``message``: in safe mode (what production uses), or plain."""
    query, body = media_check_callback(message, token=token, encrypt=encrypt if encrypted else None)
    url = f"{CALLBACK}?" + "&".join(f"{k}={v}" for k, v in query.items())
    return api.post(url, body, content_type="application/json")


def test_uploaded_picture_is_submitted_with_its_absolute_url_and_the_owners_openid(
    fake, creator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload = upload_via_api(creator, "cover")

    upload.refresh_from_db()
    (trace_id, body) = fake.media[0]
    assert upload.moderation == Upload.Moderation.PENDING and upload.trace_id == trace_id
    assert body["media_url"] == f"https://api.example.test/media/{upload.file}"
    assert body["openid"] == creator.openid
    assert body["media_type"] == 2 and body["version"] == 2


def test_risky_cover_is_taken_down_its_event_leaves_the_square_and_the_creator_is_told(
    fake, api, creator, entrant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        cover = upload_via_api(creator, "cover")
    event_id = create(creator, cover=cover.public_id, visibility="public").json()["data"]["id"]
    cover.refresh_from_db()
    assert (
        client_for(entrant)
        .get(f"/api/v1/events/{event_id}")
        .json()["data"]["cover"]["url"]
        .endswith(cover.file)
    )

    response = push(api, media_check_message(cover.trace_id, "risky"))
    again = push(api, media_check_message(cover.trace_id, "risky"))  # WeChat retries

    assert response.status_code == 200 and response.content == b"success"
    assert again.status_code == 200
    cover.refresh_from_db()
    assert cover.moderation == Upload.Moderation.REJECTED
    assert not storages["media"].exists(cover.file)
    detail = client_for(entrant).get(f"/api/v1/events/{event_id}").json()["data"]
    assert detail["cover"]["url"] == PLACEHOLDER
    event = Event.objects.get(public_id=event_id)
    assert event.moderation == Event.Moderation.REVIEW and not event.on_square
    assert EventLog.objects.filter(event=event, action="flag").count() == 1
    inbox = client_for(creator).get("/api/v1/me/notifications").json()["data"]["results"]
    assert [(i["kind"], i["event"]["id"]) for i in inbox] == [("moderation", event_id)]
    assert client_for(entrant).get("/api/v1/me/notifications").json()["data"]["results"] == []


def test_encrypted_callback_takes_a_risky_avatar_down_and_tells_its_owner(
    fake, api, entrant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        avatar = upload_via_api(entrant, "avatar")
    client_for(entrant).patch("/api/v1/me", {"avatar": avatar.public_id}, format="json")
    avatar.refresh_from_db()

    response = push(api, media_check_message(avatar.trace_id, "risky"))

    assert response.status_code == 200, response.content
    me = client_for(entrant).get("/api/v1/me").json()["data"]
    assert me["avatar"]["url"] == PLACEHOLDER
    assert UserActionLog.objects.filter(user=entrant, action="avatar_removed").count() == 1
    inbox = client_for(entrant).get("/api/v1/me/notifications").json()["data"]["results"]
    assert [(i["kind"], i["reason"]) for i in inbox] == [("account", "avatar_removed")]


def test_passing_verdict_keeps_the_picture(fake, api, creator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        prize = upload_via_api(creator, "prize")
    prize.refresh_from_db()

    assert push(api, media_check_message(prize.trace_id, "pass")).status_code == 200

    prize.refresh_from_db()
    assert prize.moderation == Upload.Moderation.PASSED
    assert storages["media"].exists(prize.file)


def test_callback_with_a_wrong_signature_is_refused_in_the_envelope(fake, api, creator, settings):
    upload = upload_create(owner=creator, purpose="cover", data=picture(), now=timezone.now())
    Upload.objects.filter(pk=upload.pk).update(trace_id="trace-x", moderation="pending")
    message = media_check_message("trace-x", "risky")

    encrypted = push(api, message, token="not-our-token")
    settings.WECHAT_CALLBACK_AES_KEY = ""  # plain mode is only taken without a key
    plain = push(api, message, encrypted=False, token="not-our-token")

    for response in (plain, encrypted):
        assert response.status_code == 403
        assert response.json()["code"] == 40311
    upload.refresh_from_db()
    assert upload.moderation == Upload.Moderation.PENDING


def test_encrypted_callback_for_another_app_is_refused(fake, api, settings):
    message = media_check_message("trace-y", "risky")

    def other_app(text):
        settings.WECHAT_APP_ID = "wx-someone-else"
        try:
            return encrypt(text)
        finally:
            settings.WECHAT_APP_ID = "wx-test-app"

    query, body = media_check_callback(message, token=CALLBACK_TOKEN, encrypt=other_app)
    url = f"{CALLBACK}?" + "&".join(f"{k}={v}" for k, v in query.items())

    assert api.post(url, body, content_type="application/json").status_code == 403


def test_wechat_verifies_the_callback_url_by_echo(checks_on, api):
    from wechat.security import signature

    good = signature(CALLBACK_TOKEN, "123", "abc")
    ok = api.get(CALLBACK, {"signature": good, "timestamp": "123", "nonce": "abc", "echostr": "e1"})
    bad = api.get(CALLBACK, {"signature": "0" * 40, "timestamp": "123", "nonce": "abc"})

    assert ok.status_code == 200 and ok.content == b"e1"
    assert bad.status_code == 403 and bad.json()["code"] == 40311


def test_other_pushed_events_are_acknowledged_and_ignored(checks_on, api):
    message = {"ToUserName": "gh", "MsgType": "event", "Event": "user_enter_tempsession"}

    assert push(api, message).content == b"success"


# --- the staff's moderation queue --------------------------------------------------------------

QUEUE = reverse("admin:events_moderationcase_changelist")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def queue_action(client, action, events, reason=None):
    data = {"action": action, "_selected_action": [e.pk for e in events]}
    if reason is not None:
        data |= {"apply": "1", "reason": reason}
    return client.post(QUEUE, data, follow=True)


def test_queue_lists_reported_and_flagged_events_not_clean_ones(staff_client, entrant):
    reported, flagged, clean = EventFactory(), EventFactory(), EventFactory()
    event_report(event=reported, user=entrant, reason="fraud", now=timezone.now())
    moderation.event_moderate(
        event=flagged, actor=None, to=Event.Moderation.REVIEW, now=timezone.now()
    )

    page = staff_client.get(QUEUE).content.decode()

    assert reported.public_id in page and flagged.public_id in page
    assert clean.public_id not in page


def test_staff_hide_an_event_and_put_it_back_each_in_the_audit_log(staff_client, staff, entrant):
    event = EventFactory(visibility="public")
    event_report(event=event, user=entrant, reason="spam", now=timezone.now())

    queue_action(staff_client, "hide_from_square", [event])
    event.refresh_from_db()
    assert event.moderation == Event.Moderation.HIDDEN and not event.on_square
    queue_action(staff_client, "restore_to_square", [event])
    event.refresh_from_db()

    assert event.on_square
    logs = EventLog.objects.filter(event=event, action__in=["hide", "restore"])
    assert [(log.action, log.actor_id, log.actor_kind) for log in logs] == [
        ("hide", staff.pk, "staff"),
        ("restore", staff.pk, "staff"),
    ]


def test_staff_cancel_a_reported_event_and_ban_its_creator(staff_client, staff, creator, entrant):
    event = EventFactory(creator=creator)
    event_report(event=event, user=entrant, reason="fraud", now=timezone.now())

    asked = queue_action(staff_client, "ban_creators", [event])
    assert "reason" in asked.content.decode()
    queue_action(staff_client, "cancel_events", [event], reason="欺诈")
    queue_action(staff_client, "ban_creators", [event], reason="欺诈")

    event.refresh_from_db()
    creator.refresh_from_db()
    assert event.status == Event.Status.CANCELED
    assert not creator.is_active
    assert UserActionLog.objects.filter(user=creator, action="deactivate", actor=staff).exists()
    assert EventLog.objects.filter(event=event, action="cancel", actor=staff).exists()


def test_outsider_and_entrant_cannot_open_the_queue(client, entrant):
    assert client.get(QUEUE).status_code == 302
    client.force_login(entrant)
    assert client.get(QUEUE).status_code == 302


def test_event_page_lists_its_entrants_a_page_at_a_time(staff_client):
    event = EventFactory()
    entrants = [UserFactory(nickname=f"参与者{i:02d}") for i in range(55)]
    for user in entrants:
        entry_join(event=event, user=user, now=timezone.now())
    url = reverse("admin:events_event_change", args=[event.pk])

    first = staff_client.get(url).content.decode()
    second = staff_client.get(url, {"entrants": 2}).content.decode()

    assert "参与者54" in first and "参与者00" not in first
    assert "参与者00" in second and "第 2 页，共 2 页，55 位参与者" in second


def test_queue_shows_a_rejected_picture_as_the_placeholder(staff_client, creator):
    cover = upload_create(owner=creator, purpose="cover", data=picture(), now=timezone.now())
    event = EventFactory(creator=creator, cover=cover.public_id)
    Upload.objects.filter(pk=cover.pk).update(moderation="rejected")

    page = staff_client.get(QUEUE).content.decode()

    assert event.public_id in page
    assert "/static/moderation/removed.png" in page
