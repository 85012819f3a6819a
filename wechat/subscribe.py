"""Subscribe messages to WeChat users, and their template data fitted to WeChat's limits.

``send_subscribe_message`` never raises for a network problem: it answers a ``SendResult`` whose
``outcome`` tells the caller what to do next (nothing, give up, or retry later). The access token
is the shared one of ``wechat.access_token``. Nothing here logs the access token.
"""

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from lottery_site.errors import ApplicationError
from wechat.access_token import TOKEN_REJECTED, get_access_token, invalidate_access_token
from wechat.client import call_wechat

logger = logging.getLogger(__name__)

SEND_OUTCOMES = {
    0: "sent",
    43101: "refused",  # the user has no subscription quota left for this template
    40003: "failed",  # invalid openid
    40037: "failed",  # invalid template_id
    41030: "failed",  # invalid page
    47003: "failed",  # template data does not fit the template's rules
    -1: "retry",  # system busy
    45009: "retry",  # API daily limit reached
    45011: "retry",  # API minute limit reached
}

Outcome = Literal["sent", "refused", "failed", "retry"]


@dataclass(frozen=True)
class SendResult:
    """``sent``: delivered. ``refused``: the user has no quota, do not retry. ``failed``: our
    request is wrong (openid, template, data), do not retry. ``retry``: try again later."""

    outcome: Outcome
    errcode: int | None = None
    errmsg: str = ""


def send_subscribe_message(
    *,
    openid: str,
    template_id: str,
    data: dict,
    page: str | None = None,
    miniprogram_state: str | None = None,
) -> SendResult:
    """Send one subscribe message. Never raises for WeChat or network trouble.

    ``data`` is what ``build_template_data`` returns; plain values are fitted the same way.
    A rejected access token is replaced and the message resent once.
    """
    body = {
        "touser": openid,
        "template_id": template_id,
        "data": _as_template_data(data),
        "lang": "zh_CN",
    }
    if page is not None:
        body["page"] = page
    if miniprogram_state is not None:
        body["miniprogram_state"] = miniprogram_state

    result = _send(body)
    _log_result(result, body)
    return result


def _send(body: dict) -> SendResult:
    try:
        token = get_access_token()
    except ApplicationError as exc:
        return SendResult("retry", None, f"no access token ({exc.name})")
    result = _post_message(token, body)
    if result.errcode not in TOKEN_REJECTED:
        return result
    # Once, not in a loop: a token WeChat rejects right after handing it out is WeChat's
    # trouble, and the next attempt (a retry later) starts over.
    invalidate_access_token(token)
    try:
        token = get_access_token()
    except ApplicationError as exc:
        return SendResult("retry", result.errcode, f"no access token ({exc.name})")
    result = _post_message(token, body)
    if result.errcode in TOKEN_REJECTED:
        return SendResult("retry", result.errcode, result.errmsg)
    return result


def _post_message(token: str, body: dict) -> SendResult:
    try:
        payload = call_wechat(
            "POST", "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=body
        )
    except ApplicationError as exc:  # timeout, connection error, HTTP 5xx, non-JSON
        return SendResult("retry", None, exc.name)
    errcode = payload.get("errcode") or 0
    errmsg = str(payload.get("errmsg") or "").replace(token, "***")
    if not isinstance(errcode, int):
        return SendResult("retry", None, f"unexpected errcode {errcode!r}")
    return SendResult(SEND_OUTCOMES.get(errcode, "failed"), errcode, errmsg)


def _log_result(result: SendResult, body: dict) -> None:
    fields = (body["template_id"], body["touser"], result.errcode, result.errmsg)
    if result.outcome == "sent":
        logger.debug("subscribe message %s sent to %s", *fields[:2])
    elif result.outcome == "refused":
        logger.info("subscribe message %s refused for %s: no quota", *fields[:2])
    elif result.outcome == "retry":
        logger.warning("subscribe message %s to %s will be retried: errcode=%s %s", *fields)
    else:
        logger.error(
            "subscribe message %s to %s failed: errcode=%s %s (page=%r, data=%r)",
            *fields,
            body.get("page"),
            body["data"],
        )


# --- Template data --------------------------------------------------------------------------

# Longest value WeChat accepts per key type. Only ``thing`` is free text that reads well with
# an ellipsis; the others allow digits, letters or Chinese characters only, so they are cut.
VALUE_LIMITS = {
    "thing": 20,
    "phrase": 5,
    "name": 10,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
}
ELLIPSIS = "…"


def template_kind(key: str) -> str:
    """``thing1`` -> ``thing``, ``character_string12`` -> ``character_string``."""
    match = re.fullmatch(r"([a-z_]+?)\d+", key)
    return match.group(1) if match else key


def fit_template_value(kind: str, value: object, *, tz: tzinfo | str | None = None) -> str:
    """``value`` made acceptable to WeChat for a key of type ``kind``.

    Dates and times become "%Y-%m-%d %H:%M" in ``tz`` (default settings.TIME_ZONE); a naive
    datetime is a ValueError. Text is put on one line and cut to WeChat's limit.
    """
    if kind in {"time", "date"} and isinstance(value, datetime):
        return timezone.localtime(value, _zone(tz)).strftime("%Y-%m-%d %H:%M")
    if kind in {"time", "date"} and isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    text = " ".join(str(value).split())
    limit = VALUE_LIMITS.get(kind)
    if limit is None or len(text) <= limit:
        return text
    if kind == "thing":
        return text[: limit - 1].rstrip() + ELLIPSIS
    return text[:limit]


def _zone(tz: tzinfo | str | None) -> tzinfo:
    if tz is None:
        tz = settings.TIME_ZONE
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def build_template_data(
    mapping: dict[str, object], *, tz: tzinfo | str | None = None
) -> dict[str, dict[str, str]]:
    """``{"thing1": "一等奖…"}`` -> ``{"thing1": {"value": "一等奖…"}}``, each value fitted."""
    return {
        key: {"value": fit_template_value(template_kind(key), value, tz=tz)}
        for key, value in mapping.items()
    }


def _as_template_data(data: dict) -> dict[str, dict[str, str]]:
    plain = {key: value for key, value in data.items() if not isinstance(value, dict)}
    return {**data, **build_template_data(plain)}
