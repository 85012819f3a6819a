"""The read model of an event (events/read_model.py) and the cache register (issue 22).

Each field of what the API shows of an event comes from exactly one part; every service that
writes an event, or what it shows, calls the one change hook; every cache of ours is
registered, reset between tests through the register, and listed in docs/architecture.md.
"""

import ast
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from draws import services as draw_services
from draws import substitutions
from events import moderation, read_model
from events import serializers as s
from events.models import Entry, Event
from events.services.entries import entry_join, entry_leave
from events.services.events import event_cancel, event_update
from lottery_site import caches
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent

# --- parts -----------------------------------------------------------------------------------


def test_each_field_of_the_detail_comes_from_exactly_one_part():
    public, live = set(s.EventPublicOutput().fields), set(s.EventLiveOutput().fields)

    assert not public & live
    assert public | live == set(s.EventOutput().fields) == set(read_model.DETAIL_PARTS)
    assert {name for name, part in read_model.DETAIL_PARTS.items() if part == "public"} == public


def test_each_field_of_a_card_comes_from_exactly_one_part():
    card = list(s.SquareEventOutput().fields)

    assert list(read_model.CARD_PARTS) == card  # the card's own order
    assert set(read_model.CARD_PARTS.values()) == {"public", "live", "square"}
    for name, part in read_model.CARD_PARTS.items():
        if part != "square":  # the public and live fields are the detail's, from the same part
            assert read_model.DETAIL_PARTS[name] == part, name


@pytest.mark.django_db
def test_the_detail_and_the_square_card_show_one_rendering_of_the_public_part(creator, settings):
    settings.SQUARE_REFRESH_SECONDS = 0
    event = EventFactory(creator=creator, visibility=Event.Visibility.PUBLIC)
    detail = client_for(creator).get(f"/api/v1/events/{event.public_id}").json()["data"]
    [key] = [key for key in read_model.PUBLIC if key[0] == event.pk]
    rendered = read_model.PUBLIC[key][2]

    [card] = APIClient().get("/api/v1/square").json()["data"]["results"]

    assert read_model.PUBLIC[key][2] is rendered  # not rendered again for the card
    assert set(read_model.PUBLIC) == {key}
    for name, part in read_model.CARD_PARTS.items():
        if part in ("public", "live") and name != "participant_count":
            assert card[name] == detail[name], name
    assert list(detail) == list(read_model.DETAIL_PARTS)


# --- the change hook -------------------------------------------------------------------------

# The modules that write events and what they show; nothing else may (checked below). Every
# module of the events' services package is one, so a new one is checked as soon as it exists.
SERVICES = (
    *(str(path.relative_to(ROOT)) for path in sorted((ROOT / "events" / "services").glob("*.py"))),
    "events/moderation.py",
    "events/claims.py",
    "draws/services.py",
    "draws/substitutions.py",
    "live/services.py",
)
SHOWN = {"Event", "Entry", "Prize"}
WRITES = {"update", "create", "delete", "bulk_create", "bulk_update", "get_or_create"}
RAW_WRITERS = {"admit_and_insert", "execute"}  # the join's SQL; a cursor's statement


def _manager_write(node: ast.Call) -> str | None:
    """``Event.objects....update(...)`` and the like: the model written, else None."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr in WRITES):
        return None
    target = func.value
    while isinstance(target, ast.Call | ast.Attribute):
        if isinstance(target, ast.Attribute) and target.attr == "objects":
            root = target.value
            return root.id if isinstance(root, ast.Name) and root.id in SHOWN else None
        target = target.func if isinstance(target, ast.Call) else target.value
    return None


def _calls(node: ast.AST) -> list[ast.Call]:
    return [child for child in ast.walk(node) if isinstance(child, ast.Call)]


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def writers_without_the_hook(source: str) -> list[str]:
    """Public functions of a module that write a shown model, directly or through the module's
    own helpers, without calling ``event_changed`` on the way."""
    functions = {
        node.name: node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }

    def closure(name: str, seen: set[str]) -> set[str]:
        seen.add(name)
        for call in _calls(functions[name]):
            callee = _name(call)
            if callee in functions and callee not in seen:
                closure(callee, seen)
        return seen

    def writes(name: str) -> bool:
        return any(
            _manager_write(call) or _name(call) in RAW_WRITERS for call in _calls(functions[name])
        )

    def hooks(name: str) -> bool:
        return any(_name(call) == "event_changed" for call in _calls(functions[name]))

    missing = []
    for name in functions:
        if name.startswith("_"):
            continue
        reached = closure(name, set())
        if any(writes(f) for f in reached) and not any(hooks(f) for f in reached):
            missing.append(name)
    return missing


@pytest.mark.parametrize("module", SERVICES)
def test_every_service_that_writes_an_event_calls_the_change_hook(module):
    assert writers_without_the_hook((ROOT / module).read_text()) == []


def test_the_static_check_finds_a_write_without_the_hook():
    source = """
def event_rename(*, event, title):
    Event.objects.filter(pk=event.pk).update(title=title)

def event_retitle(*, event, title):
    _write(event, title)
    read_model.event_changed(event_id=event.pk, what="edited")

def _write(event, title):
    Event.objects.filter(pk=event.pk).update(title=title)

def prize_add(*, event):
    Prize.objects.create(event=event)
"""
    assert writers_without_the_hook(source) == ["event_rename", "prize_add"]


def test_only_the_services_write_events_entries_and_prizes():
    """Everything else goes through them (and so through the hook)."""
    found = []
    for package in ("accounts", "events", "draws", "notifications", "clientconfig", "live"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = str(path.relative_to(ROOT))
            # The hook itself moves the revision.
            if module in (*SERVICES, "events/read_model.py") or "/migrations/" in module:
                continue
            tree = ast.parse(path.read_text())
            found += [f"{module}:{call.lineno}" for call in _calls(tree) if _manager_write(call)]
    assert found == []


WRITE_SQL = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE)\b.*\b(events_event|events_entry|events_prize)\b"
)


@contextmanager
def watched(monkeypatch):
    """Write statements on events, entries and prizes, and the events the hook was told of."""
    seen = {"writes": 0, "hooked": set()}
    hook = read_model.event_changed

    def spy(**kwargs):
        seen["hooked"].add(kwargs["event_id"])
        return hook(**kwargs)

    def count(execute, sql, params, many, context):
        for statement in sql.split(";"):
            if WRITE_SQL.match(statement.replace("`", "")):
                seen["writes"] += 1
        return execute(sql, params, many, context)

    with monkeypatch.context() as patch, connection.execute_wrapper(count):
        patch.setattr(read_model, "event_changed", spy)
        yield seen


@pytest.mark.django_db
def test_each_write_of_an_events_life_tells_the_hook(monkeypatch, creator, settings):
    settings.CLAIM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    now = timezone.now()
    entrants = UserFactory.create_batch(3)

    def step(call):
        with watched(monkeypatch) as seen:
            result = call()
        assert seen["writes"] > 0  # the step is meant to write
        assert seen["hooked"], "wrote an event without event_changed"
        return result

    event = step(  # through events.services.events.event_create
        lambda: EventFactory(creator=creator, now=now, visibility="public", delivery="contact")
    )
    step(lambda: event_update(event=event, actor=creator, now=now, title="改名"))
    for user in entrants:
        step(lambda user=user: entry_join(event=event, user=user, now=now))
    step(lambda: entry_leave(event=event, user=entrants[0], now=now))
    step(lambda: moderation.event_moderate(event=event, actor=None, to="hidden", now=now))
    event.refresh_from_db()
    step(lambda: draw_services.event_lock(event_id=event.pk, now=event.lock_at))
    step(lambda: draw_services.event_draw(event_id=event.pk, now=event.draw_at))
    event.refresh_from_db()
    winner = Entry.objects.filter(event=event, prize__isnull=False).first()
    step(
        lambda: substitutions.winner_disqualify(
            event=event, actor=creator, user_key=winner.user_key, reason="ineligible", now=now
        )
    )

    other = EventFactory(creator=creator)
    step(lambda: event_cancel(event=other, actor=creator, now=now))


# --- the cache register ----------------------------------------------------------------------


def _every_cache():
    import events.read_model  # noqa: F401
    import live.hub  # noqa: F401 - the live process's hubs (served by ASGI, not by a URL)
    import lottery_site.urls  # noqa: F401 - every view, and so every module with a cache

    return caches.registered()


def test_every_registered_cache_is_in_the_register_of_docs_architecture():
    text = (ROOT / "docs" / "architecture.md").read_text()
    register = text[text.index("## The cache register") :]
    missing = [cache.name for cache in _every_cache() if f"`{cache.name}`" not in register]
    assert missing == []


def test_every_cache_names_its_benchmark_or_says_it_is_unmeasured():
    for cache in _every_cache():
        assert cache.benchmark.startswith(("bench/", "unmeasured")), cache.name


def test_a_memo_is_emptied_when_full_and_by_the_reset_of_every_cache(monkeypatch):
    # A register of this test's own, so the test's memo leaves the real one as it was.
    monkeypatch.setattr(caches, "_register", dict(caches._register))
    monkeypatch.setattr(caches, "_resets", dict(caches._resets))
    memo = caches.Memo(
        "test.memo", size=2, holds="", freshness="", invalidated_by="", benchmark="unmeasured"
    )
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("c", 3)  # full: emptied first
    assert dict(memo) == {"c": 3}

    caches.reset_all()
    assert dict(memo) == {}


def test_a_cache_is_registered_once():
    _every_cache()
    with pytest.raises(ValueError, match="registered twice"):
        caches.register(
            name="event.refs",
            holds="",
            where=caches.PROCESS,
            freshness="",
            invalidated_by="",
            benchmark="unmeasured",
        )
