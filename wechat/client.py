"""A small client for WeChat's server API (https://api.weixin.qq.com by default).

One ``requests.Session`` per process, connect and read timeouts on every call, every call counted
and timed, and a WeChat that does not answer usably mapped to our API errors (502/503). What each
API's ``errcode`` values mean is its own module's business. Nothing here logs a secret.
"""

import logging
import os
import time

import requests
from django.conf import settings

from lottery_site import metrics
from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)

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
