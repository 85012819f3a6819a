"""WeChat's access token, shared by every web and worker process.

The token comes from WeChat's stable-token API and lives in the Django cache (Redis in
production). One process at a time refreshes it, a few minutes before it expires, so in normal
running the whole site fetches about a dozen tokens a day. An API that answers with one of
``TOKEN_REJECTED`` reports the token (``invalidate_access_token``) and asks again, once
(``post_with_token`` does both for the JSON APIs of content security and risk rank).

Nothing here logs the access token or the app secret; urllib3's DEBUG lines have it masked.
"""

import hashlib
import logging
import re
import time
import uuid

from django.conf import settings
from django.core.cache import cache

from lottery_site.errors import ApplicationError
from wechat.client import call_wechat

logger = logging.getLogger(__name__)

CACHE_KEY = "wechat:access_token"
LOCK_KEY = "wechat:access_token:lock"
REJECTED_KEY = "wechat:access_token:bad"
FORCED_KEY = "wechat:access_token:forced"

# Longer than one stable_token call can take (connect + read timeouts), so the lock outlives
# its holder's fetch; a holder that crashed frees it within this many seconds.
LOCK_SECONDS = 10
# WeChat allows 20 forced refreshes a day and refuses two within 30 s: one per 72 minutes can
# never exhaust the quota, whatever goes wrong.
FORCE_REFRESH_COOLDOWN = 24 * 3600 // 20
# The marker of a rejected token must outlive the token itself (at most 7200 s).
REJECTED_SECONDS = 7200

# errcode of stable_token -> our error name; anything else is a bad gateway (wrong app id or
# secret, IP not whitelisted: an operator must act).
STABLE_TOKEN_ERRORS = {
    -1: "wechat_unavailable",  # system busy
    45009: "wechat_unavailable",  # daily limit reached
    45011: "wechat_unavailable",  # too frequent
}

# errcodes, from any API that takes the token, that mean "this access token is not (or no longer)
# valid".
TOKEN_REJECTED = {40001, 40014, 42001}


def _refresh_margin() -> float:
    # Must stay under 300 s: only in the last 5 minutes does a normal stable_token call hand
    # out a new token; earlier it returns the same one again.
    return float(getattr(settings, "WECHAT_ACCESS_TOKEN_REFRESH_MARGIN", 240))


def _wait_seconds() -> float:
    return float(getattr(settings, "WECHAT_ACCESS_TOKEN_WAIT_SECONDS", 3.0))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _usable_entry() -> dict | None:
    """The cached token if it has not expired and nobody has reported it rejected."""
    found = cache.get_many([CACHE_KEY, REJECTED_KEY])
    entry = found.get(CACHE_KEY)
    if not entry or time.time() >= entry["expires_at"]:
        return None
    if found.get(REJECTED_KEY) == _digest(entry["token"]):
        return None
    return entry


def _is_fresh(entry: dict | None) -> bool:
    return entry is not None and time.time() < entry["refresh_at"]


def get_access_token() -> str:
    """A valid access token, from the shared cache when possible.

    Raises ApplicationError ("wechat_unavailable" or "wechat_bad_gateway") when WeChat gives
    no token and there is no valid one left in the cache.
    """
    entry = _usable_entry()
    if _is_fresh(entry):
        return entry["token"]
    lock = uuid.uuid4().hex
    if cache.add(LOCK_KEY, lock, timeout=LOCK_SECONDS):
        return _refresh_holding_lock(lock)
    if entry is not None:
        return entry["token"]  # someone else is refreshing; ours is still valid
    return _wait_for_refresh() or _fetch_and_store()


def _refresh_holding_lock(lock: str) -> str:
    # Re-read: the previous holder may have stored a token between our read and our lock.
    entry = _usable_entry()
    if _is_fresh(entry):
        _release(lock)
        return entry["token"]
    try:
        token = _fetch_and_store()
    except ApplicationError:
        if entry is None:
            _release(lock)
            raise
        # Keep the lock until it expires: while WeChat is failing, one attempt per
        # LOCK_SECONDS is enough, and the old token still works meanwhile.
        return entry["token"]
    _release(lock)
    return token


def _release(lock: str) -> None:
    if cache.get(LOCK_KEY) == lock:
        cache.delete(LOCK_KEY)


def _wait_for_refresh() -> str | None:
    deadline = time.monotonic() + _wait_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        entry = _usable_entry()
        if entry is not None:
            return entry["token"]
    return None


def _fetch_and_store() -> str:
    started = time.time()
    token, expires_in = _fetch_stable_token(force_refresh=False)
    bad = cache.get(REJECTED_KEY)
    if bad == _digest(token):
        # WeChat still hands out the token it just rejected: only a forced refresh replaces it.
        if cache.add(FORCED_KEY, 1, timeout=FORCE_REFRESH_COOLDOWN):
            started = time.time()
            token, expires_in = _fetch_stable_token(force_refresh=True)
        else:
            logger.warning("wechat access token rejected again; forced refresh is cooling down")
            cache.delete(REJECTED_KEY)  # accept it rather than refetch on every call
    _store(token, expires_in, started)
    return token


def _store(token: str, expires_in: int, fetched_at: float) -> None:
    expires_at = fetched_at + expires_in
    # Never plan the next refresh sooner than half the lifetime: a token handed out with little
    # time left must not make every call refetch.
    refresh_at = max(expires_at - _refresh_margin(), fetched_at + expires_in / 2)
    entry = {"token": token, "expires_at": expires_at, "refresh_at": refresh_at}
    cache.set(CACHE_KEY, entry, timeout=max(1, int(expires_in)))


def _fetch_stable_token(*, force_refresh: bool) -> tuple[str, int]:
    payload = call_wechat(
        "POST",
        "/cgi-bin/stable_token",
        json={
            "grant_type": "client_credential",
            "appid": settings.WECHAT_APP_ID,
            "secret": settings.WECHAT_APP_SECRET,
            "force_refresh": force_refresh,
        },
    )
    errcode = payload.get("errcode") or 0
    if errcode:
        logger.error("stable_token refused: errcode=%s errmsg=%s", errcode, payload.get("errmsg"))
        raise ApplicationError(
            STABLE_TOKEN_ERRORS.get(errcode, "wechat_bad_gateway"), data={"errcode": errcode}
        )
    token, expires_in = payload.get("access_token"), payload.get("expires_in")
    if (
        not isinstance(token, str)
        or not token
        or not isinstance(expires_in, int)
        or expires_in <= 0
    ):
        logger.error("stable_token answered without access_token/expires_in")
        raise ApplicationError("wechat_bad_gateway")
    logger.info("fetched a wechat access token (force_refresh=%s)", force_refresh)
    return token, expires_in


def invalidate_access_token(bad_token: str) -> None:
    """Report that WeChat rejected ``bad_token`` (40001/42001).

    Only that token is forgotten: a worker that reports it late, after another one already
    fetched a new token, changes nothing, so a burst of rejections causes one refetch.
    """
    cache.set(REJECTED_KEY, _digest(bad_token), timeout=REJECTED_SECONDS)


def get_access_token_or_fetch() -> str:
    """The shared token; when its cache (Redis) is down, one straight from WeChat.

    For calls that must not depend on Redis (a content check, a risk rank): stable_token hands
    out the same token to every caller until it nears expiry, so asking for it directly is
    safe, only slower.
    """
    try:
        return get_access_token()
    except ApplicationError:
        raise
    except Exception as exc:  # noqa: BLE001 - the cache backend's own connection errors
        logger.warning("access token cache unavailable (%s): asking WeChat", type(exc).__name__)
        return _fetch_stable_token(force_refresh=False)[0]


def post_with_token(path: str, body: dict) -> dict:
    """WeChat's JSON answer to ``body`` POSTed to ``path`` with the access token; a token
    WeChat rejects is reported and the call made again, once.

    Raises ``wechat_unavailable`` (errcode -1 busy, 45009 or 45011 rate-limited) or
    ``wechat_bad_gateway`` (any other errcode), with the errcode in the error's data.
    """
    token = get_access_token_or_fetch()
    payload = call_wechat("POST", path, params={"access_token": token}, json=body)
    if payload.get("errcode") in TOKEN_REJECTED:
        invalidate_access_token(token)
        token = get_access_token_or_fetch()
        payload = call_wechat("POST", path, params={"access_token": token}, json=body)
    errcode = payload.get("errcode") or 0
    if errcode:
        logger.warning("%s refused: errcode=%s", path, errcode)
        name = "wechat_unavailable" if errcode in (-1, 45009, 45011) else "wechat_bad_gateway"
        raise ApplicationError(name, data={"errcode": errcode})
    return payload


# --- Keep the token out of DEBUG logs -------------------------------------------------------

_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class _RedactAccessToken(logging.Filter):
    """urllib3 logs every request line, query string included, at DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_URL.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub(r"\1***", record.msg)
        return True


for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactAccessToken())
