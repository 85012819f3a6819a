"""Staff cancel an event in a real browser: Debian's headless Chromium driven by Playwright.

``playwright install`` cannot download browsers here, so the test drives /usr/bin/chromium
(``apt-get install chromium``; ``.ci/run`` installs it). Without it the test is skipped on a
laptop and fails in CI.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from events.models import Event, EventLog, Report
from events.services.entries import entry_join
from events.services.events import event_create
from events.services.reports import event_report
from tests.conftest import IN_CI
from tests.factories import StaffFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/admin_cancel_event.png")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself would otherwise be refused as "async unsafe".
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            # Our staff's browsers ask for Chinese; the admin's default is Chinese too.
            context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_staff_cancel_an_event_in_the_browser(live_server, browser_page):
    page = browser_page
    staff = StaffFactory()
    now = timezone.now()
    event = event_create(
        creator=UserFactory(nickname="发起人"),
        title="浏览器里取消的活动",
        draw_at=now + timedelta(hours=2),
        prizes=[{"name": "一等奖", "quantity": 1}],
        now=now,
    )
    bystander = event_create(
        creator=UserFactory(),
        title="不相干的活动",
        draw_at=now + timedelta(hours=2),
        prizes=[{"name": "一等奖", "quantity": 1}],
        now=now,
    )

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", "staff-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "抽奖小程序管理后台" in page.content()  # the product's name, not Django's

    page.goto(f"{live_server.url}/admin/events/event/")
    page.fill("#searchbar", event.public_id)
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=*")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "浏览器里取消的活动" in rows.first.inner_text()

    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "cancel_events")
    page.click("button[name=index]")
    page.wait_for_selector("#id_reason")
    assert "取消所选活动" in page.content()
    page.fill("#id_reason", "发起人违规，提前终止")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.click("#reason-action-form input[type=submit]")

    page.wait_for_selector("ul.messagelist")
    assert "已取消 1 个活动，0 个被拒绝。" in page.inner_text("ul.messagelist")

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELED
    assert event.cancel_reason == "发起人违规，提前终止"
    log = EventLog.objects.get(event=event, action="cancel")
    assert (log.actor, log.actor_kind) == (staff, EventLog.ActorKind.STAFF)
    assert log.reason == "发起人违规，提前终止"
    bystander.refresh_from_db()
    assert bystander.status == Event.Status.INIT


def test_staff_work_the_moderation_queue_in_the_browser(live_server, browser_page):
    """A reported event shows in the queue with its report count; staff hide it from the
    square, then ban its creator with a reason; both land in the audit trail."""
    page = browser_page
    staff = StaffFactory()
    now = timezone.now()
    creator = UserFactory(nickname="可疑发起人")
    reported = event_create(
        creator=creator,
        title="被举报的活动",
        draw_at=now + timedelta(hours=2),
        prizes=[{"name": "一等奖", "quantity": 1}],
        now=now,
        visibility="public",
    )
    clean = event_create(
        creator=UserFactory(),
        title="正常的活动",
        draw_at=now + timedelta(hours=2),
        prizes=[{"name": "一等奖", "quantity": 1}],
        now=now,
    )
    for reporter in (UserFactory(), UserFactory()):
        event_report(event=reported, user=reporter, reason="fraud", now=now)

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", "staff-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "审核队列" in page.content()

    page.goto(f"{live_server.url}/admin/events/moderationcase/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    row_text = rows.first.inner_text()
    assert "被举报的活动" in row_text
    assert rows.first.locator("td.field-reports").inner_text() == "2"
    assert clean.public_id not in page.content()

    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "hide_from_square")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")
    assert "已从广场隐藏 1 个活动。" in page.inner_text("ul.messagelist")

    page.locator("#result_list tbody tr").first.locator("input.action-select").check()
    page.select_option("select[name=action]", "ban_creators")
    page.click("button[name=index]")
    page.wait_for_selector("#id_reason")
    page.fill("#id_reason", "虚假抽奖")
    page.screenshot(path="/tmp/admin_moderation_queue.png", full_page=True)
    page.click("#reason-action-form input[type=submit]")
    page.wait_for_selector("ul.messagelist")
    assert "已封禁 1 个用户。" in page.inner_text("ul.messagelist")

    reported.refresh_from_db()
    creator.refresh_from_db()
    assert reported.moderation == Event.Moderation.HIDDEN and not reported.on_square
    assert not creator.is_active
    hide = EventLog.objects.get(event=reported, action="hide")
    assert (hide.actor, hide.actor_kind) == (staff, EventLog.ActorKind.STAFF)
    assert Report.objects.filter(event=reported).count() == 2


def test_staff_reads_a_claim_only_with_the_permission_in_the_browser(
    live_server, browser_page, settings
):
    from cryptography.fernet import Fernet
    from django.contrib.auth.models import Permission

    from draws import services as draw_services
    from events import claims
    from events.models import Claim, ClaimAccess

    settings.CLAIM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    page = browser_page
    now = timezone.now()
    event = event_create(
        creator=UserFactory(),
        title="领奖活动",
        draw_at=now + timedelta(hours=2),
        prizes=[{"name": "一等奖", "quantity": 1}],
        now=now,
        delivery="shipping",
    )
    winner = UserFactory()
    entry_join(event=event, user=winner, now=now)
    event.refresh_from_db()
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    address = {"name": "李四", "phone": "13700137000", "province": "上海市", "city": "上海市",
               "county": "浦东新区", "detail": "世纪大道 100 号", "postal_code": "200120"}  # fmt: skip
    claims.claim_submit(event=event, user=winner, now=event.draw_at, address=address)
    claim = Claim.objects.get(event=event)
    staff = StaffFactory(is_superuser=False)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_event", "view_claim"])
    )

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", "staff-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    # From the event to its claims, as staff work: the event page links to them.
    page.goto(f"{live_server.url}/admin/events/event/{event.pk}/change/")
    page.wait_for_selector("a.event-claims")
    assert page.inner_text("a.event-claims") == "1 条领奖记录"
    page.click("a.event-claims")
    page.wait_for_url("**q=*")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and claim.public_id in rows.first.inner_text()
    assert "13700137000" not in page.content()  # the list never shows personal data
    rows.first.locator("a").first.click()
    page.wait_for_selector(".field-personal_data")
    masked = page.inner_text(".field-personal_data")
    assert "***" in masked and "13700137000" not in page.content()
    assert "世纪大道" not in page.content()
    assert not ClaimAccess.objects.exists()  # nothing decrypted, nothing to audit

    staff.user_permissions.add(Permission.objects.get(codename="view_claim_personal_data"))
    page.reload()
    page.wait_for_selector(".field-personal_data")
    shown = page.inner_text(".field-personal_data")
    assert "13700137000" in shown and "世纪大道 100 号" in shown and "李四" in shown
    page.screenshot(path="/tmp/admin_claim_decrypted.png", full_page=True)
    access = ClaimAccess.objects.get()
    assert (access.actor, access.claim, access.reason) == (staff, claim, "admin")
