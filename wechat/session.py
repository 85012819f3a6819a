"""Login: ``jscode2session`` exchanges a ``wx.login()`` code for the user's openid.

What WeChat hands back is checked before anyone stores it. Nothing here logs a ``session_key``.
"""

import hashlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings

from lottery_site.errors import ApplicationError
from wechat.client import call_wechat

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


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str
    unionid: str | None = None

    def __repr__(self) -> str:  # keep session_key out of tracebacks and debug logs
        return f"WeChatSession(openid={self.openid!r}, unionid={self.unionid!r})"


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
