"""A small client for WeChat's server API (https://api.weixin.qq.com by default).

One ``requests.Session`` per process, connect and read timeouts on every call, and WeChat's
``errcode`` values mapped to our API errors. Nothing here logs a ``session_key`` or a secret.
"""

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass

import requests
from django.conf import settings

from lottery_site import metrics
from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)

# errcode -> our error name. Unknown non-zero codes are a bad gateway: WeChat said something we
# did not expect, and the caller can do nothing about it.
JSCODE2SESSION_ERRORS = {
    40029: "wechat_code_invalid",  # invalid code
    40163: "wechat_code_invalid",  # code already used
    45011: "wechat_rate_limited",  # too frequent (100 per minute per user)
    40226: "wechat_risky_user",  # high-risk user, login intercepted
    -1: "wechat_unavailable",  # system busy
}

# How WeChat failing to answer maps onto our two codes (docs/api.md, error catalogue):
# 503 50300 "unavailable": we got no answer (connection error, timeout), or WeChat said it is
#   busy (HTTP 503, 504 from its own gateway, errcode -1);
# 502 50200 "bad gateway": WeChat answered, but with something we cannot use (another HTTP 5xx
#   such as an HTML 502 page, a body that is not a JSON object, an errcode we do not know).
# Both are worth a retry later; neither is the caller's fault.
_BUSY_STATUSES = frozenset({503, 504})

_session: requests.Session | None = None


def http() -> requests.Session:
    global _session
    if _session is None:
        session = requests.Session()
        # With trust_env on, requests re-reads proxy settings from the environment on every
        # call: a quarter of each send in bench/notify. Read them once (an egress proxy with a
        # whitelisted IP is common in front of WeChat's API), with the CA bundle, then stop.
        session.proxies.update(requests.utils.get_environ_proxies(settings.WECHAT_API_BASE))
        session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        session.trust_env = False
        _session = session
    return _session


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str
    unionid: str | None = None

    def __repr__(self) -> str:  # keep session_key out of tracebacks and debug logs
        return f"WeChatSession(openid={self.openid!r}, unionid={self.unionid!r})"


def _timeout() -> tuple[float, float]:
    return (settings.WECHAT_CONNECT_TIMEOUT, settings.WECHAT_READ_TIMEOUT)


def call_wechat(method: str, path: str, **kwargs) -> dict:
    """One HTTP call to WeChat; returns the JSON object or raises ApplicationError (502/503).

    Every call is counted by endpoint and errcode, and timed (``lottery_wechat_*``).
    """
    started = time.perf_counter()
    try:
        payload = _json(_send(method, path, **kwargs), path)
    except _CallFailed as failure:
        metrics.observe_wechat_call(path, failure.label, started)
        raise failure.error from None
    metrics.observe_wechat_call(path, payload.get("errcode") or 0, started)
    return payload


def request_wechat(method: str, path: str, **kwargs) -> requests.Response:
    """One HTTP call to WeChat; the response, or ApplicationError (502/503) for network trouble
    and 5xx. For the few APIs that answer something else than JSON (an image); counted with
    errcode "raw" (the caller reads an error out of the body)."""
    started = time.perf_counter()
    try:
        response = _send(method, path, **kwargs)
    except _CallFailed as failure:
        metrics.observe_wechat_call(path, failure.label, started)
        raise failure.error from None
    metrics.observe_wechat_call(path, "raw", started)
    return response


class _CallFailed(Exception):
    """No usable answer: ``label`` for the metrics, ``error`` for the caller."""

    def __init__(self, label: str, error: str):
        self.label, self.error = label, ApplicationError(error)


def _send(method: str, path: str, **kwargs) -> requests.Response:
    url = f"{settings.WECHAT_API_BASE}{path}"
    try:
        response = http().request(method, url, timeout=_timeout(), **kwargs)
    except requests.Timeout:
        logger.warning("wechat %s timed out", path)
        raise _CallFailed("timeout", "wechat_unavailable") from None
    except requests.RequestException as exc:
        logger.warning("wechat %s unreachable: %s", path, type(exc).__name__)
        raise _CallFailed("unreachable", "wechat_unavailable") from None
    if response.status_code in _BUSY_STATUSES:
        logger.warning("wechat %s answered HTTP %s", path, response.status_code)
        raise _CallFailed("http_5xx", "wechat_unavailable")
    if response.status_code >= 500:  # an HTML 500/502 page from a gateway in front of WeChat
        logger.warning("wechat %s answered HTTP %s", path, response.status_code)
        raise _CallFailed("http_5xx", "wechat_bad_gateway")
    return response


def _json(response: requests.Response, path: str) -> dict:
    try:
        payload = response.json()
    except ValueError:
        logger.warning("wechat %s answered non-JSON (HTTP %s)", path, response.status_code)
        raise _CallFailed("bad_response", "wechat_bad_gateway") from None
    if not isinstance(payload, dict):
        raise _CallFailed("bad_response", "wechat_bad_gateway")
    # WeChat's errcode is an integer: anything else is not an answer we understand, and callers
    # look it up in dicts and sets (a list there would be a TypeError, a 500).
    errcode = payload.get("errcode")
    if errcode is not None and type(errcode) is not int:
        logger.warning("wechat %s answered a %s errcode", path, type(errcode).__name__)
        raise _CallFailed("bad_response", "wechat_bad_gateway")
    return payload


def code_to_session(code: str) -> WeChatSession:
    """Exchange a ``wx.login()`` code for the user's openid (jscode2session).

    Raises ApplicationError: WeChat's refusals (JSCODE2SESSION_ERRORS), and
    ``wechat_bad_gateway`` (502) for an answer that is not a session WeChat hands out.
    """
    if settings.WECHAT_DEV_LOGIN:
        return _development_session(code)
    payload = call_wechat(
        "GET",
        "/sns/jscode2session",
        params={
            "appid": settings.WECHAT_APP_ID,
            "secret": settings.WECHAT_APP_SECRET,
            "js_code": code,
            "grant_type": "authorization_code",
        },
    )
    errcode = payload.get("errcode") or 0
    if errcode:
        logger.info("jscode2session refused: errcode=%s errmsg=%s", errcode, payload.get("errmsg"))
        raise ApplicationError(JSCODE2SESSION_ERRORS.get(errcode, "wechat_bad_gateway"))
    return _session_from(payload)


# What jscode2session hands out: an openid and a unionid are 28 or 29 letters, digits, "-" and
# "_"; a session_key is 24 base64 characters. We take up to what our columns hold (User.openid
# and unionid: 64, session_key: 128), so a longer value is refused here, as a bad gateway,
# rather than by MariaDB at the insert (a DataError, a 500).
_WECHAT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SESSION_KEY = re.compile(r"[A-Za-z0-9+/=_-]{1,128}")


def _session_from(payload: dict) -> WeChatSession:
    openid, unionid = payload.get("openid"), payload.get("unionid")
    session_key = payload.get("session_key")
    wrong = [
        name
        for name, value, pattern, optional in (
            ("openid", openid, _WECHAT_ID, False),
            ("session_key", session_key, _SESSION_KEY, False),
            ("unionid", unionid, _WECHAT_ID, True),
        )
        if not (optional and value in (None, ""))
        and not (isinstance(value, str) and pattern.fullmatch(value))
    ]
    if wrong:  # names only: a session_key is never logged
        logger.warning("jscode2session answered an unexpected %s", ", ".join(wrong))
        raise ApplicationError("wechat_bad_gateway")
    return WeChatSession(openid=openid, session_key=session_key, unionid=unionid or None)


def _development_session(code: str) -> WeChatSession:
    """DEBUG without WECHAT_APP_ID: any code logs in; the same code is always the same user."""
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    return WeChatSession(openid=f"dev_{digest[:28]}", session_key="")
