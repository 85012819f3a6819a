"""Prize claims (issue #12, section 1): the winner claims, the creator ships, data stays private.

Personas: the creator, the winner (an entrant holding a prize), the loser (an entrant who did
not win), an outsider, and staff with and without ``view_claim_personal_data``. Time is frozen
at NOW and moved around the deadline (drawn_at + claim_days) explicitly.
"""

import io
import logging
import re
from datetime import timedelta

import openpyxl
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone
from django.utils.http import parse_http_date

from draws import services as draw_services
from events import claim_views, claims
from events.models import Claim, ClaimAccess, Entry, Event, RedeemCode
from events.services.entries import entry_join
from tests.conftest import client_for, data, refused, url
from tests.factories import EventFactory, StaffFactory, UserFactory, event_payload

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
PHONE = "13800138000"
ADDRESS = {
    "name": "张三",
    "phone": PHONE,
    "province": "广东省",
    "city": "广州市",
    "county": "天河区",
    "detail": "体育西路 1 号",
    "postal_code": "510000",
}


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def keys(settings):
    settings.CLAIM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return settings


@pytest.fixture
def creator():
    return UserFactory(nickname="发起人")


@pytest.fixture
def outsider():
    return UserFactory()


def drawn_event(creator, *, delivery="shipping", claim_days=7, entrants=2, **extra):
    """One single-unit prize, ``entrants`` entrants, drawn: returns (event, winner, losers)."""
    event = EventFactory(
        creator=creator,
        prizes=extra.pop("prizes", [{"name": "大奖", "quantity": 1}]),
        delivery=delivery,
        claim_days=claim_days,
        **extra,
    )
    users = UserFactory.create_batch(entrants)
    for user in users:
        entry_join(event=event, user=user, now=NOW)
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    winners = set(
        Entry.objects.filter(event=event, prize__isnull=False).values_list("user_id", flat=True)
    )
    return event, [u for u in users if u.pk in winners], [u for u in users if u.pk not in winners]


@pytest.fixture
def drawn(creator):
    event, winners, losers = drawn_event(creator)
    return event, winners[0], losers[0]


def claim(user, event, body=None, method="post"):
    client = client_for(user)
    return getattr(client, method)(url(event, "/claim"), body or {}, format="json")


def deadline_of(event):
    return event.drawn_at + timedelta(days=event.claim_days)


# --- creation and editing -------------------------------------------------------------------


def test_creator_picks_delivery_and_claim_window_at_creation(creator):
    body = event_payload(delivery="shipping", claim_days=3)
    response = client_for(creator).post("/api/v1/events", body, format="json")
    assert response.status_code == 201
    assert data(response)["delivery"] == "shipping" and data(response)["claim_days"] == 3


def test_delivery_defaults_to_none_and_seven_days(creator):
    response = client_for(creator).post("/api/v1/events", event_payload(), format="json")
    assert data(response)["delivery"] == "none" and data(response)["claim_days"] == 7


@pytest.mark.parametrize("days", [0, 31])
def test_claim_window_outside_one_to_thirty_days_is_refused(creator, days):
    body = event_payload(delivery="contact", claim_days=days)
    assert refused(client_for(creator).post("/api/v1/events", body, format="json"), 400, 40000)


def test_code_delivery_needs_exactly_one_code_per_prize_unit(creator):
    prizes = [{"name": "券", "quantity": 2, "codes": ["A1"]}]
    body = event_payload(delivery="code", prizes=prizes)
    response = client_for(creator).post("/api/v1/events", body, format="json")
    assert refused(response, 400, 40000) and "prizes" in response.json()["data"]
    prizes[0]["codes"] = ["A1", "A2"]
    response = client_for(creator).post("/api/v1/events", body, format="json")
    assert response.status_code == 201
    assert "codes" not in data(response)["prizes"][0]  # codes are never public
    assert RedeemCode.objects.filter(prize__event__public_id=data(response)["id"]).count() == 2


def test_codes_are_refused_for_other_deliveries(creator):
    body = event_payload(
        delivery="shipping", prizes=[{"name": "奖", "quantity": 1, "codes": ["X"]}]
    )
    assert refused(client_for(creator).post("/api/v1/events", body, format="json"), 400, 40000)


def test_delivery_is_editable_while_prizes_are_and_not_after_a_join(creator, outsider):
    event = EventFactory(creator=creator)
    client = client_for(creator)
    response = client.put(
        url(event), {"delivery": "contact", "contact_note": "加微信 abc"}, format="json"
    )
    assert response.status_code == 200 and data(response)["delivery"] == "contact"
    entry_join(event=event, user=outsider, now=NOW)
    assert refused(client.put(url(event), {"claim_days": 3}, format="json"), 409, 40904)


def test_switching_to_code_delivery_needs_the_codes(creator):
    event = EventFactory(creator=creator, prizes=[{"name": "券", "quantity": 1}])
    client = client_for(creator)
    assert refused(client.put(url(event), {"delivery": "code"}, format="json"), 400, 40000)
    body = {"delivery": "code", "prizes": [{"name": "券", "quantity": 1, "codes": ["Z9"]}]}
    assert client.put(url(event), body, format="json").status_code == 200


# --- the winner -----------------------------------------------------------------------------


def test_winner_claims_with_an_address_stored_encrypted(drawn):
    event, winner, _loser = drawn
    response = claim(winner, event, {"address": ADDRESS})
    assert response.status_code == 200
    assert data(response)["state"] == "claimed"
    assert "address" not in data(response)  # not even echoed to the winner
    stored = Claim.objects.get(event=event)
    assert PHONE not in stored.details and "体育西路" not in stored.details


def test_winner_sees_claim_state_and_deadline_in_my_entry(drawn):
    event, winner, loser = drawn
    mine = data(client_for(winner).get(url(event)))["my_entry"]
    assert mine["claim"]["state"] == "unclaimed"
    assert mine["claim"]["deadline"] == timezone.localtime(deadline_of(event)).isoformat()
    claim(winner, event, {"address": ADDRESS})
    assert data(client_for(winner).get(url(event)))["my_entry"]["claim"]["state"] == "claimed"
    assert data(client_for(loser).get(url(event)))["my_entry"]["claim"] is None


def test_won_events_list_shows_the_claim_state(drawn):
    event, winner, _loser = drawn
    page = data(client_for(winner).get("/api/v1/me/events?role=won"))
    assert page["results"][0]["my_entry"]["claim"]["state"] == "unclaimed"


def test_winner_corrects_the_claim_with_put_until_shipped(drawn, creator):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    corrected = {"address": {**ADDRESS, "detail": "新地址 2 号"}}
    assert claim(winner, event, corrected, method="put").status_code == 200
    rows = claims.claims_read(event=event, reader=creator, now=NOW, reason="test")
    assert rows[0]["address"]["detail"] == "新地址 2 号"
    claim_id = Claim.objects.get(event=event).public_id
    ship = {"carrier": "顺丰", "tracking_number": "SF1"}
    client_for(creator).post(url(event, f"/claims/{claim_id}/ship"), ship, format="json")
    assert refused(claim(winner, event, corrected), 409, 40910)


def test_first_claim_after_the_deadline_is_refused(drawn, clock):
    event, winner, _loser = drawn
    clock.move_to(deadline_of(event) - timedelta(seconds=1))
    assert claim(winner, event, {"address": ADDRESS}).status_code == 200
    other_event, winners, _ = drawn_event(event.creator)
    clock.move_to(deadline_of(other_event))
    assert refused(claim(winners[0], other_event, {"address": ADDRESS}), 409, 40909)
    mine = data(client_for(winners[0]).get(url(other_event)))["my_entry"]
    assert mine["claim"]["state"] == "expired"


def test_a_claimed_winner_may_still_correct_after_the_deadline(drawn, clock):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    clock.move_to(deadline_of(event) + timedelta(hours=1))
    assert claim(winner, event, {"address": ADDRESS}).status_code == 200


def test_shipping_claim_needs_an_address_and_a_plausible_phone(drawn):
    event, winner, _loser = drawn
    assert refused(claim(winner, event, {}), 400, 40000)
    response = claim(winner, event, {"address": {**ADDRESS, "phone": "call me =1+1"}})
    assert refused(response, 400, 40000)
    assert "call me" not in response.content.decode()  # the input is never echoed in errors


def test_loser_outsider_and_creator_cannot_claim(drawn, creator, outsider):
    event, _winner, loser = drawn
    for user in (loser, outsider, creator):
        assert refused(claim(user, event, {"address": ADDRESS}), 403, 40303)
        assert refused(client_for(user).get(url(event, "/claim")), 403, 40303)


def test_event_without_claim_step_refuses_claims(creator):
    event, winners, _ = drawn_event(creator, delivery="none")
    assert refused(claim(winners[0], event), 409, 40908)


def test_claim_before_the_draw_is_refused(creator):
    event = EventFactory(creator=creator, delivery="contact")
    winner = UserFactory()
    entry_join(event=event, user=winner, now=NOW)
    assert refused(claim(winner, event), 409, 40905)


def test_contact_winner_sees_the_note(creator):
    event, winners, _ = drawn_event(creator, delivery="contact", contact_note="微信 lottery-boss")
    response = claim(winners[0], event)
    assert data(response)["contact_note"] == "微信 lottery-boss"
    assert refused(claim(winners[0], event, {"address": ADDRESS}), 400, 40000)


def test_code_winners_each_see_only_their_own_code(creator):
    prizes = [{"name": "券", "quantity": 2, "codes": ["CODE-A", "CODE-B"]}]
    event, winners, losers = drawn_event(creator, delivery="code", entrants=3, prizes=prizes)
    seen = {data(claim(user, event))["code"] for user in winners}
    assert seen == {"CODE-A", "CODE-B"}
    assert refused(client_for(losers[0]).get(url(event, "/claim")), 403, 40303)
    # The n-th winner of the prize in draw order gets the n-th code.
    first = Entry.objects.filter(event=event, prize__isnull=False).order_by("prize_rank").first()
    assert data(client_for(first.user).get(url(event, "/claim")))["code"] == "CODE-A"


# --- the creator ----------------------------------------------------------------------------


def test_creator_lists_winners_with_decrypted_details_and_each_read_is_audited(drawn, creator):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    response = client_for(creator).get(url(event, "/claims"))
    assert response.status_code == 200
    (row,) = data(response)
    assert row["address"]["phone"] == PHONE and row["state"] == "claimed"
    assert row["user"]["id"] == winner.public_id
    access = ClaimAccess.objects.get()
    assert (access.actor, access.reason, access.claim.event_id) == (creator, "api", event.pk)


def test_nobody_else_reads_claims(drawn, outsider):
    event, winner, loser = drawn
    claim(winner, event, {"address": ADDRESS})
    staff_without = StaffFactory(is_superuser=False)
    for user in (winner, loser, outsider, staff_without):
        for suffix in ("/claims", "/claims.csv"):
            response = client_for(user).get(url(event, suffix))
            assert refused(response, 403, 40301)
            assert PHONE not in response.content.decode()
    assert not ClaimAccess.objects.exists()


def test_staff_with_the_permission_reads_claims_and_is_audited(drawn):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    staff = StaffFactory(is_superuser=False)
    staff.user_permissions.add(Permission.objects.get(codename="view_claim_personal_data"))
    response = client_for(staff).get(url(event, "/claims"))
    assert data(response)[0]["address"]["phone"] == PHONE
    assert ClaimAccess.objects.get().actor == staff


def test_creator_ships_a_claim_and_the_winner_sees_it(drawn, creator, outsider):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    claim_id = Claim.objects.get(event=event).public_id
    ship_url = url(event, f"/claims/{claim_id}/ship")
    body = {"carrier": "顺丰", "tracking_number": "SF123"}
    assert refused(client_for(outsider).post(ship_url, body, format="json"), 403, 40301)
    assert refused(client_for(winner).post(ship_url, body, format="json"), 403, 40301)
    response = client_for(creator).post(ship_url, body, format="json")
    assert response.status_code == 200 and data(response)["state"] == "shipped"
    mine = data(client_for(winner).get(url(event, "/claim")))
    assert (mine["state"], mine["carrier"], mine["tracking_number"]) == ("shipped", "顺丰", "SF123")
    assert refused(client_for(creator).post(ship_url, body, format="json"), 409, 40910)


@pytest.mark.parametrize("alias", [str.upper, lambda claim_id: claim_id + " "])
def test_a_claim_id_in_another_case_or_with_a_trailing_space_is_a_404(drawn, creator, alias):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    claim_id = Claim.objects.get(event=event).public_id
    body = {"carrier": "顺丰", "tracking_number": "SF123"}

    response = client_for(creator).post(
        url(event, f"/claims/{alias(claim_id)}/ship"), body, format="json"
    )

    assert refused(response, 404, 40402)
    assert Claim.objects.get(event=event).status == Claim.Status.CLAIMED


def test_an_unclaimed_prize_cannot_be_shipped(drawn, creator, clock):
    event, _winner, _loser = drawn
    clock.move_to(deadline_of(event) - timedelta(hours=12))
    claims.claims_remind_due(now=timezone.now())  # makes the unclaimed row
    claim_id = Claim.objects.get(event=event).public_id
    body = {"carrier": "顺丰", "tracking_number": "SF1"}
    response = client_for(creator).post(url(event, f"/claims/{claim_id}/ship"), body, format="json")
    assert refused(response, 409, 40911)
    unknown = url(event, "/claims/c_0000000000000000/ship")
    assert refused(client_for(creator).post(unknown, body, format="json"), 404, 40402)


def test_csv_export_has_the_claims_and_disarms_formulas(drawn, creator):
    event, winner, _loser = drawn
    claim(winner, event, {"address": {**ADDRESS, "name": '=HYPERLINK("http://x")'}})
    response = client_for(creator).get(url(event, "/claims.csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert text.splitlines()[0].startswith("user,prize,state,deadline,name,phone")
    assert "'=HYPERLINK" in text and PHONE in text
    assert ClaimAccess.objects.get().reason == "csv"


def test_old_claims_list_keeps_its_shape_and_announces_its_deprecation(drawn, creator):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    response = client_for(creator).get(url(event, "/claims"))
    assert isinstance(data(response), list) and data(response)[0]["state"] == "claimed"
    assert re.fullmatch(r"@\d+", response["Deprecation"])
    assert parse_http_date(response["Sunset"]) > int(response["Deprecation"][1:])
    assert f'<{url(event, "/claim-rows")}>; rel="successor-version"' in response["Link"]


def many_winners(creator, count):
    """A drawn shipping event where each of ``count`` entrants won a unit of one prize."""
    prizes = [{"name": "奖品", "quantity": count}]
    event, winners, _ = drawn_event(creator, entrants=count, prizes=prizes)
    ranked = Entry.objects.filter(event=event).order_by("prize_rank")
    return event, [entry.user for entry in ranked]


def test_creator_pages_through_claims_in_draw_order(creator):
    event, ranked = many_winners(creator, 5)
    client = client_for(creator)
    seen, cursor = [], None
    for _ in range(5):
        query = "?page_size=2" + (f"&cursor={cursor}" if cursor else "")
        page = data(client.get(url(event, "/claim-rows") + query))
        seen += [row["user"]["id"] for row in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [user.public_id for user in ranked]


def test_creator_filters_claims_by_state_and_the_cursor_belongs_to_its_filter(creator, clock):
    event, ranked = many_winners(creator, 4)
    for user in ranked[:3]:
        claim(user, event, {"address": ADDRESS})
    client = client_for(creator)
    claim_id = Claim.objects.get(entry__user=ranked[0]).public_id
    ship = {"carrier": "顺丰", "tracking_number": "1"}
    client.post(url(event, f"/claims/{claim_id}/ship"), ship, format="json")

    def ids(state, suffix=""):  # a new token each time: the clock moves past the access's life
        page = data(client_for(creator).get(url(event, f"/claim-rows?state={state}{suffix}")))
        return [row["user"]["id"] for row in page["results"]], page["next"]

    assert ids("shipped")[0] == [ranked[0].public_id]
    assert ids("claimed")[0] == [ranked[1].public_id, ranked[2].public_id]
    assert ids("unclaimed")[0] == [ranked[3].public_id] and ids("expired")[0] == []
    clock.move_to(deadline_of(event))
    assert ids("expired")[0] == [ranked[3].public_id] and ids("unclaimed")[0] == []
    _, cursor = ids("claimed", "&page_size=1")
    assert ids("claimed", f"&page_size=1&cursor={cursor}")[0] == [ranked[2].public_id]
    client = client_for(creator)
    assert refused(client.get(url(event, f"/claim-rows?state=shipped&cursor={cursor}")), 400, 40000)
    assert refused(client.get(url(event, "/claim-rows?state=lost")), 400, 40000)


def test_nobody_else_pages_claims_or_exports_them(drawn, outsider):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    for suffix in ("/claim-rows", "/claims.xlsx"):
        response = client_for(outsider).get(url(event, suffix))
        assert refused(response, 403, 40301) and PHONE.encode() not in response.content


def test_xlsx_export_opens_as_a_workbook_with_the_claims_and_disarmed_formulas(drawn, creator):
    event, winner, _loser = drawn
    claim(winner, event, {"address": {**ADDRESS, "name": '=HYPERLINK("http://x")'}})
    response = client_for(creator).get(url(event, "/claims.xlsx?state=claimed"))
    assert response.status_code == 200
    assert response["Content-Type"] == claim_views.XLSX
    assert response["Content-Disposition"].endswith('-claims.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert header[:6] == ("user", "prize", "state", "deadline", "name", "phone")
    assert row[2] == "claimed" and row[5] == PHONE
    assert row[4] == '\'=HYPERLINK("http://x")'  # text, not a formula
    assert sheet.cell(row=2, column=5).data_type == "s"
    assert ClaimAccess.objects.get().reason == "xlsx"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_start_a_formula_are_quoted(cell):
    assert claims.csv_safe(cell) == "'" + cell


# --- keys -----------------------------------------------------------------------------------


def test_without_keys_and_debug_off_claims_answer_503(drawn, creator, settings):
    event, winner, _loser = drawn
    settings.CLAIM_ENCRYPTION_KEYS = []
    settings.DEBUG = False
    assert refused(claim(winner, event, {"address": ADDRESS}), 503, 50302)
    assert refused(client_for(creator).get(url(event, "/claims")), 503, 50302)


def test_without_keys_in_debug_a_development_key_is_derived(drawn, creator, settings, caplog):
    event, winner, _loser = drawn
    settings.CLAIM_ENCRYPTION_KEYS = []
    settings.DEBUG = True
    with caplog.at_level(logging.WARNING):
        assert claim(winner, event, {"address": ADDRESS}).status_code == 200
    assert "development key" in caplog.text
    assert client_for(creator).get(url(event, "/claims")).status_code == 200


def test_key_rotation_reencrypts_with_the_first_key(drawn, creator, settings):
    event, winner, _loser = drawn
    old = settings.CLAIM_ENCRYPTION_KEYS[0]
    claim(winner, event, {"address": ADDRESS})
    new = Fernet.generate_key().decode()
    settings.CLAIM_ENCRYPTION_KEYS = [new, old]
    call_command("claims_reencrypt")
    settings.CLAIM_ENCRYPTION_KEYS = [new]  # the old key retired
    rows = claims.claims_read(event=event, reader=creator, now=NOW, reason="test")
    assert rows[0]["address"]["phone"] == PHONE


def test_personal_data_never_reaches_the_logs(drawn, creator, caplog):
    event, winner, _loser = drawn
    with caplog.at_level(logging.DEBUG):
        claim(winner, event, {"address": ADDRESS})
        client_for(creator).get(url(event, "/claims"))
    assert PHONE not in caplog.text and "体育西路" not in caplog.text


# --- periodic work --------------------------------------------------------------------------


def test_unclaimed_winner_is_reminded_once_a_day_before_the_deadline(drawn, clock):
    event, winner, _loser = drawn
    deadline = deadline_of(event)
    clock.move_to(deadline - timedelta(days=1, seconds=1))
    assert claims.claims_remind_due(now=timezone.now()) == []
    clock.move_to(deadline - timedelta(hours=23))
    (reminded,) = claims.claims_remind_due(now=timezone.now())
    assert reminded.entry.user_id == winner.pk
    assert claims.claims_remind_due(now=timezone.now()) == []  # a second beat: nothing more
    clock.move_to(deadline - timedelta(hours=1))
    assert claims.claims_remind_due(now=timezone.now()) == []
    # The reminder row does not stop the winner from claiming.
    assert claim(winner, event, {"address": ADDRESS}).status_code == 200


def test_a_winner_who_claimed_is_not_reminded(drawn, clock):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    clock.move_to(deadline_of(event) - timedelta(hours=2))
    assert claims.claims_remind_due(now=timezone.now()) == []


def test_personal_data_is_erased_after_the_claim_closed_and_erasing_twice_is_harmless(
    drawn, creator, clock, settings
):
    event, winner, _loser = drawn
    settings.CLAIM_ERASE_AFTER_DAYS = 30
    claim(winner, event, {"address": ADDRESS})
    claim_row = Claim.objects.get(event=event)
    claims.claim_ship(
        event=event, actor=creator, claim_id=claim_row.public_id, carrier="顺丰",
        tracking_number="SF1", now=timezone.now(),
    )  # fmt: skip
    clock.move_to(NOW + timedelta(days=30) - timedelta(seconds=1))
    assert claims.claims_erase_due(now=timezone.now()) == 0
    clock.move_to(NOW + timedelta(days=30))
    assert claims.claims_erase_due(now=timezone.now()) == 1
    assert claims.claims_erase_due(now=timezone.now()) == 0
    claim_row.refresh_from_db()
    assert claim_row.details == "" and claim_row.status == "shipped" and claim_row.erased_at
    (row,) = claims.claims_read(event=event, reader=creator, now=timezone.now(), reason="t")
    # The tracking number goes too (a carrier's site shows the recipient by it); the carrier,
    # the state and the dates stay.
    assert row["address"] is None and row["erased"] and row["tracking_number"] == ""
    assert row["carrier"] == "顺丰" and row["shipped_at"]


def test_a_claim_never_shipped_is_erased_after_its_deadline_plus_the_delay(drawn, clock):
    event, winner, _loser = drawn
    claim(winner, event, {"address": ADDRESS})
    clock.move_to(deadline_of(event) + timedelta(days=30))
    from events.tasks import claims_sweep

    claims_sweep()
    claims_sweep()
    assert Claim.objects.get(event=event).details == ""


def test_event_model_delivery_choices_are_the_documented_ones():
    assert set(Event.Delivery.values) == {"none", "shipping", "contact", "code"}


# --- the inbox ------------------------------------------------------------------------------


def inbox(user, query=""):
    return data(client_for(user).get("/api/v1/me/notifications" + query))


def test_winner_is_told_in_the_inbox_when_reminded_and_when_shipped(drawn, creator, clock):
    event, winner, loser = drawn
    clock.move_to(deadline_of(event) - timedelta(hours=12))
    claims.claims_remind_due(now=timezone.now())
    claim(winner, event, {"address": ADDRESS})
    clock.shift(timedelta(hours=1))
    claim_id = Claim.objects.get(event=event).public_id
    body = {"carrier": "顺丰", "tracking_number": "SF777"}
    client_for(creator).post(url(event, f"/claims/{claim_id}/ship"), body, format="json")
    mine = inbox(winner)
    assert [item["kind"] for item in mine["results"]] == ["shipped", "claim_reminder", "result"]
    shipped, reminder = mine["results"][0], mine["results"][1]
    assert (shipped["carrier"], shipped["tracking_number"]) == ("顺丰", "SF777")
    assert reminder["deadline"] == timezone.localtime(deadline_of(event)).isoformat()
    assert mine["unread_count"] == 3
    assert [item["kind"] for item in inbox(loser)["results"]] == ["result"]
    # Paged one by one, the same three items in the same order.
    seen, cursor = [], None
    while True:
        page = inbox(winner, "?page_size=1" + (f"&cursor={cursor}" if cursor else ""))
        seen += [item["kind"] for item in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["shipped", "claim_reminder", "result"]


# --- the WeChat message ---------------------------------------------------------------------

STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
SUBSCRIBE_SEND = "https://wechat.test/cgi-bin/message/subscribe/send"


def test_winner_with_quota_gets_one_shipped_message_even_if_the_sweep_runs_twice(
    drawn, creator, settings, wechat, django_capture_on_commit_callbacks
):
    import json

    import responses

    from notifications import services as notify_services
    from notifications import tasks as notify_tasks
    from notifications.models import Delivery

    settings.NOTIFY_TEMPLATES = {
        **settings.NOTIFY_TEMPLATES,
        "shipped": {
            "id": "tpl-shipped",
            "fields": {
                "title": "thing1",
                "carrier": "thing3",
                "tracking_number": "character_string4",
            },
        },
    }
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": 0, "errmsg": "ok"})
    event, winner, _loser = drawn
    notify_services.subscription_accept(user=winner, template_ids=["tpl-shipped"])
    claim(winner, event, {"address": ADDRESS})
    claim_row = Claim.objects.get(event=event)
    claims.claim_ship(
        event=event, actor=creator, claim_id=claim_row.public_id, carrier="顺丰",
        tracking_number="SF42", now=timezone.now(),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        notify_tasks.sweep()
        notify_tasks.sweep()
    sent = [
        json.loads(call.request.body)
        for call in wechat.calls
        if call.request.url.split("?")[0] == SUBSCRIBE_SEND
    ]
    assert len(sent) == 1
    assert sent[0]["data"]["character_string4"]["value"] == "SF42"
    assert PHONE not in json.dumps(sent[0], ensure_ascii=False)
    assert Delivery.objects.get(kind="shipped").state == "sent"
