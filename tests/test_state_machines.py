"""Every state machine gets the Event treatment (issue 22, second part).

Claims, WeChat deliveries and moderation: one owner module writes each state column, each
transition is in one table (as data in the owner, as text in the model's docstring and in
docs/architecture.md) and is a conditional UPDATE whose row count decides. Claims have one
"expired" rule; a delivery's quota is a flag of its own, not its retry counter; an early lock
stores its due time instead of having it inferred from times; the sweeper's draw waits for the
reveal gap, as its comment now says.
"""

import ast
import importlib
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import responses
import time_machine
from cryptography.fernet import Fernet
from django.apps import apps
from django.utils import timezone

from draws import selectors as draw_selectors
from draws import services as draw_services
from draws import substitutions, tasks
from events import claims, moderation, selectors
from events.models import Claim, Entry, Event, EventLog
from events.services.entries import entry_join
from lottery_site.errors import ApplicationError
from notifications import services as notify_services
from notifications.models import Delivery, SubscriptionQuota
from tests.factories import EventFactory, StaffFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "accounts",
    "events",
    "draws",
    "notifications",
    "clientconfig",
    "wechat",
    "beacon",
    "lottery_site",
)
WRITES = {
    "update", "create", "delete", "bulk_create", "bulk_update", "get_or_create",
    "update_or_create", "save",
}  # fmt: skip
NOW = timezone.now().replace(microsecond=0) + timedelta(days=1)
MODELS = {model.__name__ for model in apps.get_models()}


# --- the static checks: who writes what ------------------------------------------------------


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = str(path.relative_to(ROOT))
            if "/migrations/" not in module:
                yield module, ast.parse(path.read_text())


def _root_model(call: ast.Call) -> str | None:
    """``Claim`` for ``Claim.objects....update(...)`` and ``Claim(...)``; else None."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if not (isinstance(func, ast.Attribute) and func.attr in WRITES):
        return None
    target = func.value
    while isinstance(target, ast.Call | ast.Attribute):
        if isinstance(target, ast.Attribute) and target.attr == "objects":
            return target.value.id if isinstance(target.value, ast.Name) else None
        target = target.func if isinstance(target, ast.Call) else target.value
    return None


def _writes(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr in WRITES


def _keywords(call: ast.Call) -> set[str]:
    """The columns a write call names: its keywords, bulk_update's field list."""
    names = {keyword.arg for keyword in call.keywords if keyword.arg}
    if isinstance(call.func, ast.Attribute) and call.func.attr == "bulk_update":
        for node in ast.walk(call):  # the list of fields it writes
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    return names


def _functions(tree: ast.AST):
    """(enclosing function's name, call) for every call of the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for child in ast.walk(node):
                if isinstance(child, ast.Call):
                    yield node.name, child


def writers_of_model(model: str, trees) -> set[str]:
    """Modules that write ``model`` through its manager or build one of its rows."""
    return {
        module
        for module, tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _root_model(node) == model
    }


def _spread_keys(function: ast.AST) -> set[str]:
    """Keys of the dicts a function builds (literals, ``changes["x"] = ...``), when one of its
    write calls takes ``**``: the columns it may write that way."""
    spreads = any(
        _writes(call) and any(keyword.arg is None for keyword in call.keywords)
        for call in ast.walk(function)
        if isinstance(call, ast.Call)
    )
    if not spreads:
        return set()
    keys = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Dict):
            keys |= {k.value for k in node.keys if isinstance(k, ast.Constant)}
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            keys |= {node.slice.value} if isinstance(node.slice, ast.Constant) else set()
    return keys


def writes_column(tree: ast.AST, column: str) -> bool:
    for node in ast.walk(tree):
        writes = isinstance(node, ast.Call) and (_writes(node) or _root_model(node) in MODELS)
        if writes and column in _keywords(node):
            return True
        if isinstance(node, ast.FunctionDef) and column in _spread_keys(node):
            return True
    return False


def writers_of_column(column: str, trees) -> set[str]:
    """Modules with a write call naming ``column`` (a keyword, bulk_update's field list, a key
    of a dict it spreads into a write), or building a model row with it."""
    return {module for module, tree in trees if writes_column(tree, column)}


def status_writes_outside(tree, *, column: str, helper: str) -> list[int]:
    """Lines of a module writing ``column`` in any function but ``helper``."""
    return sorted(
        call.lineno
        for name, call in _functions(tree)
        if name != helper and _writes(call) and column in _keywords(call)
    )


@pytest.fixture(scope="module")
def trees():
    return list(_modules())


def test_only_the_claims_module_writes_claims(trees):
    assert writers_of_model("Claim", trees) == {"events/claims.py"}


def test_every_change_of_a_claims_status_goes_through_the_one_helper():
    tree = ast.parse((ROOT / "events" / "claims.py").read_text())
    assert status_writes_outside(tree, column="status", helper="_move") == []


def test_only_notifications_write_deliveries_and_every_state_change_goes_through_the_helper(
    trees,
):
    assert writers_of_model("Delivery", trees) == {"notifications/services.py"}
    tree = ast.parse((ROOT / "notifications" / "services.py").read_text())
    assert status_writes_outside(tree, column="state", helper="_move") == []


@pytest.mark.parametrize(
    ("column", "owners"),
    [
        ("moderation", {"events/moderation.py", "accounts/services.py"}),  # events; pictures
        ("text_unchecked", {"events/services/events.py"}),
        ("nickname_unchecked", {"accounts/services.py"}),
        ("quota_held", {"notifications/services.py"}),
        ("early_lock_at", {"draws/services.py"}),
    ],
)
def test_each_flag_and_moderation_state_has_one_owner(trees, column, owners):
    assert writers_of_column(column, trees) == owners


def test_the_event_moderation_owner_writes_no_other_models_moderation(trees):
    [tree] = [tree for module, tree in trees if module == "accounts/services.py"]
    uploads = [
        _root_model(call)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and _writes(call) and "moderation" in _keywords(call)
    ]
    assert set(uploads) == {"Upload"}


def test_the_static_checks_find_a_stray_write():
    source = ast.parse(
        """
def claim_cheat(*, pk):
    Claim.objects.filter(pk=pk).update(status="shipped")

def _move(rows):
    rows.update(state="sent")

def retry(rows):
    Delivery.objects.bulk_update(rows, ["state", "errmsg"])

def hide(event):
    Event.objects.filter(pk=event.pk).update(moderation="hidden")

def recheck(user):
    changes = {}
    changes["nickname_unchecked"] = False
    User.objects.filter(pk=user.pk).update(**changes)

def queue():
    return Event.objects.filter(Q(text_unchecked=True))
"""
    )
    trees = [("x.py", source)]
    assert writers_of_model("Claim", trees) == {"x.py"}
    assert writers_of_model("Delivery", trees) == {"x.py"}
    assert writers_of_column("moderation", trees) == {"x.py"}
    assert writers_of_column("nickname_unchecked", trees) == {"x.py"}
    assert writers_of_column("text_unchecked", trees) == set()  # a filter writes nothing
    assert status_writes_outside(source, column="state", helper="_move") == [9]
    assert status_writes_outside(source, column="status", helper="_move") == [3]


# --- the tables: as data, in the model, in the docs -------------------------------------------

ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def _section(title: str) -> str:
    start = ARCHITECTURE.index(f"### {title}")
    return ARCHITECTURE[start : ARCHITECTURE.index("\n### ", start + 1)]


def _docstring_rows(doc: str) -> set[tuple[str, str]]:
    """(from, to) of the rows of the first table in an RST docstring (``(none)`` as None)."""
    rows, tables = set(), 0
    for line in doc.splitlines():
        words = line.split()
        if words and set(words[0]) == {"="}:
            tables += 1
            continue
        starts_a_row = words[:1] == ["(none)"] or (words and words[0].isupper())
        if tables == 2 and len(words) >= 2 and starts_a_row:
            rows.add((None if words[0] == "(none)" else words[0].lower(), words[1].lower()))
    return rows


def test_the_claim_table_is_the_same_in_the_code_the_model_and_the_docs():
    table = {(source, target) for source, target in claims.TRANSITIONS}
    assert _docstring_rows(Claim.__doc__) == table
    docs = _section("Claim")
    for (source, target), owners in claims.TRANSITIONS.items():
        for owner in owners:
            row = f"| {f'`{source}`' if source else '(none)'} | `{target}` |"
            assert row in docs and f"events.claims.{owner}`" in docs, (row, owner)
            assert f"events.claims.{owner}``" in Claim.__doc__


def test_the_delivery_table_is_the_same_in_the_code_the_model_and_the_docs():
    assert _docstring_rows(Delivery.__doc__) == set(notify_services.TRANSITIONS)
    docs = [line.split("|") for line in _section("Delivery").splitlines() if line.startswith("| ")]
    for (source, target), owners in notify_services.TRANSITIONS.items():
        rows = [
            row
            for row in docs
            if (f"`{source}`" in row[1] if source else "(none)" in row[1])
            and f"`{target}`" in row[2]
        ]
        for owner in owners:
            assert any(f"`{owner}`" in row[4] for row in rows), (source, target, owner)


def test_the_moderation_table_is_the_same_in_the_code_the_model_and_the_docs():
    doc = Event.__doc__[Event.__doc__.index("The moderation state") :]
    assert _docstring_rows(doc) == set(moderation.TRANSITIONS)
    docs = _section("Moderation")
    for (source, target), action in moderation.TRANSITIONS.items():
        assert any(
            f"`{source}`" in line.split("|")[1]
            and f"`{target}`" in line.split("|")[2]
            and line.rstrip(" |").endswith(action)
            for line in docs.splitlines()
            if line.startswith("| `")
        ), (source, target)


def test_a_claim_transition_the_table_does_not_have_is_refused():
    with pytest.raises(ValueError):
        claims._move(1, to=Claim.Status.CLAIMED, from_=(Claim.Status.SHIPPED,), by="claim_submit")
    with pytest.raises(ValueError):  # listed, but not this owner's
        claims._move(1, to=Claim.Status.SHIPPED, from_=(Claim.Status.CLAIMED,), by="claim_submit")
    with pytest.raises(ValueError):
        claims._move(1, to=Claim.Status.UNCLAIMED, from_=(Claim.Status.FORFEITED,), by="x")


def test_a_delivery_transition_the_table_does_not_have_is_refused():
    with pytest.raises(ValueError):
        notify_services._move(
            Delivery.objects.none(), to="sent", from_=("pending",), by="deliveries_send"
        )
    with pytest.raises(ValueError):
        notify_services._move(
            Delivery.objects.none(), to="pending", from_=("failed",), by="deliveries_send"
        )


# --- claims: one "expired" ------------------------------------------------------------------


@pytest.fixture
def keys(settings):
    settings.CLAIM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.LOTTERY_MAX_SUBSTITUTIONS = 3


def drawn_event(creator, *, entrants=3):
    """A one-unit contact-delivery event drawn at its draw time: (event, winner's entry)."""
    event = EventFactory(
        creator=creator,
        now=NOW,
        draw_at=NOW + timedelta(hours=1),
        prizes=[{"name": "大奖", "quantity": 1}],
        delivery="contact",
        claim_days=2,
    )
    for user in UserFactory.create_batch(entrants):
        entry_join(event=event, user=user, now=NOW)
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    winner = Entry.objects.select_related("user").get(event=event, prize__isnull=False)
    return event, winner


def everyone_says(event, winner, *, now) -> dict:
    """What each reader of a claim's state makes of it at ``now``."""
    entry = Entry.objects.select_related("event").get(pk=winner.pk)
    return {
        "winner": claims.claim_for_winner(event=event, user=winner.user, now=now)["state"],
        "my_entry": selectors.claim_of_entry(entry, now=now)["state"],
        "creator's filter": [
            state
            for state in ("unclaimed", "expired")
            if claims.winning_entries(event, state=state, now=now).exists()
        ],
        "expiry sweeper": bool(draw_selectors.claims_due_for_expiry(now=now)),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("with_row", [False, True])
def test_expired_means_the_same_to_everyone_from_the_deadline_on(creator, keys, with_row):
    event, winner = drawn_event(creator)
    deadline = event.drawn_at + timedelta(days=event.claim_days)
    if with_row:  # reminded: the claim row exists before the deadline
        claims.claims_remind_due(now=deadline - timedelta(hours=1))
    before = deadline - timedelta(seconds=1)
    substitutions.claims_open_expired(now=before)

    assert everyone_says(event, winner, now=before) == {
        "winner": "unclaimed",
        "my_entry": "unclaimed",
        "creator's filter": ["unclaimed"],
        "expiry sweeper": False,
    }
    substitutions.claims_open_expired(now=deadline)  # the sweep gives it a row, if it had none
    assert everyone_says(event, winner, now=deadline) == {
        "winner": "expired",
        "my_entry": "expired",
        "creator's filter": ["expired"],
        "expiry sweeper": True,
    }
    assert claims.claims_remind_due(now=deadline) == []
    with pytest.raises(ApplicationError) as refused:
        claims.claim_submit(event=event, user=winner.user, now=deadline, address=None)
    assert refused.value.name == "claim_expired"


@pytest.mark.django_db
def test_a_forfeit_and_an_alternates_offer_are_made_by_the_claims_module(creator, keys, caplog):
    event, winner = drawn_event(creator)
    caplog.set_level(logging.INFO, logger="events.claims")

    substitution = substitutions.winner_disqualify(
        event=event, actor=creator, user_key=winner.user_key, reason="ineligible", now=NOW
    )

    lost = Claim.objects.get(entry=winner)
    offered = Claim.objects.get(entry_id=substitution.replacement_id)
    assert (lost.status, offered.status, offered.offered_at) == ("forfeited", "unclaimed", NOW)
    moves = [r.getMessage() for r in caplog.records if r.name == "events.claims"]
    assert f"claim {lost.pk}: unclaimed|claimed -> forfeited (claim_forfeit)" in moves
    assert f"claim {offered.pk}: (none) -> unclaimed (claim_offer)" in moves


# --- the early lock: stored, not inferred ------------------------------------------------------


@pytest.mark.django_db
def test_a_count_target_stores_its_early_lock_and_the_draw_is_due_from_it(creator):
    event = EventFactory(
        creator=creator, now=NOW, draw_at=NOW + timedelta(hours=1),
        draw_mode="count", target_participants=2,
    )  # fmt: skip
    reached = NOW + timedelta(minutes=5)
    for user in UserFactory.create_batch(2):
        entry_join(event=event, user=user, now=reached)

    assert draw_services.event_lock(event_id=event.pk, now=reached + timedelta(seconds=3))

    event.refresh_from_db()
    assert (event.early_lock_at, event.draw_due_at) == (reached, reached)
    assert draw_selectors.events_due_for_draw(now=reached + timedelta(seconds=3)) == [event.pk]
    grace = tasks.OVERDUE_AFTER
    assert draw_selectors.overdue_counts(now=reached + 2 * grace, grace=grace)["draw"] == 1
    assert EventLog.objects.get(event=event, action="lock").reason == "target reached"


@pytest.mark.django_db
def test_a_manual_draw_stores_its_early_lock(creator):
    event = EventFactory(creator=creator, now=NOW, draw_mode="manual")
    entry_join(event=event, user=UserFactory(), now=NOW)
    event.refresh_from_db()
    at = NOW + timedelta(minutes=1)

    draw_services.event_draw_early(event=event, actor=creator, now=at)

    event.refresh_from_db()
    assert (event.lock_at, event.early_lock_at, event.draw_due_at) == (at, at, at)


@pytest.mark.django_db
def test_an_event_locked_on_schedule_waits_for_its_draw_time_whatever_the_lock_lead(
    creator, settings
):
    """Bug fix: "locked early" was ``lock_at < draw_at - LOTTERY_LOCK_LEAD_SECONDS``; lowering
    that setting made every event locked on schedule with the old lead look early, and the
    sweeper drew it before its draw time."""
    event = EventFactory(creator=creator, now=NOW, draw_at=NOW + timedelta(hours=1))
    entry_join(event=event, user=UserFactory(), now=NOW)
    event.refresh_from_db()
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    settings.LOTTERY_LOCK_LEAD_SECONDS = 5  # a deploy shortened the lead
    event.refresh_from_db()
    before_draw = event.draw_at - timedelta(seconds=1)

    assert event.early_lock_at is None
    assert draw_selectors.events_due_for_draw(now=before_draw) == []
    assert not draw_services.event_draw(event_id=event.pk, now=before_draw)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)


@pytest.mark.django_db
def test_the_migration_stores_the_early_locks_of_events_locked_before_it(creator):
    count = EventFactory(
        creator=creator, now=NOW, draw_mode="count", target_participants=1
    )  # fmt: skip
    manual = EventFactory(creator=creator, now=NOW, draw_mode="manual")
    scheduled = EventFactory(creator=creator, now=NOW, draw_mode="count", target_participants=5)
    for event in (count, manual, scheduled):
        entry_join(event=event, user=UserFactory(), now=NOW)
        event.refresh_from_db()
    draw_services.event_draw_early(event=manual, actor=creator, now=NOW + timedelta(minutes=1))
    for event in (count, scheduled):
        event.refresh_from_db()
        draw_services.event_lock(event_id=event.pk, now=max(event.lock_at, NOW))
    Event.objects.update(early_lock_at=None)  # as the previous release left them
    migration = importlib.import_module("events.migrations.0014_early_lock_at")

    migration.store_early_locks(apps, None)

    stored = dict(Event.objects.values_list("pk", "early_lock_at"))
    assert stored == {count.pk: NOW, manual.pk: NOW + timedelta(minutes=1), scheduled.pk: None}


# --- the sweeper: an overdue event is drawn after its reveal gap -----------------------------


@pytest.mark.django_db
def test_an_overdue_event_is_locked_by_a_sweep_and_drawn_by_the_first_sweep_after_its_gap(
    creator, settings
):
    settings.LOTTERY_REVEAL_GAP_SECONDS = 10
    event = EventFactory(creator=creator, now=NOW, draw_at=NOW + timedelta(hours=1))
    entry_join(event=event, user=UserFactory(), now=NOW)
    overdue = event.draw_at + timedelta(hours=3)  # an outage: both lock and draw long due

    with time_machine.travel(overdue, tick=False):
        tasks.sweep()
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING  # locked, not drawn "straight away"
    with time_machine.travel(overdue + timedelta(seconds=9), tick=False):
        tasks.sweep()
    event.refresh_from_db()
    assert event.status == Event.Status.OPENING
    with time_machine.travel(overdue + timedelta(seconds=10), tick=False):
        tasks.sweep()
    event.refresh_from_db()
    assert (event.status, event.drawn_at) == (
        Event.Status.OPENED,
        overdue + timedelta(seconds=10),
    )


# --- deliveries: the quota flag ---------------------------------------------------------------

STABLE_TOKEN = "https://wechat.test/cgi-bin/stable_token"
SUBSCRIBE_SEND = "https://wechat.test/cgi-bin/message/subscribe/send"
RESULT = "tpl-result"


@pytest.fixture
def templates(settings):
    settings.NOTIFY_TEMPLATES = {
        "result": {
            "id": RESULT,
            "fields": {"title": "thing1", "result": "thing2", "draw_at": "time3"},
        },
    }


def wechat_answers(wechat, *errcodes):
    wechat.add(responses.POST, STABLE_TOKEN, json={"access_token": "AT-1", "expires_in": 7200})
    for errcode in errcodes:
        wechat.add(responses.POST, SUBSCRIBE_SEND, json={"errcode": errcode, "errmsg": "x"})


def sends(wechat) -> list[dict]:
    return [
        json.loads(call.request.body)
        for call in wechat.calls
        if call.request.url.split("?")[0] == SUBSCRIBE_SEND
    ]


def quota(user) -> int:
    return SubscriptionQuota.objects.get(user=user, template_id=RESULT).quota


def a_result_to_send(entrant, *, units: int) -> Delivery:
    """A drawn event whose result ``entrant`` (holding ``units``) is to be told, recorded."""
    for _ in range(units):
        notify_services.subscription_accept(user=entrant, template_ids=[RESULT])
    start = timezone.now() - timedelta(hours=2)
    event = EventFactory(now=start, draw_at=start + timedelta(hours=1))
    entry_join(event=event, user=entrant, now=start)
    draw_services.event_lock(event_id=event.pk, now=event.draw_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    log = EventLog.objects.get(event=event, action="draw")
    notify_services.outbox_fan_out(log_id=log.pk, now=timezone.now())
    return Delivery.objects.get(event=event, user=entrant)


def send(delivery, *, at=None) -> Delivery:
    notify_services.deliveries_send(delivery_ids=[delivery.pk], now=at or timezone.now())
    delivery.refresh_from_db()
    return delivery


@pytest.mark.django_db
def test_a_delivery_takes_its_unit_at_its_first_send_and_a_retry_takes_none(wechat, templates):
    wechat_answers(wechat, -1, 0)  # busy, then accepted
    entrant = UserFactory()
    delivery = a_result_to_send(entrant, units=1)
    assert not delivery.quota_held

    delivery = send(delivery)
    assert (delivery.state, delivery.quota_held, quota(entrant)) == ("retrying", True, 0)
    delivery = send(delivery, at=timezone.now() + timedelta(hours=1))

    assert (delivery.state, delivery.attempts, delivery.quota_held) == ("sent", 2, True)
    assert quota(entrant) == 0 and len(sends(wechat)) == 2


@pytest.mark.django_db
def test_a_failure_on_our_side_gives_the_unit_back_with_the_flag(wechat, templates):
    wechat_answers(wechat, 40003)
    entrant = UserFactory()

    delivery = send(a_result_to_send(entrant, units=1))

    assert (delivery.state, delivery.quota_held, quota(entrant)) == ("failed", False, 1)


@pytest.mark.django_db
def test_a_delivery_lost_mid_send_and_sent_again_by_staff_takes_no_second_unit(
    wechat, templates, monkeypatch
):
    """Bug fix: the retry counter stood for the flag, and the staff resend restarts it, so the
    resend of a delivery whose worker died took a second unit of the user's quota."""
    wechat_answers(wechat, 0)
    entrant = UserFactory()
    delivery = a_result_to_send(entrant, units=2)

    def worker_killed(delivery, fields):
        raise KeyboardInterrupt  # not an Exception: nothing of ours runs after it

    monkeypatch.setattr(notify_services, "_send_one", worker_killed)
    with pytest.raises(KeyboardInterrupt):
        send(delivery)
    monkeypatch.undo()
    later = timezone.now() + timedelta(days=1)
    assert notify_services.deliveries_expire_claims(now=later) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.quota_held, quota(entrant)) == ("failed", True, 1)

    notify_services.deliveries_retry(delivery_ids=[delivery.pk], now=later)
    delivery = send(delivery, at=later + timedelta(minutes=1))

    assert (delivery.state, quota(entrant)) == ("sent", 1)
    assert len(sends(wechat)) == 1


@pytest.mark.django_db
def test_the_migration_marks_the_units_deliveries_hold_by_what_the_counter_meant(templates):
    entrant = UserFactory()
    delivery = a_result_to_send(entrant, units=1)
    outcomes = {
        "pending": ("", False),
        "retrying": ("busy", True),
        "sending": ("", True),
        "sent": ("", True),
        "refused": ("x", True),
        "skipped": ("no quota left", False),
        "failed": ("our request was wrong", False),
    }
    migration = importlib.import_module("notifications.migrations.0005_delivery_quota_held")
    for state, (errmsg, held) in [
        *outcomes.items(),
        ("failed", (notify_services.LOST_MID_SEND, True)),
    ]:
        Delivery.objects.filter(pk=delivery.pk).update(state=state, errmsg=errmsg, quota_held=False)

        migration.mark_held_units(apps, None)

        assert Delivery.objects.get(pk=delivery.pk).quota_held is held, (state, errmsg)


# --- moderation ------------------------------------------------------------------------------

M = Event.Moderation


@pytest.mark.django_db
@pytest.mark.parametrize("source", M.values)
@pytest.mark.parametrize("target", M.values)
def test_moderation_moves_only_along_its_table(creator, source, target):
    event = EventFactory(creator=creator)
    Event.objects.filter(pk=event.pk).update(moderation=source)  # where the test starts
    actor = None if target == M.REVIEW else StaffFactory()

    moved = moderation.event_moderate(event=event, actor=actor, to=target, now=NOW)

    event.refresh_from_db()
    assert moved is ((source, target) in moderation.TRANSITIONS)
    assert event.moderation == (target if moved else source)
    logged = EventLog.objects.filter(event=event, action__in=["flag", "hide", "restore"])
    assert list(logged.values_list("action", flat=True)) == (
        [moderation.TRANSITIONS[(source, target)]] if moved else []
    )


@pytest.mark.django_db
def test_a_wechat_flag_leaves_a_staff_decision_standing(creator):
    """Bug fix: a rejected picture of a hidden event used to move it back to review."""
    event = EventFactory(creator=creator)
    moderation.event_moderate(event=event, actor=StaffFactory(), to=M.HIDDEN, now=NOW)

    flagged = moderation.event_moderate(event=event, actor=None, to=M.REVIEW, now=NOW)

    event.refresh_from_db()
    assert (flagged, event.moderation) == (False, M.HIDDEN)
