"""People's data (issue 24, PIPL): consent, masked public lists, my data, deletion, retention.

Personas: the creator (owner of an event), an entrant (who wins, in most tests), an outsider
and staff. WeChat is faked with ``responses``; the database and Redis are the real ones. Time is
frozen at NOW and moved explicitly.
"""

import hashlib
import io
import json
import logging
from datetime import timedelta

import openpyxl
import pytest
import responses
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import personal_data, services
from accounts.authentication import INACTIVE_USERS
from accounts.models import PrivacyConsent, Upload, User, UserActionLog
from accounts.serializers import masked_nickname
from draws import services as draw_services
from events import claims
from events.models import (
    Claim,
    ClaimAccess,
    Entry,
    Event,
    EventLog,
    PromotionRecord,
    Report,
    Substitution,
)
from events.services.entries import entry_join
from events.services.events import event_cancel
from notifications.models import Delivery, InboxState, SubscriptionQuota
from tests.conftest import client_for, data, refused
from tests.factories import EventFactory, StaffFactory, UserFactory
from tests.pictures import picture

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
JSCODE2SESSION = "https://wechat.test/sns/jscode2session"
ADDRESS = {
    "name": "王小明",
    "phone": "13912345678",
    "province": "浙江省",
    "city": "杭州市",
    "county": "西湖区",
    "detail": "文三路 99 号 3 幢",
    "postal_code": "310012",
}


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def keys(settings):
    settings.CLAIM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.PRIVACY_POLICY_URL = "https://lottery.example.com/privacy"


@pytest.fixture
def policy(settings):
    """Consent required: the policy in force is version "v1"."""
    settings.PRIVACY_POLICY_VERSION = "v1"
    return settings


@pytest.fixture
def staff():
    return StaffFactory()


def login(wechat, openid="o-person", **body):
    wechat.add(responses.GET, JSCODE2SESSION, json={"openid": openid, "session_key": "sk"})
    return APIClient().post("/api/v1/auth/login", {"code": "c", **body}, format="json")


def bearer(tokens):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


def drawn_event(creator, entrants, *, delivery="shipping", prizes=None):
    """An event of ``creator`` that each of ``entrants`` joined, locked and drawn."""
    event = EventFactory(
        creator=creator,
        prizes=prizes or [{"name": "大奖", "quantity": len(entrants)}],
        delivery=delivery,
    )
    for user in entrants:
        entry_join(event=event, user=user, now=NOW)
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    return event


@pytest.fixture
def winner():
    return UserFactory(nickname="张小三")


@pytest.fixture
def drawn(creator, winner, clock):
    """A shipping event drawn an hour after NOW, ``winner`` its only entrant and winner; the
    clock stays just after the draw."""
    event = drawn_event(creator, [winner])
    clock.move_to(event.draw_at + timedelta(minutes=1))
    return event


# --- consent ----------------------------------------------------------------------------------


def test_without_a_policy_version_nothing_is_required_so_existing_clients_keep_working(
    entrant, event, settings
):
    assert settings.PRIVACY_POLICY_VERSION == ""
    client = client_for(entrant)
    assert client.post(f"/api/v1/events/{event.public_id}/entry").status_code == 201
    me = data(client.get("/api/v1/me"))
    assert me["privacy_consent_required"] is False and me["privacy_version"] == ""


def test_config_shows_the_policy_in_force(api, policy):
    config = data(api.get("/api/v1/config"))
    assert config["privacy_policy"] == {
        "version": "v1",
        "url": "https://lottery.example.com/privacy",
    }


def test_entrant_who_has_not_accepted_is_refused_services_with_a_clear_code(entrant, event, policy):
    client = client_for(entrant)
    response = client.post(f"/api/v1/events/{event.public_id}/entry")
    assert refused(response, 403, 40320)
    body = response.json()
    assert body["msg"] == "请先同意最新的隐私政策"
    assert body["data"] == {"version": "v1", "url": "https://lottery.example.com/privacy"}
    for refused_call in (
        client.get("/api/v1/me/notifications"),
        client.get("/api/v1/me/events"),
        client.post("/api/v1/me/subscriptions", {"accepted": []}, format="json"),
        client.put("/api/v1/me", {"nickname": "新名字"}, format="json"),
        client.post("/api/v1/events", {}, format="json"),
    ):
        assert refused(refused_call, 403, 40320)
    assert not Entry.objects.filter(user=entrant).exists()


def test_entrant_without_consent_still_reads_public_pages_me_config_and_own_data(
    entrant, event, policy
):
    client = client_for(entrant)
    assert client.get(f"/api/v1/events/{event.public_id}").status_code == 200
    assert client.get(f"/api/v1/events/{event.public_id}/entries").status_code == 200
    assert client.get(f"/api/v1/events/{event.public_id}/proof").status_code == 200
    assert client.get("/api/v1/config").status_code == 200
    assert client.get("/api/v1/square").status_code == 200
    assert client.get("/api/v1/me/data").status_code == 200
    me = data(client.get("/api/v1/me"))
    assert me["privacy_consent_required"] is True


def test_an_entrant_may_withdraw_without_accepting_a_new_policy(entrant, event, policy):
    entry_join(event=event, user=entrant, now=NOW)
    assert client_for(entrant).delete(f"/api/v1/events/{event.public_id}/entry").status_code == 200
    assert not Entry.objects.filter(user=entrant).exists()


def test_a_caller_without_a_token_is_told_to_log_in_not_to_consent(api, event, policy):
    assert refused(api.post(f"/api/v1/events/{event.public_id}/entry"), 401, 40100)


def test_login_records_the_accepted_version_and_its_tokens_let_the_user_join(wechat, event, policy):
    response = login(wechat, nickname="小红", privacy_version="v1")
    assert response.status_code == 201
    body = data(response)
    assert body["user"]["privacy_version"] == "v1"
    assert body["user"]["privacy_consent_required"] is False
    user = User.objects.get(openid="o-person")
    (consent,) = PrivacyConsent.objects.filter(user=user)
    assert (consent.version, consent.source, consent.accepted_at) == ("v1", "login", NOW)
    assert bearer(body).post(f"/api/v1/events/{event.public_id}/entry").status_code == 201


def test_login_without_a_version_or_with_an_old_one_records_nothing_and_the_gate_asks(
    wechat, event, policy
):
    body = data(login(wechat, privacy_version="v0"))
    assert body["user"]["privacy_consent_required"] is True
    assert not PrivacyConsent.objects.exists()
    assert refused(bearer(body).post(f"/api/v1/events/{event.public_id}/entry"), 403, 40320)


def test_accepting_the_policy_lets_the_token_already_held_through(entrant, event, policy):
    client = client_for(entrant)
    assert refused(client.post(f"/api/v1/events/{event.public_id}/entry"), 403, 40320)
    response = client.post("/api/v1/me/privacy-consent", {"version": "v1"}, format="json")
    assert response.status_code == 200
    assert data(response)["privacy_consent_required"] is False
    assert client.post(f"/api/v1/events/{event.public_id}/entry").status_code == 201


def test_tokens_issued_after_the_acceptance_carry_it_so_the_gate_needs_no_query(
    entrant, event, policy, django_assert_num_queries
):
    from accounts.permissions import consent_missing

    services.privacy_consent_record(user=entrant, version="v1", source="prompt", now=NOW)
    entrant.refresh_from_db()
    refreshed = services.token_refresh(refresh=services.tokens_for(entrant)["refresh"])
    assert AccessToken(refreshed["access"])["pv"] == "v1"
    assert bearer(refreshed).post(f"/api/v1/events/{event.public_id}/entry").status_code == 201
    with django_assert_num_queries(0):
        assert consent_missing(entrant.pk, "v1") is False
    # A token from before the acceptance: one query, once per process.
    with django_assert_num_queries(1):
        assert consent_missing(entrant.pk, None) is False
    with django_assert_num_queries(0):
        assert consent_missing(entrant.pk, None) is False


def test_a_new_policy_version_asks_everyone_again(entrant, event, policy, wechat):
    services.privacy_consent_record(user=entrant, version="v1", source="prompt", now=NOW)
    entrant.refresh_from_db()
    client = bearer(services.tokens_for(entrant))
    assert client.get("/api/v1/me/notifications").status_code == 200
    policy.PRIVACY_POLICY_VERSION = "v2"
    assert refused(client.get("/api/v1/me/notifications"), 403, 40320)
    accepted = client.post("/api/v1/me/privacy-consent", {"version": "v2"}, format="json")
    assert accepted.status_code == 200
    assert client.get("/api/v1/me/notifications").status_code == 200
    versions = list(
        PrivacyConsent.objects.filter(user=entrant).order_by("pk").values_list("version", flat=True)
    )
    assert versions == ["v1", "v2"]


def test_each_acceptance_is_recorded_once_and_never_rewritten(entrant, policy, clock):
    client = client_for(entrant)
    client.post("/api/v1/me/privacy-consent", {"version": "v1"}, format="json")
    clock.move_to(NOW + timedelta(days=1))
    client.post("/api/v1/me/privacy-consent", {"version": "v1"}, format="json")
    (consent,) = PrivacyConsent.objects.filter(user=entrant)
    assert consent.accepted_at == NOW


def test_accepting_another_version_than_the_current_one_is_a_409(entrant, policy, settings):
    client = client_for(entrant)
    response = client.post("/api/v1/me/privacy-consent", {"version": "v0"}, format="json")
    assert refused(response, 409, 40920) and data(response) == {"version": "v1"}
    settings.PRIVACY_POLICY_VERSION = ""
    response = client.post("/api/v1/me/privacy-consent", {"version": "v1"}, format="json")
    assert refused(response, 409, 40920)
    assert not PrivacyConsent.objects.exists()


def test_outsider_cannot_accept_for_someone_else_there_is_no_user_field(outsider, policy):
    response = client_for(outsider).post(
        "/api/v1/me/privacy-consent", {"version": "v1", "user": "u_x"}, format="json"
    )
    assert refused(response, 400, 40000)


# --- public lists masked ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nickname", "masked"),
    [
        ("张小三", "张*三"),
        ("欧阳娜娜", "欧*娜"),
        ("张三", "张*"),
        ("张", "*"),
        ("", ""),
        ("Bob", "B*b"),
    ],
)
def test_nicknames_keep_their_first_and_last_character(nickname, masked):
    assert masked_nickname(nickname) == masked


def test_winner_list_masks_the_name_and_hides_the_avatar_by_default(api, drawn, winner):
    (row,) = data(api.get(f"/api/v1/events/{drawn.public_id}/winners"))["winners"]
    assert row["user"] == {
        "id": winner.public_id,
        "nickname": "张*三",
        "avatar_url": "",
        "avatar": None,
    }


def test_a_winner_who_chooses_to_be_shown_appears_in_full_and_may_change_their_mind(
    api, drawn, winner
):
    me = client_for(winner)
    assert data(me.put("/api/v1/me", {"show_on_public_lists": True}, format="json"))[
        "show_on_public_lists"
    ]
    (row,) = data(api.get(f"/api/v1/events/{drawn.public_id}/winners"))["winners"]
    assert row["user"]["nickname"] == "张小三" and row["user"]["avatar_url"]
    me.put("/api/v1/me", {"show_on_public_lists": False}, format="json")
    (row,) = data(api.get(f"/api/v1/events/{drawn.public_id}/winners"))["winners"]
    assert row["user"]["nickname"] == "张*三"


def test_the_entrant_list_is_masked_too_so_ids_cannot_unmask_a_winner(drawn, winner, outsider):
    entries = data(client_for(outsider).get(f"/api/v1/events/{drawn.public_id}/entries"))
    (row,) = entries["results"]
    assert row["user"]["id"] == winner.public_id
    assert row["user"]["nickname"] == "张*三" and row["user"]["avatar"] is None


def test_the_creator_sees_the_address_a_claim_needs_but_only_a_masked_profile(
    drawn, winner, creator
):
    client_for(winner).post(
        f"/api/v1/events/{drawn.public_id}/claim", {"address": ADDRESS}, format="json"
    )
    (row,) = data(client_for(creator).get(f"/api/v1/events/{drawn.public_id}/claims"))
    assert row["address"] == ADDRESS
    assert row["user"]["nickname"] == "张*三" and row["user"]["avatar_url"] == ""
    (row,) = data(client_for(creator).get(f"/api/v1/events/{drawn.public_id}/claim-rows"))[
        "results"
    ]
    assert row["address"] == ADDRESS and row["user"]["nickname"] == "张*三"
    csv = client_for(creator).get(f"/api/v1/events/{drawn.public_id}/claims.csv").content
    assert "张*三" in csv.decode() and "张小三" not in csv.decode()
    xlsx = client_for(creator).get(f"/api/v1/events/{drawn.public_id}/claims.xlsx").content
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["张*三"]


def test_the_creator_of_an_event_is_shown_as_they_published_it(outsider, event, creator):
    shown = data(client_for(outsider).get(f"/api/v1/events/{event.public_id}"))["creator"]
    assert shown["nickname"] == creator.nickname == "发起人"


# --- phones only from winners who need delivery ---------------------------------------------


@pytest.mark.parametrize("delivery", ["contact", "code"])
def test_a_prize_without_shipping_neither_asks_for_nor_accepts_an_address_or_phone(
    creator, winner, delivery, clock
):
    prizes = [{"name": "券", "quantity": 1, "codes": ["C1"]}] if delivery == "code" else None
    event = drawn_event(creator, [winner], delivery=delivery, prizes=prizes)
    clock.move_to(event.draw_at + timedelta(minutes=1))
    claim_url = f"/api/v1/events/{event.public_id}/claim"
    given = client_for(winner).post(claim_url, {"address": ADDRESS}, format="json")
    assert refused(given, 400, 40000)
    assert client_for(winner).post(claim_url, {}, format="json").status_code == 200
    assert Claim.objects.get(event=event).details == ""


def test_a_prize_with_no_claim_step_takes_nothing_at_all(creator, winner, clock):
    event = drawn_event(creator, [winner], delivery="none")
    clock.move_to(event.draw_at + timedelta(minutes=1))
    response = client_for(winner).post(
        f"/api/v1/events/{event.public_id}/claim", {"address": ADDRESS}, format="json"
    )
    assert refused(response, 409, 40908)
    assert not Claim.objects.exists()


def test_login_and_profile_take_no_phone(entrant, wechat):
    assert refused(login(wechat, phone="13912345678"), 400, 40000)
    response = client_for(entrant).put("/api/v1/me", {"phone": "13912345678"}, format="json")
    assert refused(response, 400, 40000)


# --- my data ----------------------------------------------------------------------------------


def test_my_data_holds_everything_we_keep_about_me(drawn, winner, creator, settings):
    client = client_for(winner)
    settings.PRIVACY_POLICY_VERSION = "v1"
    client.post("/api/v1/me/privacy-consent", {"version": "v1"}, format="json")
    avatar = services.upload_create(owner=winner, purpose="avatar", data=picture(), now=NOW)
    client.put("/api/v1/me", {"avatar": avatar.public_id}, format="json")
    client.post(f"/api/v1/events/{drawn.public_id}/claim", {"address": ADDRESS}, format="json")
    SubscriptionQuota.objects.create(user=winner, template_id="tmpl", quota=2)
    settings.NOTIFY_TEMPLATES = {"result": {"id": "tmpl", "fields": {}}}
    other = EventFactory(creator=creator)
    client.post(f"/api/v1/events/{other.public_id}/report", {"reason": "spam"}, format="json")

    response = client.get("/api/v1/me/data")

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    mine = data(response)
    assert mine["profile"]["id"] == winner.public_id
    assert mine["profile"]["nickname"] == "张小三"
    assert mine["profile"]["wechat_openid"] == winner.openid
    assert mine["profile"]["avatar"]["url"]
    assert [c["version"] for c in mine["consents"]] == ["v1"]
    assert [u["id"] for u in mine["uploads"]] == [avatar.public_id]
    assert [e["event"]["id"] for e in mine["entries"]] == [drawn.public_id]
    assert mine["entries"][0]["prize"]["name"] == "大奖"
    assert [(w["event"]["id"], w["state"]) for w in mine["wins"]] == [(drawn.public_id, "held")]
    (claim,) = mine["claims"]
    assert claim["address"] == ADDRESS and claim["state"] == "claimed"
    assert [r["event"]["id"] for r in mine["reports"]] == [other.public_id]
    assert {item["kind"] for item in mine["inbox"]} == {"result"}
    assert mine["subscriptions"] == {"tmpl": 2}
    assert mine["events_created"] == [] and mine["messages"] == []
    # Reading one's own address is recorded like any other read of it.
    assert ClaimAccess.objects.filter(actor=winner, reason="export").count() == 1


def test_my_data_holds_nothing_of_anyone_else(drawn, winner, creator, outsider):
    client_for(winner).post(
        f"/api/v1/events/{drawn.public_id}/claim", {"address": ADDRESS}, format="json"
    )
    theirs = json.dumps(data(client_for(outsider).get("/api/v1/me/data")), ensure_ascii=False)
    assert winner.public_id not in theirs and ADDRESS["phone"] not in theirs
    assert drawn.public_id not in theirs
    creators = data(client_for(creator).get("/api/v1/me/data"))
    assert [e["id"] for e in creators["events_created"]] == [drawn.public_id]
    assert ADDRESS["phone"] not in json.dumps(creators, ensure_ascii=False)


def test_my_data_needs_a_token(api):
    assert refused(api.get("/api/v1/me/data"), 401, 40100)


def test_every_model_that_points_at_a_person_is_named_by_a_data_holder():
    """A new table about people that nobody exports or erases fails here, not in an audit."""
    named = {name for holder in personal_data.HOLDERS for name in holder.models}
    pointing = set()
    for model in apps.get_models():
        label = f"{model._meta.app_label}.{model.__name__}"
        if model._meta.app_label in {"admin", "auth", "contenttypes", "sessions"}:
            continue
        if model._meta.proxy:
            continue
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is User:
                pointing.add(label)
    assert pointing - named == set()
    assert {"accounts", "events", "notifications"} <= {h.app for h in personal_data.HOLDERS}


# --- deletion ---------------------------------------------------------------------------------


def delete_me(user):
    return client_for(user).delete("/api/v1/me")


def test_deleting_my_account_erases_my_profile_and_stops_my_tokens(entrant, policy):
    client = client_for(entrant)
    client.post("/api/v1/me/privacy-consent", {"version": "v1"}, format="json")
    avatar = services.upload_create(owner=entrant, purpose="avatar", data=picture(), now=NOW)
    client.put("/api/v1/me", {"avatar": avatar.public_id}, format="json")
    SubscriptionQuota.objects.create(user=entrant, template_id="tmpl", quota=1)
    InboxState.objects.create(user=entrant, read_up_to=NOW)
    refresh = services.tokens_for(entrant)["refresh"]

    response = client.delete("/api/v1/me")

    assert response.status_code == 200 and data(response)["deleted_at"]
    row = User.objects.get(pk=entrant.pk)
    assert row.public_id == entrant.public_id  # published proofs name it
    assert (row.openid, row.unionid, row.nickname, row.avatar_url, row.avatar) == (
        None, None, "", "", None,
    )  # fmt: skip
    assert row.session_key == "" and not row.is_active and row.deleted_at == row.erased_at == NOW
    assert not PrivacyConsent.objects.filter(user=entrant).exists()
    assert not Upload.objects.filter(owner=entrant).exists()
    assert not SubscriptionQuota.objects.filter(user=entrant).exists()
    assert not InboxState.objects.filter(user=entrant).exists()
    assert refused(client.get("/api/v1/me"), 401, 40102)
    assert refused(
        APIClient().post("/api/v1/auth/refresh", {"refresh": refresh}, format="json"), 401, 40102
    )


def test_deleting_twice_changes_nothing_the_second_time(entrant):
    assert services.user_delete(user=entrant, now=NOW) is True
    assert services.user_delete(user=entrant, now=NOW + timedelta(hours=1)) is False
    assert User.objects.get(pk=entrant.pk).deleted_at == NOW
    assert refused(delete_me(entrant), 401, 40102)


def test_deletion_withdraws_me_from_open_events_through_the_withdrawal(entrant, event):
    entry_join(event=event, user=entrant, now=NOW)
    assert delete_me(entrant).status_code == 200
    event.refresh_from_db()
    assert event.participant_count == 0 and event.entry_seq == 2
    assert not Entry.objects.filter(user=entrant).exists()


def test_deletion_forgets_entries_of_events_canceled_before_their_lock(entrant, event, creator):
    entry_join(event=event, user=entrant, now=NOW)
    event_cancel(event=event, actor=creator, now=NOW, reason="")
    assert delete_me(entrant).status_code == 200
    assert not Entry.objects.filter(user=entrant).exists()
    assert Event.objects.get(pk=event.pk).participant_count == 0


def test_deletion_keeps_the_published_proof_verifiable(drawn, winner, api, capsys):
    before = data(api.get(f"/api/v1/events/{drawn.public_id}/winners"))
    entrants = b"".join(
        api.get(f"/api/v1/events/{drawn.public_id}/entrants").streaming_content
    ).decode()

    assert delete_me(winner).status_code == 200

    after = data(api.get(f"/api/v1/events/{drawn.public_id}/winners"))
    assert [w["user"]["id"] for w in after["winners"]] == [
        w["user"]["id"] for w in before["winners"]
    ]
    listed = b"".join(api.get(f"/api/v1/events/{drawn.public_id}/entrants").streaming_content)
    assert listed.decode() == entrants
    assert hashlib.sha256(listed).hexdigest() == drawn.entrants_digest
    call_command("verify_draw", drawn.public_id)
    assert "OK" in capsys.readouterr().out


def test_a_deleted_winner_leaves_a_pseudonymous_promotion_record_for_two_years(
    drawn, winner, clock, settings
):
    client_for(winner).post(
        f"/api/v1/events/{drawn.public_id}/claim", {"address": ADDRESS}, format="json"
    )
    claim = Claim.objects.get(event=drawn)
    claims.claim_ship(
        event=drawn, actor=drawn.creator, claim_id=claim.public_id, carrier="顺丰",
        tracking_number="SF123", now=timezone.now(),
    )  # fmt: skip
    pseudonym = services.user_pseudonym(winner)

    assert delete_me(winner).status_code == 200

    (record,) = PromotionRecord.objects.all()
    assert (record.event, record.winner_key, record.winner_ref) == (
        drawn, winner.public_id, pseudonym,
    )  # fmt: skip
    assert record.prize.name == "大奖" and record.claim_state == "shipped"
    assert record.keep_until == drawn.drawn_at + timedelta(days=730)
    assert winner.openid not in pseudonym
    claim.refresh_from_db()
    assert (claim.details, claim.tracking_number, claim.status) == ("", "", "shipped")

    from events.tasks import claims_sweep

    clock.move_to(record.keep_until - timedelta(seconds=1))
    claims_sweep()
    assert PromotionRecord.objects.exists()
    clock.move_to(record.keep_until)
    claims_sweep()
    claims_sweep()
    assert not PromotionRecord.objects.exists()


def test_the_same_person_logging_in_again_gets_a_new_account_matching_the_pseudonym(
    drawn, winner, wechat
):
    openid = winner.openid
    delete_me(winner)
    body = data(login(wechat, openid=openid))
    assert body["created"] is True and body["user"]["id"] != winner.public_id
    again = User.objects.get(openid=openid)
    assert services.user_pseudonym(again) == PromotionRecord.objects.get().winner_ref


def test_a_creator_with_an_open_event_must_settle_it_before_deleting(creator, event):
    response = delete_me(creator)
    assert refused(response, 409, 40921)
    assert User.objects.get(pk=creator.pk).is_active
    event_cancel(event=event, actor=creator, now=NOW, reason="")
    assert delete_me(creator).status_code == 200


def test_a_creator_with_a_prize_to_ship_must_ship_it_before_deleting(drawn, winner, creator):
    assert refused(delete_me(creator), 409, 40921)  # the winner may still claim
    client_for(winner).post(
        f"/api/v1/events/{drawn.public_id}/claim", {"address": ADDRESS}, format="json"
    )
    assert refused(delete_me(creator), 409, 40921)
    claim = Claim.objects.get(event=drawn)
    claims.claim_ship(
        event=drawn, actor=creator, claim_id=claim.public_id, carrier="顺丰",
        tracking_number="SF1", now=timezone.now(),
    )  # fmt: skip
    assert delete_me(creator).status_code == 200
    assert Event.objects.get(pk=drawn.pk).creator_id == creator.pk  # the event stays


def test_an_interrupted_erasure_is_finished_by_the_privacy_sweep(entrant):
    User.objects.filter(pk=entrant.pk).update(deleted_at=NOW, is_active=False)
    from accounts.tasks import privacy_sweep

    assert privacy_sweep() == 1
    assert privacy_sweep() == 0
    row = User.objects.get(pk=entrant.pk)
    assert row.erased_at == NOW and row.openid is None and row.nickname == ""


def test_accounts_deleted_long_ago_leave_the_banned_set_but_stay_refused(entrant, clock):
    tokens = services.tokens_for(entrant)
    services.user_delete(user=entrant, now=NOW)
    INACTIVE_USERS.reload()
    assert entrant.pk in INACTIVE_USERS
    clock.move_to(NOW + timedelta(days=1))
    INACTIVE_USERS.expire()
    assert entrant.pk not in INACTIVE_USERS
    refresh = {"refresh": tokens["refresh"]}
    assert refused(APIClient().post("/api/v1/auth/refresh", refresh, format="json"), 401, 40102)


def test_staff_cannot_bring_a_deleted_account_back(entrant, staff):
    tokens = services.tokens_for(entrant)
    services.user_delete(user=entrant, now=NOW)
    assert services.user_reactivate(user=entrant, actor=staff) is False
    refresh = {"refresh": tokens["refresh"]}
    assert refused(APIClient().post("/api/v1/auth/refresh", refresh, format="json"), 401, 40102)


def test_deletion_needs_no_consent_and_a_deleted_user_owes_none(entrant, policy):
    assert delete_me(entrant).status_code == 200


def test_staff_delete_an_account_a_banned_person_asked_for(client, staff, entrant):
    services.user_deactivate(user=entrant, actor=staff, reason="spam")
    client.force_login(staff)
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_accounts", "_selected_action": [entrant.pk]},
    )
    row = User.objects.get(pk=entrant.pk)
    assert row.erased_at and row.openid is None
    # The ban stays on record: ids and a reason, no personal data.
    assert UserActionLog.objects.filter(user=entrant, action="deactivate").exists()


def test_staff_are_told_why_an_account_cannot_be_deleted_yet(client, staff, creator, event):
    client.force_login(staff)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_accounts", "_selected_action": [creator.pk]},
        follow=True,
    )
    assert "请先处理后再注销账号" in response.content.decode()
    assert User.objects.get(pk=creator.pk).deleted_at is None


# --- retention and logs -----------------------------------------------------------------------


def test_closed_claims_lose_address_phone_and_tracking_number_after_the_set_delay(
    drawn, winner, creator, clock, settings
):
    settings.CLAIM_ERASE_AFTER_DAYS = 30
    client_for(winner).post(
        f"/api/v1/events/{drawn.public_id}/claim", {"address": ADDRESS}, format="json"
    )
    claim = Claim.objects.get(event=drawn)
    claims.claim_ship(
        event=drawn, actor=creator, claim_id=claim.public_id, carrier="顺丰",
        tracking_number="SF9", now=timezone.now(),
    )  # fmt: skip
    clock.move_to(timezone.now() + timedelta(days=30))
    from events.tasks import claims_sweep

    claims_sweep()
    claim.refresh_from_db()
    assert (claim.details, claim.tracking_number, claim.carrier) == ("", "", "顺丰")


LOG_MODELS = (EventLog, UserActionLog, ClaimAccess, Substitution, PromotionRecord, LogEntry)


def _text_of(model) -> str:
    rows = model.objects.all().values()
    return json.dumps([{k: str(v) for k, v in row.items()} for row in rows], ensure_ascii=False)


def test_logs_hold_ids_and_reason_codes_never_names_phones_or_addresses(
    wechat, creator, outsider, staff, client, caplog, clock, settings
):
    """A whole flow, every audit table and every log line read afterwards."""
    caplog.set_level(logging.DEBUG)
    settings.PRIVACY_POLICY_VERSION = "v1"
    body = data(login(wechat, openid="o-winner", nickname="李雷雷", privacy_version="v1"))
    person = User.objects.get(openid="o-winner")
    services.privacy_consent_record(user=creator, version="v1", source="prompt", now=NOW)
    services.privacy_consent_record(user=outsider, version="v1", source="prompt", now=NOW)
    runner_up = UserFactory(nickname="韩梅梅", privacy_version="v1")
    event = EventFactory(
        creator=creator, prizes=[{"name": "大奖", "quantity": 1}], delivery="shipping"
    )
    bearer(body).post(f"/api/v1/events/{event.public_id}/entry")
    client_for(runner_up).post(f"/api/v1/events/{event.public_id}/entry")
    client_for(outsider).post(
        f"/api/v1/events/{event.public_id}/report", {"reason": "spam"}, format="json"
    )
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    clock.move_to(event.draw_at + timedelta(minutes=1))
    won = Entry.objects.get(event=event, prize__isnull=False).user
    lost = runner_up if won == person else person
    client_for(won).post(
        f"/api/v1/events/{event.public_id}/claim", {"address": ADDRESS}, format="json"
    )
    owner = client_for(creator)
    owner.get(f"/api/v1/events/{event.public_id}/claims")
    owner.get(f"/api/v1/events/{event.public_id}/claims.csv")
    claim = Claim.objects.get(event=event)
    owner.post(
        f"/api/v1/events/{event.public_id}/claims/{claim.public_id}/ship",
        {"carrier": "顺丰", "tracking_number": "SF4477"},
        format="json",
    )
    client.force_login(staff)
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [lost.pk], "apply": "1",
         "reason": "duplicate_account"},
    )  # fmt: skip
    client.get(reverse("admin:events_claim_change", args=[claim.pk]))
    spammer = UserFactory(nickname="刷单小王", privacy_version="v1")
    spam = EventFactory(creator=spammer)
    client_for(outsider).post(
        f"/api/v1/events/{spam.public_id}/report", {"reason": "fraud"}, format="json"
    )
    queue = reverse("admin:events_moderationcase_changelist")
    for action in ("cancel_events", "ban_creators"):
        client.post(
            queue,
            {"action": action, "_selected_action": [spam.pk], "apply": "1", "reason": "fraud"},
        )
    client_for(won).get("/api/v1/me/data")
    client_for(won).delete("/api/v1/me")
    clock.move_to(timezone.now() + timedelta(days=60))
    from events.tasks import claims_sweep

    claims_sweep()

    personal = [
        "李雷雷", "韩梅梅", "刷单小王", "o-winner", runner_up.openid, spammer.openid,
        *ADDRESS.values(), "SF4477",
    ]  # fmt: skip
    for model in LOG_MODELS:
        text = _text_of(model)
        leaked = [value for value in personal if value in text]
        assert leaked == [], model.__name__
    for model in (EventLog, UserActionLog, ClaimAccess, PromotionRecord, LogEntry):
        assert model.objects.exists(), model.__name__
    lines = "\n".join(record.getMessage() for record in caplog.records)
    assert [value for value in personal if value in lines] == []
    assert Report.objects.filter(event=event).exists()
    assert Delivery.objects.filter(user=won).count() == 0
