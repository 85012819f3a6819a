"""Entry conditions (issue 24): each condition, each refusal's own code, the rules frozen from
the first join, WeChat's group data decrypted as WeChat encrypts it, the risk gate against a
fake WeChat over HTTP, and what WeChat's rules (5.1) forbid refused by name.

Personas: the creator sets the conditions, an entrant meets them (or not), an outsider is
anyone else. Time is frozen at NOW.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from draws import services as draw_services
from events import conditions, read_model
from events.models import Entry, Event
from events.services.entries import entry_join
from events.services.events import event_update
from lottery_site.errors import ApplicationError
from lottery_site.throttling import COUNTS, WindowCounts
from tests.conftest import client_for, data, refused, url
from tests.factories import EventFactory, UserFactory, event_payload
from tests.fake_wechat import FakeWeChat, group_data, new_session_key

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
GROUP = "tGx9Ab3-group_opengid_0001"
OTHER_GROUP = "tGx9Ab3-group_opengid_0002"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def create(user, **conditions_):
    payload = event_payload(conditions=conditions_)
    response = client_for(user).post("/api/v1/events", payload, format="json")
    assert response.status_code == 201, response.content
    return data(response)["id"]


def join(user, event_id, **body):
    return client_for(user).post(url(event_id, "/entry"), body, format="json")


def seasoned():
    """An entrant whose account is a month old (a new account is a flag of its own)."""
    return UserFactory(created_at=NOW - timedelta(days=30))


def with_session_key(user):
    user.session_key = new_session_key()
    user.save(update_fields=["session_key"])
    return user


# --- password -------------------------------------------------------------------------------


def test_entrant_with_the_password_joins_whatever_its_width_case_and_spaces(creator, entrant):
    event_id = create(creator, password="New Year  ２０２７")
    response = join(entrant, event_id, password="  new year 2027 ")
    assert response.status_code == 201, response.content
    assert Entry.objects.filter(event__public_id=event_id, user=entrant).exists()


def test_join_without_the_password_is_refused_with_its_own_code(creator, entrant):
    event_id = create(creator, password="芝麻开门")
    assert refused(join(entrant, event_id), 400, 40040)
    assert not Entry.objects.exists()


def test_wrong_password_is_refused_with_its_own_code_in_chinese_or_english(creator, entrant):
    event_id = create(creator, password="芝麻开门")
    response = join(entrant, event_id, password="芝麻关门")
    assert refused(response, 400, 40041) and response.json()["msg"] == "口令不正确"
    english = client_for(entrant).post(
        url(event_id, "/entry"), {"password": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json()["msg"] == "The password is wrong."


def test_the_password_is_never_shown_in_the_detail_the_square_or_the_proof(creator, entrant):
    event_id = create(creator, password="芝麻开门", question=None)
    event = Event.objects.get(public_id=event_id)
    stored = event.entry_conditions["password"]
    texts = [
        client_for(entrant).get(url(event_id)).content.decode(),
        client_for(creator).get(url(event_id)).content.decode(),
        client_for(entrant).get(url(event_id, "/proof")).content.decode(),
    ]
    for text in texts:
        assert "芝麻开门" not in text and stored["hash"] not in text and stored["salt"] not in text
    assert data(client_for(entrant).get(url(event_id)))["conditions"] == [{"kind": "password"}]


def test_wrong_passwords_are_limited_per_user_and_event(creator, entrant, outsider, clock):
    event_id, other_id = create(creator, password="芝麻开门"), create(creator, password="芝麻开门")
    for _ in range(5):
        assert refused(join(entrant, event_id, password="错"), 400, 40041)

    # The sixth try is refused before anything is compared, even the right password.
    limited = join(entrant, event_id, password="芝麻开门")
    assert refused(limited, 429, 42920)
    assert 0 < data(limited)["retry_after"] <= 601
    assert int(limited["Retry-After"]) == int(data(limited)["retry_after"])
    # Another entrant, or another event, is not affected.
    assert join(outsider, event_id, password="芝麻开门").status_code == 201
    assert join(entrant, other_id, password="芝麻开门").status_code == 201
    # The next window lets the entrant try again.
    clock.shift(timedelta(seconds=601))
    assert join(entrant, event_id, password="芝麻开门").status_code == 201


@pytest.mark.redis
def test_wrong_passwords_counted_in_one_process_are_refused_in_another(creator, entrant):
    """Each wrong try is pushed to Redis at once; another process learns the total with its own
    next wrong try, and refuses from then on (at most one try more than the limit there)."""
    event = Event.objects.get(public_id=create(creator, password="芝麻开门"))
    ref = read_model.ref_of(event)

    def attempt(password):
        answers = conditions.Answers(password=password)
        with pytest.raises(ApplicationError) as refusal:
            conditions.check(ref.conditions, event_pk=event.pk, event_created_at=event.created_at,
                             user=entrant, answers=answers, client_ip="", now=timezone.now())  # fmt: skip
        return refusal.value.name

    assert [attempt("错") for _ in range(5)] == ["entry_password_wrong"] * 5
    other = WindowCounts()  # a second process: its own counts, the same Redis
    original = conditions.COUNTS
    conditions.COUNTS = other
    try:
        assert attempt("错") == "entry_password_wrong"  # not known here yet: compared
        assert attempt("芝麻开门") == "entry_attempts_exceeded"  # the total came back
    finally:
        conditions.COUNTS = original
        other.clear()


# --- question -------------------------------------------------------------------------------

QUESTION = {
    "text": "本店的招牌菜是？",
    "choices": ["宫保鸡丁", "鱼香肉丝", "麻婆豆腐"],
    "answer": 2,
}


def test_the_right_answer_joins_and_the_answer_is_never_shown(creator, entrant):
    event_id = create(creator, question=QUESTION)
    detail = data(client_for(entrant).get(url(event_id)))
    assert detail["conditions"] == [
        {"kind": "question", "text": QUESTION["text"], "choices": QUESTION["choices"]}
    ]
    assert "answer" not in json.dumps(detail)
    assert join(entrant, event_id, answer=2).status_code == 201


def test_a_missing_or_wrong_answer_is_refused_each_with_its_own_code(creator, entrant):
    event_id = create(creator, question=QUESTION)
    assert refused(join(entrant, event_id), 400, 40042)
    assert refused(join(entrant, event_id, answer=0), 400, 40043)


def test_wrong_answers_are_limited_so_choices_cannot_be_tried_one_by_one(creator, entrant):
    event_id = create(creator, question={**QUESTION, "choices": [*"ABCDEF"], "answer": 5})
    for answer in range(5):
        assert refused(join(entrant, event_id, answer=answer), 400, 40043)
    assert refused(join(entrant, event_id, answer=5), 429, 42920)


def test_a_question_whose_answer_is_not_a_choice_is_refused(creator):
    payload = event_payload(conditions={"question": {**QUESTION, "answer": 3}})
    response = client_for(creator).post("/api/v1/events", payload, format="json")
    assert refused(response, 400, 40000) and "question" in data(response)["conditions"]


# --- new users ------------------------------------------------------------------------------


def test_new_users_only_admits_accounts_created_after_the_event(creator):
    older = UserFactory(created_at=NOW - timedelta(minutes=1))
    event_id = create(creator, new_users={"rule": "after_event"})
    newer = UserFactory(created_at=NOW + timedelta(seconds=1))

    assert refused(join(older, event_id), 403, 40331)
    assert join(newer, event_id).status_code == 201


def test_new_users_within_days_counts_from_the_join(creator):
    event_id = create(creator, new_users={"rule": "within_days", "days": 7})
    assert refused(join(UserFactory(created_at=NOW - timedelta(days=8)), event_id), 403, 40331)
    assert join(UserFactory(created_at=NOW - timedelta(days=6)), event_id).status_code == 201
    detail = data(client_for(creator).get(url(event_id)))
    assert detail["conditions"] == [{"kind": "new_users", "rule": "within_days", "days": 7}]


# --- group only -----------------------------------------------------------------------------


def test_a_member_of_the_creators_group_joins_and_another_groups_member_does_not(
    creator, entrant, outsider
):
    with_session_key(creator), with_session_key(entrant), with_session_key(outsider)
    event_id = create(creator, group=group_data(GROUP, session_key=creator.session_key))

    member = join(entrant, event_id, group=group_data(GROUP, session_key=entrant.session_key))
    assert member.status_code == 201, member.content
    stranger = group_data(OTHER_GROUP, session_key=outsider.session_key)
    assert refused(join(outsider, event_id, group=stranger), 403, 40330)


def test_the_group_is_never_named_in_the_detail_nor_in_the_published_record(creator, entrant):
    with_session_key(creator)
    event_id = create(creator, group=group_data(GROUP, session_key=creator.session_key))
    event = Event.objects.get(public_id=event_id)
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)

    proof = data(client_for(entrant).get(url(event_id, "/proof")))
    assert proof["conditions_record"]["group"].keys() == {"salt", "hash"}
    for text in (json.dumps(proof), client_for(entrant).get(url(event_id)).content.decode()):
        assert GROUP not in text


def test_join_without_group_data_is_told_to_open_the_event_from_the_group(creator, entrant):
    with_session_key(creator)
    event_id = create(creator, group=group_data(GROUP, session_key=creator.session_key))
    assert refused(join(entrant, event_id), 400, 40044)


def test_data_the_stored_session_key_cannot_open_asks_for_a_new_login(creator, entrant):
    """The client called wx.login again and we were not told: its data is encrypted with a key
    we do not hold. Or we never had one (a development login)."""
    with_session_key(creator), with_session_key(entrant)
    event_id = create(creator, group=group_data(GROUP, session_key=creator.session_key))
    stale = group_data(GROUP, session_key=new_session_key())
    response = join(entrant, event_id, group=stale)
    assert refused(response, 400, 40011) and "重新登录" in response.json()["msg"]

    entrant.session_key = ""
    entrant.save(update_fields=["session_key"])
    assert refused(join(entrant, event_id, group=stale), 400, 40011)


def test_data_made_for_another_mini_program_is_refused(creator, entrant):
    with_session_key(creator), with_session_key(entrant)
    event_id = create(creator, group=group_data(GROUP, session_key=creator.session_key))
    foreign = group_data(GROUP, session_key=entrant.session_key, appid="wx-another-app")
    assert refused(join(entrant, event_id, group=foreign), 400, 40045)
    # A one-to-one chat has no opengid: not a group.
    single = group_data("", session_key=entrant.session_key)
    assert refused(join(entrant, event_id, group=single), 400, 40045)


def test_chat_tool_data_without_a_watermark_is_taken(creator, entrant):
    with_session_key(creator), with_session_key(entrant)
    event_id = create(creator, group=group_data(GROUP, session_key=creator.session_key))
    chat_tool = group_data(GROUP, session_key=entrant.session_key, appid=None)
    assert join(entrant, event_id, group=chat_tool).status_code == 201


def test_the_creator_binds_the_group_with_their_own_fresh_session(creator):
    creator.session_key = ""
    creator.save(update_fields=["session_key"])
    payload = event_payload(conditions={"group": group_data(GROUP, session_key=new_session_key())})
    response = client_for(creator).post("/api/v1/events", payload, format="json")
    assert refused(response, 400, 40011)
    assert not Event.objects.exists()


def test_the_session_key_never_leaves_the_server(creator, entrant):
    with_session_key(creator), with_session_key(entrant)
    event_id = create(creator, group=group_data(GROUP, session_key=creator.session_key))
    responses = [
        join(entrant, event_id, group=group_data(GROUP, session_key=entrant.session_key)),
        join(entrant, event_id, group=group_data(GROUP, session_key=new_session_key())),
        client_for(entrant).get(url(event_id)),
        client_for(entrant).get("/api/v1/me"),
    ]
    for response in responses:
        body = response.content.decode()
        assert entrant.session_key not in body and creator.session_key not in body


# --- the risk gate --------------------------------------------------------------------------


@pytest.fixture
def fake_wechat(settings):
    with FakeWeChat() as fake:
        settings.WECHAT_API_BASE = fake.url
        yield fake


def test_the_risk_gate_asks_wechat_for_the_marketing_scene_with_the_entrants_address(
    creator, entrant, fake_wechat
):
    event_id = create(creator, risk={"threshold": 3, "when_unavailable": "refuse"})
    response = client_for(entrant).post(url(event_id, "/entry"), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 201, response.content
    assert fake_wechat.state.risk_requests == [
        {"appid": "wx-test-app", "openid": entrant.openid, "scene": 1, "client_ip": "203.0.113.9"}
    ]
    assert Entry.objects.get(user=entrant).risk_rank == 0


def test_a_rank_at_the_threshold_is_refused_saying_what_decided_it(creator, entrant, fake_wechat):
    fake_wechat.state.risk_ranks[entrant.openid] = 3
    event_id = create(creator, risk={"threshold": 3, "when_unavailable": "admit"})
    response = join(entrant, event_id)
    assert refused(response, 403, 40332)
    assert data(response) == {"rank": 3, "threshold": 3}
    assert "营销作弊" in response.json()["msg"]


def test_a_rank_below_the_threshold_joins_and_is_flagged_for_the_creator(creator, fake_wechat):
    entrant = seasoned()
    fake_wechat.state.risk_ranks[entrant.openid] = 2
    event_id = create(creator, risk={"threshold": 3, "when_unavailable": "admit"})
    assert join(entrant, event_id).status_code == 201
    flags = data(client_for(creator).get(url(event_id, "/flags")))["flagged"]
    assert [(flag["entrant"], flag["reasons"]) for flag in flags] == [
        (entrant.public_id, ["risk_elevated"])
    ]


@pytest.mark.parametrize("down", ["unreachable", "busy"])
def test_wechat_down_admits_when_the_creator_chose_to_and_says_so(
    creator, settings, fake_wechat, down
):
    entrant = seasoned()
    event_id = create(creator, risk={"threshold": 2, "when_unavailable": "admit"})
    if down == "unreachable":
        settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # discard: nothing listens
    else:
        fake_wechat.state.risk_errcodes.append(-1)
    assert join(entrant, event_id).status_code == 201
    assert Entry.objects.get(user=entrant).risk_rank == conditions.RISK_UNCHECKED
    detail = data(client_for(entrant).get(url(event_id)))
    assert detail["conditions"] == [
        {"kind": "risk", "threshold": 2, "when_unavailable": "admit", "scene": "marketing"}
    ]
    flags = data(client_for(creator).get(url(event_id, "/flags")))["flagged"]
    assert flags[0]["reasons"] == ["risk_unchecked"]


def test_wechat_down_refuses_when_the_creator_chose_to(creator, entrant, settings, fake_wechat):
    event_id = create(creator, risk={"threshold": 2, "when_unavailable": "refuse"})
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"
    assert refused(join(entrant, event_id), 503, 50303)
    assert not Entry.objects.exists()


# --- several conditions, repeats, closed events ---------------------------------------------


def test_conditions_combine_and_each_unmet_one_is_named(creator):
    event_id = create(creator, password="芝麻开门", question=QUESTION)
    newcomer = UserFactory()
    assert refused(join(newcomer, event_id, password="芝麻开门"), 400, 40042)
    assert refused(join(newcomer, event_id, answer=2), 400, 40040)
    assert join(newcomer, event_id, answer=2, password="芝麻开门").status_code == 201


def test_a_repeated_join_returns_the_entry_even_without_the_answers(creator, entrant):
    event_id = create(creator, password="芝麻开门")
    assert join(entrant, event_id, password="芝麻开门").status_code == 201
    again = join(entrant, event_id)  # the SDK retrying without its body, say
    assert again.status_code == 200 and data(again)["joined"] is True


def test_a_closed_event_says_it_is_closed_before_any_condition(creator, entrant, clock):
    event_id = create(creator, password="芝麻开门")
    clock.move_to(Event.objects.get(public_id=event_id).lock_at, tick=False)
    assert refused(join(entrant, event_id, password="错"), 409, 40901)


# --- frozen from the first join -------------------------------------------------------------


def test_the_creator_changes_the_conditions_before_anyone_joins(creator, entrant):
    event_id = create(creator, password="芝麻开门")
    response = client_for(creator).put(
        url(event_id),
        {"conditions": {"password": None, "question": QUESTION}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert data(response)["conditions"][0]["kind"] == "question"
    assert join(entrant, event_id, answer=2).status_code == 201


def test_conditions_are_frozen_from_the_first_join_even_after_it_was_withdrawn(creator, entrant):
    event_id = create(creator, password="芝麻开门")
    assert join(entrant, event_id, password="芝麻开门").status_code == 201
    change = {"conditions": {"password": "新口令"}}
    assert refused(client_for(creator).put(url(event_id), change, format="json"), 409, 40912)

    client_for(entrant).delete(url(event_id, "/entry"))
    assert refused(client_for(creator).put(url(event_id), change, format="json"), 409, 40912)
    # Other edits are still taken.
    retitled = client_for(creator).put(url(event_id), {"title": "改名了"}, format="json")
    assert retitled.status_code == 200


def test_a_process_holding_the_old_conditions_checks_the_new_ones(creator, entrant):
    """The reference memo of a process may hold the conditions as they were; the gate admits
    only under the version it checked, so the join is checked again."""
    event = EventFactory(creator=creator)
    stale = read_model.event_ref(public_id=event.public_id)  # remembered: no conditions
    event_update(event=event, actor=creator, now=NOW, conditions={"password": "芝麻开门"})
    assert read_model.event_ref(public_id=event.public_id) is stale  # this process's memo

    with pytest.raises(ApplicationError) as refusal:
        entry_join(event=stale, user=entrant, now=NOW)
    assert refusal.value.name == "entry_password_required"
    entry, created = entry_join(
        event=stale, user=entrant, now=NOW, answers=conditions.Answers(password="芝麻开门")
    )
    assert created and Event.objects.get(pk=event.pk).participant_count == 1


def test_outsider_cannot_change_the_conditions(creator, outsider):
    event_id = create(creator, password="芝麻开门")
    change = {"conditions": {"password": None}}
    assert refused(client_for(outsider).put(url(event_id), change, format="json"), 403, 40301)


# --- the committed rules --------------------------------------------------------------------


def test_the_proof_commits_to_the_conditions_and_reveals_them_once_entries_close(creator, entrant):
    event_id = create(creator, password="芝麻开门", new_users={"rule": "within_days", "days": 3})
    before = data(client_for(entrant).get(url(event_id, "/proof")))
    assert before["conditions_record"] is None
    assert [item["kind"] for item in before["conditions"]] == ["password", "new_users"]

    event = Event.objects.get(public_id=event_id)
    draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    after = data(client_for(entrant).get(url(event_id, "/proof")))
    record = after["conditions_record"]
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == after["conditions_digest"]
    assert after["conditions_digest"] == before["conditions_digest"]
    # The phrase can be checked against the revealed salt and hash.
    salt = bytes.fromhex(record["password"]["salt"])
    assert hashlib.sha256(salt + "芝麻开门".encode()).hexdigest() == record["password"]["hash"]


def test_an_event_without_conditions_commits_to_none(entrant):
    event = EventFactory()
    proof = data(client_for(entrant).get(url(event, "/proof")))
    assert (proof["conditions"], proof["conditions_digest"], proof["exclusions"]) == ([], None, [])


# --- what WeChat's rules forbid -------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("require_follow", True, 40050),
        ("extra_chances_for_share", 3, 40051),
        ("invite_for_chances", 1, 40051),
        ("entry_fee", 100, 40052),
        ("display_count", 5000, 40053),
        ("base_count", 1000, 40053),
    ],
)
def test_what_wechats_rules_forbid_is_refused_by_the_rules_name(creator, field, value, code):
    response = client_for(creator).post(
        "/api/v1/events", event_payload(**{field: value}), format="json"
    )
    assert refused(response, 400, code)
    assert data(response) == {"field": field} and "5.1" in response.json()["msg"]
    assert not Event.objects.exists()


def test_forbidden_rules_are_refused_inside_the_conditions_and_on_an_edit(creator):
    inside = event_payload(conditions={"follow_official_account": "gh_123"})
    assert refused(client_for(creator).post("/api/v1/events", inside, format="json"), 400, 40050)
    event = EventFactory(creator=creator)
    edit = client_for(creator).put(url(event), {"entry_fee": 1}, format="json")
    assert refused(edit, 400, 40052)


# --- the join of an event without conditions -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_event_without_conditions_joins_in_one_round_trip_and_no_check(monkeypatch):
    """No query of its own, no counting of attempts, no condition looked at: the join's batch
    alone (events/join_sql.py), as before conditions existed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from events import join_sql

    looked = []
    monkeypatch.setattr(conditions, "check", lambda *a, **k: looked.append("check"))
    monkeypatch.setattr(COUNTS, "peek", lambda *a, **k: looked.append("peek") or 0)
    event = EventFactory()
    ref = read_model.event_ref(public_id=event.public_id)
    joiner = UserFactory()

    if connection.vendor != "mysql":  # SQLite: its own transaction, statement by statement
        with CaptureQueriesContext(connection) as queries:
            entry, created = entry_join(event=ref, user=joiner, now=timezone.now())
        # BEGIN, UPDATE, INSERT, COMMIT: as before conditions
        assert created and looked == [] and len(queries) == 4
        return
    batch = join_sql.batch_connection()
    with CaptureQueriesContext(connection) as queries, CaptureQueriesContext(batch) as batched:
        entry, created = entry_join(event=ref, user=joiner, now=timezone.now())
    assert created and looked == []
    assert len(queries) == 0 and len(batched) == 1


def test_the_detail_and_the_config_describe_the_conditions(creator, entrant, api):
    config = data(api.get("/api/v1/config"))["conditions"]
    assert config["kinds"] == ["password", "group", "new_users", "question", "risk"]
    assert config["risk"]["scene"] == "marketing" and config["attempts"]["limit"] == 5
    assert {rule["code"] for rule in config["forbidden"]} == {40050, 40051, 40052, 40053}
    assert data(client_for(entrant).get(url(EventFactory())))["conditions"] == []
