"""The staff back office: staff find events and users, cancel and ban with a reason, edit nothing.

Driven through Django's test client against the real database; the same flow in a real browser
is in ``test_admin_browser.py``.
"""

import gettext
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import UserActionLog
from draws import services as draw_services
from events.models import Event, EventLog
from events.services.entries import entry_join
from events.services.events import event_cancel, event_create
from tests.conftest import client_for
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:events_event_changelist")


def make_event(*, title="新年抽奖", creator=None, entrants=0, prizes=(("一等奖", 1),)):
    now = timezone.now()
    event = event_create(
        creator=creator or UserFactory(),
        title=title,
        draw_at=now + timedelta(hours=1),
        prizes=[{"name": name, "quantity": quantity} for name, quantity in prizes],
        now=now,
    )
    for _ in range(entrants):
        entry_join(event=event, user=UserFactory(), now=now)
    event.refresh_from_db()
    return event


def lock(event):
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    event.refresh_from_db()
    return event


def draw(event):
    lock(event)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    return event


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def cancel_action(client, events, reason):
    return client.post(
        CHANGELIST,
        {"action": "cancel_events", "_selected_action": [e.pk for e in events], "apply": "1"}
        | ({"reason": reason} if reason is not None else {}),
        follow=True,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# --- finding events -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        lambda event: "端午",  # part of the title
        lambda event: event.creator.nickname,
        lambda event: event.creator.openid,
        lambda event: event.public_id,
    ],
    ids=["title", "creator nickname", "creator openid", "event id"],
)
def test_staff_finds_event_by_title_creator_or_id(staff_client, query):
    wanted = make_event(title="端午节抽奖", creator=UserFactory(nickname="小龙虾"))
    other = make_event(title="中秋节抽奖", creator=UserFactory(nickname="月饼"))

    response = staff_client.get(CHANGELIST, {"q": query(wanted)})

    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert found == [wanted]
    assert other not in found


def test_partial_openid_or_event_id_matches_nothing(staff_client):
    # Ids are matched exactly: a fragment must not pull in strangers' events.
    event = make_event()
    for fragment in (event.public_id[:-2], event.creator.openid[:-1]):
        response = staff_client.get(CHANGELIST, {"q": fragment})
        assert list(response.context["cl"].result_list) == []


def test_changelist_shows_status_draw_time_creator_and_entrants(staff_client):
    make_event(title="有人参加的活动", creator=UserFactory(nickname="发起人甲"), entrants=3)

    response = staff_client.get(CHANGELIST)

    page = response.content.decode()
    assert "有人参加的活动" in page and "发起人甲" in page
    assert "报名中" in page  # the status, in Chinese
    assert 'class="field-participant_count">3<' in page
    assert "开奖时间" in page and "参与人数" in page


def test_changelist_filters_by_status_and_draw_date(staff_client):
    open_event = make_event(title="报名中的活动")
    canceled = make_event(title="取消了的活动")
    event_cancel(event=canceled, actor=canceled.creator, now=timezone.now())

    by_status = staff_client.get(CHANGELIST, {"status__exact": Event.Status.CANCELED})
    assert list(by_status.context["cl"].result_list) == [canceled]

    # Both draw within the hour: "next 7 days" has them, "past 7 days" has neither.
    next7 = staff_client.get(CHANGELIST, {"draw": "next7"})
    assert set(next7.context["cl"].result_list) == {open_event, canceled}
    past7 = staff_client.get(CHANGELIST, {"draw": "past7"})
    assert list(past7.context["cl"].result_list) == []


def test_changelist_query_count_does_not_grow_with_events(staff_client):
    def queries_for_changelist():
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(CHANGELIST).status_code == 200
        return len(queries)

    make_event()
    with_one = queries_for_changelist()
    for _ in range(5):
        make_event()
    assert queries_for_changelist() == with_one


# --- cancelling -----------------------------------------------------------------------------


def test_cancel_action_asks_for_a_reason_first(staff_client):
    event = make_event(title="要取消的活动")

    response = staff_client.post(
        CHANGELIST, {"action": "cancel_events", "_selected_action": [event.pk], "index": "0"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "取消所选活动" in page and "要取消的活动" in page and 'name="reason"' in page
    event.refresh_from_db()
    assert event.status == Event.Status.INIT


def test_staff_cancels_event_with_reason_through_the_action(staff_client, staff):
    event = make_event(entrants=2)

    response = cancel_action(staff_client, [event], reason="涉嫌虚假抽奖")

    assert response.status_code == 200
    assert "已取消 1 个活动，0 个被拒绝。" in messages_of(response)
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELED
    assert event.cancel_reason == "涉嫌虚假抽奖"
    log = EventLog.objects.get(event=event, action="cancel")
    assert log.actor == staff
    assert log.actor_kind == EventLog.ActorKind.STAFF
    assert log.reason == "涉嫌虚假抽奖"
    assert (log.from_status, log.to_status) == (Event.Status.INIT, Event.Status.CANCELED)
    assert log.notified_at is None  # the record the notifications will consume


def test_staff_can_cancel_inside_the_lock_window_once_its_round_is_out(staff_client):
    event = lock(make_event(entrants=2))
    assert event.status == Event.Status.OPENING

    response = cancel_action(staff_client, [event], reason="违规活动")

    assert any("开奖信标" in m for m in messages_of(response))  # told it is settled later
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING and event.cancel_requested_at is not None
    settle_at = event.locked_at + timedelta(seconds=settings.LOTTERY_REVEAL_GAP_SECONDS)
    assert draw_services.event_draw(event_id=event.pk, now=settle_at)
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELED and event.would_be_winners


def test_drawn_event_is_refused_with_a_message_and_the_others_canceled(staff_client):
    drawn = draw(make_event(title="已开奖的活动", entrants=2))
    open_event = make_event(title="还在报名的活动")

    response = cancel_action(staff_client, [drawn, open_event], reason="批量清理")

    shown = messages_of(response)
    assert any("已开奖的活动" in m and "活动已开奖" in m for m in shown)
    assert "已取消 1 个活动，1 个被拒绝。" in shown
    drawn.refresh_from_db()
    open_event.refresh_from_db()
    assert drawn.status == Event.Status.OPENED
    assert open_event.status == Event.Status.CANCELED
    assert not EventLog.objects.filter(event=drawn, action="cancel").exists()


def test_canceled_event_is_not_canceled_twice(staff_client):
    event = make_event()
    cancel_action(staff_client, [event], reason="第一次")

    response = cancel_action(staff_client, [event], reason="第二次")

    assert any("活动已取消" in m for m in messages_of(response))
    assert EventLog.objects.filter(event=event, action="cancel").count() == 1
    event.refresh_from_db()
    assert event.cancel_reason == "第一次"


def test_cancel_without_a_reason_changes_nothing(staff_client):
    event = make_event()

    response = cancel_action(staff_client, [event], reason="")

    assert 'name="reason"' in response.content.decode()  # asked again
    event.refresh_from_db()
    assert event.status == Event.Status.INIT


def test_staff_who_may_only_view_events_cannot_cancel(client):
    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(viewer)
    event = make_event()

    assert "cancel_events" not in client.get(CHANGELIST).content.decode()
    cancel_action(client, [event], reason="越权")

    event.refresh_from_db()
    assert event.status == Event.Status.INIT


# --- read-only ------------------------------------------------------------------------------


def test_event_page_is_read_only(staff_client):
    event = make_event(entrants=1)
    change = reverse("admin:events_event_change", args=[event.pk])

    page = staff_client.get(change).content.decode()
    assert 'name="_save"' not in page
    assert 'name="title"' not in page and 'name="status"' not in page
    assert "一等奖" in page  # the prizes inline
    assert "状态变更记录" in page and "已创建" in page  # the log inline

    assert staff_client.post(change, {"title": "改掉", "status": 2}).status_code == 403
    assert staff_client.get(reverse("admin:events_event_add")).status_code == 403
    delete = reverse("admin:events_event_delete", args=[event.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.title == "新年抽奖" and event.status == Event.Status.INIT


def test_seed_stays_secret_until_the_draw(staff_client):
    event = make_event(entrants=1)
    change = reverse("admin:events_event_change", args=[event.pk])

    page = staff_client.get(change).content.decode()
    assert bytes(event.seed).hex() not in page
    assert event.seed_commitment in page
    assert "开奖前保密" in page


def test_drawn_event_shows_proof_winners_and_unawarded_prizes(staff_client):
    # Two entrants for three prizes: the third prize tier cannot be given to anyone.
    event = draw(make_event(entrants=2, prizes=(("一等奖", 1), ("二等奖", 1), ("三等奖", 1))))
    winners = list(event.entries.filter(prize__isnull=False).order_by("prize_rank"))

    page = staff_client.get(reverse("admin:events_event_change", args=[event.pk])).content
    page = page.decode()

    assert bytes(event.seed).hex() in page
    assert event.entrants_digest in page
    for winner in winners:
        assert winner.user_key in page
    assert page.index(winners[0].user_key) < page.index(winners[1].user_key)
    unawarded = re.search(r'field-unawarded_prizes.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert unawarded.group(1).strip() == "三等奖 × 1"


# --- who may enter --------------------------------------------------------------------------


def test_outsider_cannot_open_the_back_office(client):
    outsider = UserFactory()
    outsider.set_password("pw-of-an-outsider")
    outsider.save()
    event = make_event()

    assert client.get(CHANGELIST).status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get(CHANGELIST).status_code == 302
    cancel_action(client, [event], reason="外人")
    event.refresh_from_db()
    assert event.status == Event.Status.INIT


def test_admin_is_in_chinese_by_default(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()

    assert 'lang="zh-hans"' in page
    assert "最近动作" in page  # Django's own strings
    assert "抽奖活动" in page and "用户账户" in page  # ours
    # The product's name, not Django's.
    assert "抽奖小程序管理后台" in page and "Django" not in page.split("</title>")[0]


def test_admin_carries_the_product_name_in_english_too(staff_client):
    page = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Lottery mini-program back office" in page


def test_every_field_label_of_our_models_has_a_chinese_translation():
    untranslated = []
    with translation.override("zh-hans"):
        for label in ("accounts", "events"):
            config = apps.get_app_config(label)
            names = [config.verbose_name]
            for model in config.get_models():
                names += [model._meta.verbose_name, model._meta.verbose_name_plural]
                names += [f.verbose_name for f in model._meta.get_fields() if hasattr(f, "attname")]
                names += [
                    choice_label
                    for f in model._meta.get_fields()
                    for _value, choice_label in getattr(f, "choices", None) or []
                ]
            untranslated += [str(name) for name in names if re.search(r"[a-z]{3}", str(name))]
    # openid and unionid are WeChat's terms and stay as they are; session_key is never shown;
    # UserActionLog's user and actor carry no verbose name, and the admin labels them itself.
    allowed = {"openid", "unionid", "session key", "password", "last login", "user", "actor"}
    assert set(untranslated) <= allowed


def test_compiled_catalogue_matches_its_source():
    # Django reads the committed .mo; a .po edited without compilemessages would be ignored.
    folder = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
    with open(folder / "django.mo", "rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    source = (folder / "django.po").read_text(encoding="utf-8")
    # An entry may carry a context (pgettext): the same English word, two meanings.
    pairs = re.findall(
        r'^(?:msgctxt ((?:".*"\n)+))?msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', source, re.M
    )

    def text(quoted):
        return "".join(re.findall(r'"(.*)"', quoted)).replace('\\"', '"')

    for context, msgid, msgstr in pairs:
        if text(msgid) and text(msgstr):
            if context:
                translated = catalogue.pgettext(text(context), text(msgid))
            else:
                translated = catalogue.gettext(text(msgid))
            assert translated == text(msgstr), text(msgid)


# --- users ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["nickname", "openid", "public_id"])
def test_staff_finds_user_by_nickname_openid_or_id(staff_client, field):
    wanted = UserFactory(nickname="要找的人")
    UserFactory(nickname="别人")

    response = staff_client.get(
        reverse("admin:accounts_user_changelist"), {"q": getattr(wanted, field)}
    )

    assert list(response.context["cl"].result_list) == [wanted]


def test_staff_bans_user_with_a_reason_that_is_logged(staff_client, staff):
    user = UserFactory()

    staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {
            "action": "deactivate_users",
            "_selected_action": [user.pk],
            "apply": "1",
            "reason": "刷号",
        },
    )

    user.refresh_from_db()
    assert not user.is_active and user.deactivated_reason == "刷号"
    log = UserActionLog.objects.get(user=user)
    assert (log.action, log.actor, log.reason) == ("deactivate", staff, "刷号")


def test_user_page_never_shows_the_session_key(staff_client):
    user = UserFactory(session_key="do-not-show-this-session-key")

    for url in (
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[user.pk]),
    ):
        page = staff_client.get(url).content.decode()
        assert "do-not-show-this-session-key" not in page
        assert "session_key" not in page


def test_staff_edit_of_a_nickname_reaches_the_api_at_once(staff_client):
    user = UserFactory(nickname="不雅昵称")
    client = client_for(user)
    assert client.get("/api/v1/me").json()["data"]["nickname"] == "不雅昵称"

    response = staff_client.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        {
            "username": "",
            "nickname": "已处理",
            "avatar_url": user.avatar_url,
            "action_logs-TOTAL_FORMS": "0",
            "action_logs-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    assert client.get("/api/v1/me").json()["data"]["nickname"] == "已处理"
    user.refresh_from_db()
    assert user.session_key == "secret-session-key-value"  # untouched


# --- claims (issue #12) ---------------------------------------------------------------------


@pytest.fixture
def shipped_claim(settings):
    from cryptography.fernet import Fernet

    from events import claims

    settings.CLAIM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    now = timezone.now()
    event = event_create(
        creator=UserFactory(),
        title="领奖活动",
        draw_at=now + timedelta(hours=1),
        prizes=[{"name": "一等奖", "quantity": 1}],
        now=now,
        delivery="shipping",
    )
    winner = UserFactory()
    entry_join(event=event, user=winner, now=now)
    draw(event)
    address = {"name": "=cmd|' /C calc'!A0", "phone": "13900139000", "province": "北京市",
               "city": "北京市", "county": "朝阳区", "detail": "建国路 8 号", "postal_code": ""}  # fmt: skip
    return claims.claim_submit(event=event, user=winner, now=event.draw_at, address=address)


def test_staff_with_the_permission_sees_claim_details_and_the_read_is_audited(
    client, shipped_claim
):
    from events.models import ClaimAccess

    staff = StaffFactory(is_superuser=False)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_claim", "view_claim_personal_data"])
    )
    client.force_login(staff)
    change = reverse("admin:events_claim_change", args=[shipped_claim.pk])
    page = client.get(change).content.decode()
    assert "13900139000" in page and "建国路 8 号" in page
    assert ClaimAccess.objects.get().actor == staff


def test_staff_without_the_permission_sees_claims_masked(client, shipped_claim):
    from events.models import ClaimAccess

    staff = StaffFactory(is_superuser=False)
    staff.user_permissions.add(Permission.objects.get(codename="view_claim"))
    client.force_login(staff)
    change = reverse("admin:events_claim_change", args=[shipped_claim.pk])
    page = client.get(change).content.decode()
    assert "13900139000" not in page and "***" in page
    assert not ClaimAccess.objects.exists()


def test_admin_csv_export_of_claims_is_formula_safe(staff_client, shipped_claim):
    response = staff_client.post(
        reverse("admin:events_claim_changelist"),
        {"action": "export_csv", "_selected_action": [shipped_claim.pk]},
    )
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "13900139000" in text and "'=cmd" in text and ",=cmd" not in text
