"""A small client for WeChat's server API (https://api.weixin.qq.com by default).

One ``requests.Session`` per process, connect and read timeouts on every call, and WeChat's
``errcode`` values mapped to our API errors. Nothing here logs a ``session_key`` or a secret.
"""

import hashlib
import logging
import os
from dataclasses import dataclass

import requests
from django.conf import settings

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


def request_wechat(method: str, path: str, **kwargs) -> requests.Response:
    """One HTTP call to WeChat; the response, or ApplicationError (503) for network trouble
    and 5xx. For the few APIs that answer something else than JSON (an image)."""
    url = f"{settings.WECHAT_API_BASE}{path}"
    try:
        response = http().request(method, url, timeout=_timeout(), **kwargs)
    except requests.Timeout:
        logger.warning("wechat %s timed out", path)
        raise ApplicationError("wechat_unavailable") from None
    except requests.RequestException as exc:
        logger.warning("wechat %s unreachable: %s", path, type(exc).__name__)
        raise ApplicationError("wechat_unavailable") from None
    if response.status_code >= 500:
        logger.warning("wechat %s answered HTTP %s", path, response.status_code)
        raise ApplicationError("wechat_unavailable")
    return response


def call_wechat(method: str, path: str, **kwargs) -> dict:
    """One HTTP call to WeChat; returns the JSON object or raises ApplicationError (502/503)."""
    response = request_wechat(method, path, **kwargs)
    try:
        payload = response.json()
    except ValueError:
        logger.warning("wechat %s answered non-JSON (HTTP %s)", path, response.status_code)
        raise ApplicationError("wechat_bad_gateway") from None
    if not isinstance(payload, dict):
        raise ApplicationError("wechat_bad_gateway")
    return payload


def code_to_session(code: str) -> WeChatSession:
    """Exchange a ``wx.login()`` code for the user's openid (jscode2session)."""
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
    openid, session_key = payload.get("openid"), payload.get("session_key")
    if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
        logger.warning("jscode2session answered without openid/session_key")
        raise ApplicationError("wechat_bad_gateway")
    unionid = payload.get("unionid")
    return WeChatSession(
        openid=openid, session_key=session_key, unionid=unionid if unionid else None
    )


def _development_session(code: str) -> WeChatSession:
    """DEBUG without WECHAT_APP_ID: any code logs in; the same code is always the same user."""
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    return WeChatSession(openid=f"dev_{digest[:28]}", session_key="")
