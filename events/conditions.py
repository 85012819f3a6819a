"""Entry conditions: what someone must meet to join an event, chosen by its creator.

Any combination of these kinds, each at most once, chosen at creation and changeable until the
first join (``conditions_frozen`` from then on, ``events.services.events.event_update``):

- ``password`` (口令): the entrant sends the creator's phrase. Compared normalised (Unicode
  NFKC, case folded, runs of spaces as one) and in constant time, against a salted SHA-256
  kept in the record; never shown. Wrong tries are limited per user and event.
- ``group`` (群抽奖): one WeChat group chat. The creator binds it with their own
  ``wx.getGroupEnterInfo`` (or ``wx.getChatToolInfo``) data from inside the group; each entrant
  proves membership with theirs. Both are decrypted with the sender's session_key on the
  server (``wechat.open_data``); the group's ``opengid`` must be the same. Kept as a
  salted hash, like the password: the published record names no group.
- ``new_users``: accounts created after the event was (``after_event``), or at most ``days``
  days before they join (``within_days``).
- ``question``: a multiple-choice question; the right choice is required (and never shown).
- ``risk``: WeChat's risk rank of the entrant for "marketing cheating" (``getUserRiskRank``,
  ``wechat.risk``), asked at the join: a rank at or above ``threshold`` is refused
  with its reason; when WeChat does not answer, ``when_unavailable`` (``admit`` or ``refuse``)
  decides, as the event states in public.

What WeChat's platform rules (小程序运营规范 5.1) forbid is refused by name wherever a client
may try it (``refuse_forbidden``): entry for following an official account, extra chances for
sharing or inviting, paid entry, a made-up participant count.

**The record.** ``Event.entry_conditions`` holds what the checks need (the password's and the
group's salted hashes, the question's answer) plus a random ``nonce``; null without
conditions. Its SHA-256 (``digest``) is the proof's ``conditions_digest``: fixed from the first
join on, published from creation, and the record itself is published once entries are closed,
so anyone can check the rules did not change (docs/fairness.md). Before that the nonce keeps
the digest from giving away an answer or a short password by trying them all.

**At the join** (``check``) only events with conditions pay anything: the join's reference
(``events.read_model.EventRef``, a per-process memo) carries the parsed conditions, and the
join's gate UPDATE admits only under the version it checked (``Event.rules_version``).
"""

import functools
import hashlib
import hmac
import json
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import User
from events.models import aware_utc
from lottery_site.errors import ApplicationError
from lottery_site.throttling import COUNTS
from wechat import open_data as wechat_open_data
from wechat import risk as wechat_risk

KINDS = ("password", "group", "new_users", "question", "risk")
NEW_USER_RULES = ("after_event", "within_days")
WHEN_UNAVAILABLE = ("admit", "refuse")
# Shape limits (the input serializers and GET /config read them).
PASSWORD_MAX_LENGTH = 32
QUESTION_MAX_LENGTH = 200
CHOICES_MIN, CHOICES_MAX = 2, 6
CHOICE_MAX_LENGTH = 50
NEW_USER_DAYS_MAX = 365
RISK_THRESHOLDS = range(1, 5)  # refuse a rank at or above it (WeChat's ranks are 0-4)
# Stored in an entry (``Entry.risk_rank``) when WeChat did not answer and the event admits then.
RISK_UNCHECKED = -1

# Fields a clone of another lottery app would send for what WeChat's rules forbid (运营规范
# 5.1), each with the error that names the rule. Looked for in an event's body and in its
# ``conditions``; refused whatever their value.
FORBIDDEN = {
    "rule_follow_forbidden": (
        "require_follow",
        "follow",
        "follow_account",
        "follow_official_account",
        "official_account",
    ),
    "rule_share_forbidden": (
        "extra_chances_for_share",
        "extra_chances_for_invite",
        "share_for_chances",
        "invite_for_chances",
        "require_share",
        "require_invite",
        "share",
        "invite",
    ),
    "rule_paid_entry_forbidden": ("entry_fee", "fee", "price", "paid_entry", "pay_to_enter"),
    "rule_fake_count_forbidden": (
        "display_count",
        "base_count",
        "fake_count",
        "virtual_participants",
        "initial_participants",
    ),
}
_FORBIDDEN_FIELDS = {field: error for error, fields in FORBIDDEN.items() for field in fields}


def refuse_forbidden(data: Any) -> None:
    """Refuse, naming WeChat's rule, a body (or its ``conditions``) asking for what 5.1 forbids."""
    for part in (data, data.get("conditions") if isinstance(data, dict) else None):
        if not isinstance(part, dict):
            continue
        for field in part:
            error = _FORBIDDEN_FIELDS.get(field)
            if error is not None:
                raise ApplicationError(error, data={"field": field})


# --- the record ------------------------------------------------------------------------------


def build(*, current: dict | None, changes: dict, creator: User) -> dict | None:
    """The record after ``changes`` (kind -> its input, None to remove it) over ``current``.

    Input shapes are checked by the serializers; here what needs more: the group is bound from
    the creator's own encrypted group data (``wechat_session_expired``,
    ``entry_group_data_invalid``), the question's answer must be one of its choices
    (``invalid_input``). None when no condition is left. A new nonce with every change.
    """
    record = {kind: value for kind, value in (current or {}).items() if kind in KINDS}
    for kind, value in changes.items():
        if value is None:
            record.pop(kind, None)
        else:
            record[kind] = _STORED[kind](value, creator=creator)
    if not record:
        return None
    record["nonce"] = secrets.token_hex(16)
    return record


def _stored_password(value: str, **_context) -> dict:
    phrase = normalised(value)
    if not phrase:
        raise _invalid("password", _("The password needs at least one visible character."))
    salt = secrets.token_bytes(16)
    return {"salt": salt.hex(), "hash": _salted_hash(salt, phrase).hex()}


def _stored_group(value: dict, *, creator: User) -> dict:
    # Kept like a password: the record is published once entries close, and a group's id
    # would let anyone link the events of one group chat.
    salt = secrets.token_bytes(16)
    opengid = _group_of(creator.pk, value["encrypted_data"], value["iv"])
    return {"salt": salt.hex(), "hash": _salted_hash(salt, opengid).hex()}


def _stored_new_users(value: dict, **_context) -> dict:
    if value["rule"] == "within_days":
        if not value.get("days"):
            raise _invalid("new_users", _("Say within how many days the account was made."))
        return {"rule": "within_days", "days": value["days"]}
    return {"rule": "after_event"}


def _stored_question(value: dict, **_context) -> dict:
    choices = list(value["choices"])
    if not 0 <= value["answer"] < len(choices):
        raise _invalid("question", _("The answer must be the index of one of the choices."))
    if len(set(choices)) != len(choices):
        raise _invalid("question", _("The choices must differ from each other."))
    return {"text": value["text"], "choices": choices, "answer": value["answer"]}


def _stored_risk(value: dict, **_context) -> dict:
    return {
        "threshold": value["threshold"],
        "when_unavailable": value["when_unavailable"],
        "scene": wechat_risk.SCENE_MARKETING,
    }


_STORED = {
    "password": _stored_password,
    "group": _stored_group,
    "new_users": _stored_new_users,
    "question": _stored_question,
    "risk": _stored_risk,
}


def public(record: dict | None) -> list[dict]:
    """What anyone may read of the conditions, in ``KINDS`` order: never a secret part (the
    password, the group, the question's answer). The detail and the proof show it."""
    if not record:
        return []
    shown = []
    for kind in KINDS:
        value = record.get(kind)
        if value is None:
            continue
        item: dict[str, Any] = {"kind": kind}
        if kind == "new_users":
            item.update(rule=value["rule"], days=value.get("days"))
        elif kind == "question":
            item.update(text=value["text"], choices=value["choices"])
        elif kind == "risk":
            item.update(
                threshold=value["threshold"],
                when_unavailable=value["when_unavailable"],
                scene="marketing",
            )
        shown.append(item)
    return shown


def canonical(record: dict) -> bytes:
    """The bytes the digest covers: JSON, keys sorted, no spaces, UTF-8 (docs/fairness.md)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(record: dict | None) -> str | None:
    """``conditions_digest`` of the proof: hex SHA-256 of the canonical record; None for none."""
    return hashlib.sha256(canonical(record)).hexdigest() if record else None


# --- the checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conditions:
    """The parsed record: what the join's checks read (held in the join's reference memo)."""

    password: tuple[bytes, bytes] | None = None  # (salt, hash) of the normalised phrase
    group: tuple[bytes, bytes] | None = None  # (salt, hash) of the group's opengid
    new_users: tuple[str, int | None] | None = None  # (rule, days)
    answer: int | None = None
    risk: tuple[int, str] | None = None  # (threshold, when_unavailable)

    @property
    def needs_user(self) -> bool:
        """Whether a check reads the user's row (creation time, session key, openid)."""
        return bool(self.group or self.new_users or self.risk)

    @property
    def counts_attempts(self) -> bool:
        return bool(self.password or self.group or self.answer is not None)


def parse(record: dict | None) -> Conditions | None:
    if not record:
        return None
    password, group, new_users, question, risk = (record.get(kind) for kind in KINDS)
    return Conditions(
        password=_salted(password),
        group=_salted(group),
        new_users=(new_users["rule"], new_users.get("days")) if new_users else None,
        answer=question["answer"] if question else None,
        risk=(risk["threshold"], risk["when_unavailable"]) if risk else None,
    )


def _salted(stored: dict | None) -> tuple[bytes, bytes] | None:
    return (bytes.fromhex(stored["salt"]), bytes.fromhex(stored["hash"])) if stored else None


@dataclass(frozen=True)
class Answers:
    """What an entrant sends with a join (``POST /events/{id}/entry``)."""

    password: str | None = None
    answer: int | None = None
    group_encrypted_data: str | None = None
    group_iv: str | None = None


def check(
    rules: Conditions,
    *,
    event_pk: int,
    event_created_at: datetime,
    user: User,
    answers: Answers,
    client_ip: str,
    now: datetime,
) -> int | None:
    """Refuse a join that does not meet ``rules``, each unmet condition with its own error.

    Cheap checks first, the risk gate (a call to WeChat) last. Wrong passwords, answers and
    group data count towards ENTRY_ATTEMPTS_LIMIT (``entry_attempts_exceeded`` once reached,
    before anything is compared). Returns the risk rank to store with the entry (None: not
    gated). Call it outside any transaction: it may call WeChat.
    """
    attempts = _attempts_key(event_pk, user.pk, now) if rules.counts_attempts else None
    row = _user_row(user) if rules.needs_user else None
    if rules.new_users:
        _check_new_user(rules.new_users, created_at=row["created_at"], event_at=event_created_at,
                        now=now)  # fmt: skip
    if rules.answer is not None:
        if answers.answer is None:
            raise ApplicationError("entry_answer_required")
        if answers.answer != rules.answer:
            _wrong(attempts, "entry_answer_wrong", now=now)
    if rules.password:
        if not answers.password:
            raise ApplicationError("entry_password_required")
        salt, stored = rules.password
        if not hmac.compare_digest(_salted_hash(salt, normalised(answers.password)), stored):
            _wrong(attempts, "entry_password_wrong", now=now)
    if rules.group:
        _check_group(rules.group, answers, session_key=row["session_key"], user_pk=user.pk,
                     attempts=attempts, now=now)  # fmt: skip
    if rules.risk:
        return _risk_rank(rules.risk, openid=row["openid"], client_ip=client_ip)
    return None


def normalised(phrase: str) -> str:
    """A password as compared: NFKC (full-width letters and digits as ASCII), case folded,
    spaces trimmed and runs of them as one."""
    return " ".join(unicodedata.normalize("NFKC", phrase).casefold().split())


def _salted_hash(salt: bytes, phrase: str) -> bytes:
    return hashlib.sha256(salt + phrase.encode()).digest()


def _user_row(user: User) -> dict:
    """What the checks read of the user (a request's user carries only its id and public id,
    accounts.authentication): one query, in plain SQL on purpose. Built through the ORM it
    cost five times as long (400 against 72 µs, timed in a loop on the bench database), and a
    group event's join was 0.70 of a plain event's join with it (bench/join --conditions
    group, a small run on a shared machine: the figures to keep are the lead's)."""
    with connection.cursor() as cursor:
        cursor.execute(_user_sql(), [user.pk])
        row = cursor.fetchone()
    if row is None:
        raise ApplicationError("user_inactive")
    return {"created_at": aware_utc(row[0]), "session_key": row[1], "openid": row[2]}


@functools.cache
def _user_sql() -> str:
    return f"SELECT created_at, session_key, openid FROM {User._meta.db_table} WHERE id = %s"  # noqa: S608


def _check_new_user(
    rule: tuple[str, int | None], *, created_at: datetime, event_at: datetime, now: datetime
) -> None:
    kind, days = rule
    if kind == "after_event":
        new = created_at >= event_at
    else:
        new = now - created_at <= timedelta(days=days or 0)
    if not new:
        raise ApplicationError("entry_new_users_only")


def _check_group(
    group: tuple[bytes, bytes], answers: Answers, *, session_key: str, user_pk: int, attempts, now
) -> None:
    if not (answers.group_encrypted_data and answers.group_iv):
        raise ApplicationError("entry_group_required")
    try:
        sent = _group_of(
            user_pk, answers.group_encrypted_data, answers.group_iv, session_key=session_key
        )
    except ApplicationError as refused:
        # Counted too: a client trying ciphertexts (a padding oracle) is slowed down as well.
        _wrong(attempts, refused.name, now=now)
    salt, stored = group
    if not hmac.compare_digest(_salted_hash(salt, sent), stored):
        _wrong(attempts, "entry_group_mismatch", now=now)


def _group_of(user_pk: int, encrypted_data: str, iv: str, *, session_key: str | None = None) -> str:
    """The opengid in the group data a user sent, decrypted with their session key."""
    if session_key is None:
        session_key = (
            User.objects.filter(pk=user_pk).values_list("session_key", flat=True).first() or ""
        )
    try:
        data = wechat_open_data.decrypt(
            session_key=session_key, encrypted_data=encrypted_data, iv=iv
        )
        return wechat_open_data.group_id(data)
    except wechat_open_data.OpenDataRefused:
        raise ApplicationError("entry_group_data_invalid") from None


def _risk_rank(rule: tuple[int, str], *, openid: str | None, client_ip: str) -> int:
    threshold, when_unavailable = rule
    try:
        if not openid:
            raise ApplicationError("wechat_unavailable")  # nothing to ask WeChat about
        rank = wechat_risk.user_risk_rank(openid=openid, client_ip=client_ip)
    except ApplicationError as failure:
        if failure.name not in ("wechat_unavailable", "wechat_bad_gateway"):
            raise
        if when_unavailable == "refuse":
            raise ApplicationError("entry_risk_unavailable") from None
        return RISK_UNCHECKED
    if rank >= threshold:
        raise ApplicationError("entry_risk_refused", data={"rank": rank, "threshold": threshold})
    return rank


# --- wrong attempts --------------------------------------------------------------------------


def _attempts_key(event_pk: int, user_pk: int, now: datetime) -> str:
    """This window's counter of the user's wrong attempts at the event; refuses once full."""
    window = settings.ENTRY_ATTEMPTS_WINDOW_SECONDS
    at = now.timestamp()
    key = f"entry-attempts:{event_pk}:{user_pk}:{int(at // window)}"
    if COUNTS.peek(key, now=at) >= settings.ENTRY_ATTEMPTS_LIMIT:
        retry_after = int(window - at % window) + 1
        raise ApplicationError("entry_attempts_exceeded", data={"retry_after": retry_after})
    return key


def _wrong(key: str | None, error: str, *, now: datetime) -> NoReturn:
    """Count a wrong attempt, tell every process at once (a push to Redis, so another one
    refuses the next try), and refuse with ``error``."""
    if key is not None:
        at = now.timestamp()
        COUNTS.add(key, window_seconds=settings.ENTRY_ATTEMPTS_WINDOW_SECONDS + 1, now=at)
        COUNTS.sync(now=at)
    raise ApplicationError(error)


def _invalid(kind: str, message: str) -> ApplicationError:
    return ApplicationError("invalid_input", data={"conditions": {kind: [message]}})
