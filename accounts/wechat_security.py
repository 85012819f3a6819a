"""WeChat's content security: ``msg_sec_check`` (text) and ``media_check_async`` (pictures),
and the signed (optionally encrypted) callback that brings a picture's verdict.

Text is checked synchronously, before the write that publishes it; a picture is submitted
after it is stored and judged later, by a callback to ``/api/v1/wechat/callback``. Both are
switched on by WECHAT_CONTENT_CHECK. The access token is the shared stable token of
``wechat_messages``. Nothing here runs inside a database transaction: callers check first,
then write.

Scenes (WeChat's v2 API): 1 profile (nicknames), 2 comment (a cancel reason: a short note to
the entrants), 3 forum (an event's title, description and prize names: a public post).
"""

import base64
import hashlib
import hmac
import logging
import secrets
import struct
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.utils.translation import gettext as _

from accounts import wechat_messages
from accounts.wechat import call_wechat
from accounts.wechat_messages import TOKEN_REJECTED, get_access_token, invalidate_access_token
from lottery_site.api import strict_json_loads
from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)

SCENE_PROFILE = 1
SCENE_COMMENT = 2
SCENE_FORUM = 3
SCENE_SOCIAL_LOG = 4

# msg_sec_check takes at most 2500 characters per call.
MAX_CHECK_CHARS = 2500

Verdict = Literal["pass", "review", "risky"]


def enabled() -> bool:
    return settings.WECHAT_CONTENT_CHECK


# --- text -----------------------------------------------------------------------------------


def texts_check(*, texts: dict[str, str], author, scene: int) -> bool:
    """Check each non-empty text (field name -> text) written by ``author`` (a User).

    Raises ``content_risky`` (400, naming the fields) when WeChat says "risky"; "review" is
    let through (WeChat's own advice: publish, a human may look later). When WeChat does not
    answer: with WECHAT_CONTENT_CHECK_ON_ERROR=refuse, ``wechat_unavailable`` (503); with
    ``accept``, returns False: the caller writes and marks the object for the re-check.
    Returns True when everything was checked (or checking is off, or the author is staff
    without an openid).
    """
    if not enabled():
        return True
    openid = openid_of(author)
    if not openid:
        return True
    risky, unchecked = [], False
    for field, text in texts.items():
        if not text or not text.strip():
            continue
        try:
            verdict = msg_sec_check(text, openid=openid, scene=scene)
        except Exception as exc:  # noqa: BLE001 - WeChat unreachable or refusing, or the cache down
            # A content check must not depend on Redis: a cache failure is "no answer" too.
            logger.warning("msg_sec_check gave no verdict: %s", type(exc).__name__)
            if settings.WECHAT_CONTENT_CHECK_ON_ERROR != "accept":
                raise ApplicationError("wechat_unavailable") from None
            unchecked = True  # accepted, to re-check; no use waiting for WeChat again now
            break
        if verdict == "risky":
            risky.append(field)
    if risky:
        message = _("WeChat's content check judged this risky.")
        raise ApplicationError("content_risky", data={field: [message] for field in risky})
    return not unchecked


def openid_of(user) -> str | None:
    # A request's user is a cached snapshot without the openid (accounts.authentication).
    if user.openid:
        return user.openid
    return type(user).objects.filter(pk=user.pk).values_list("openid", flat=True).first()


def msg_sec_check(content: str, *, openid: str, scene: int) -> Verdict:
    """WeChat's verdict on one text; ApplicationError when WeChat gives none."""
    body = {
        "content": content[:MAX_CHECK_CHARS],
        "version": 2,
        "scene": scene,
        "openid": openid,
    }
    payload = _post("/wxa/msg_sec_check", body)
    suggest = (payload.get("result") or {}).get("suggest")
    if suggest not in ("pass", "review", "risky"):
        raise ApplicationError("wechat_bad_gateway")
    return suggest


# --- pictures -------------------------------------------------------------------------------


def media_check_async(*, media_url: str, openid: str, scene: int = SCENE_PROFILE) -> str:
    """Submit a picture for checking; WeChat's ``trace_id``, whose verdict comes by callback."""
    body = {
        "media_url": media_url,
        "media_type": 2,  # a picture
        "version": 2,
        "scene": scene,
        "openid": openid,
    }
    trace_id = _post("/wxa/media_check_async", body).get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise ApplicationError("wechat_bad_gateway")
    return trace_id


def _access_token() -> str:
    """The shared token; when its cache (Redis) is down, one straight from WeChat.

    A content check must not depend on Redis: stable_token hands out the same token to every
    caller until it nears expiry, so asking for it directly is safe, only slower.
    """
    try:
        return get_access_token()
    except ApplicationError:
        raise
    except Exception as exc:  # noqa: BLE001 - the cache backend's own connection errors
        logger.warning("access token cache unavailable (%s): asking WeChat", type(exc).__name__)
        return wechat_messages._fetch_stable_token(force_refresh=False)[0]


def _post(path: str, body: dict) -> dict:
    token = _access_token()
    payload = call_wechat("POST", path, params={"access_token": token}, json=body)
    if payload.get("errcode") in TOKEN_REJECTED:
        invalidate_access_token(token)
        payload = call_wechat("POST", path, params={"access_token": _access_token()}, json=body)
    errcode = payload.get("errcode") or 0
    if errcode:
        logger.warning("%s refused: errcode=%s", path, errcode)
        name = "wechat_unavailable" if errcode in (-1, 45009, 45011) else "wechat_bad_gateway"
        raise ApplicationError(name, data={"errcode": errcode})
    return payload


# --- the callback (message push) ------------------------------------------------------------


@dataclass(frozen=True)
class MediaVerdict:
    trace_id: str
    suggest: str
    label: int | None


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def verify_url(*, sig: str, timestamp: str, nonce: str) -> None:
    """The plain signature of a callback (and of the GET that verifies the server URL)."""
    token = settings.WECHAT_CALLBACK_TOKEN
    if not token or not hmac.compare_digest(signature(token, timestamp, nonce), sig or ""):
        raise ApplicationError("wechat_signature_invalid")


def _json_object(raw: bytes | str) -> dict:
    """A JSON object, or ``invalid_input`` naming the body (deep nesting included)."""
    try:
        message = strict_json_loads(raw)  # the API's own rules: a hostile body is a 400
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise ApplicationError("invalid_input", data={"body": [_("Not a WeChat message.")]})
    return message


def open_message(*, body: bytes, query: dict[str, str]) -> dict:
    """The pushed message as a dict, its signature checked and, in safe mode, decrypted.

    Raises ``wechat_signature_invalid`` for a wrong signature, a message that does not
    decrypt, or one for another app; ``invalid_input`` for a body that is not JSON.
    """
    message = _json_object(body or b"{}")
    if query.get("encrypt_type") == "aes" or "Encrypt" in message:
        encrypted = message.get("Encrypt")
        token = settings.WECHAT_CALLBACK_TOKEN
        expected = signature(token, query.get("timestamp", ""), query.get("nonce", ""), encrypted)
        if (
            not token
            or not isinstance(encrypted, str)
            or not hmac.compare_digest(expected, query.get("msg_signature", ""))
        ):
            raise ApplicationError("wechat_signature_invalid")
        return _json_object(decrypt(encrypted))
    verify_url(
        sig=query.get("signature", ""),
        timestamp=query.get("timestamp", ""),
        nonce=query.get("nonce", ""),
    )
    return message


def media_verdict(message: dict) -> MediaVerdict | None:
    """The picture verdict in a pushed message; None for any other event."""
    if message.get("Event") != "wxa_media_check" or not message.get("trace_id"):
        return None
    result = message.get("result") or {}
    suggest = result.get("suggest")
    if suggest not in ("pass", "review", "risky"):
        return None
    return MediaVerdict(str(message["trace_id"]), suggest, result.get("label"))


# Safe mode: AES-256-CBC with the EncodingAESKey, IV its first 16 bytes, PKCS#7 padding to 32
# bytes; the plaintext is 16 random bytes, the message length (4 bytes, big-endian), the
# message, and the app id.
_BLOCK = 32


def _aes_key() -> bytes:
    key = settings.WECHAT_CALLBACK_AES_KEY
    if len(key) != 43:
        raise ApplicationError("wechat_signature_invalid")
    return base64.b64decode(key + "=")


def decrypt(encrypted: str) -> str:
    try:
        key = _aes_key()
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK:
            raise ValueError("bad padding")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        message, appid = plain[20 : 20 + length], plain[20 + length :]
    except (ValueError, struct.error, TypeError):
        raise ApplicationError("wechat_signature_invalid") from None
    if appid.decode(errors="replace") != settings.WECHAT_APP_ID:
        raise ApplicationError("wechat_signature_invalid")
    return message.decode()


def encrypt(message: str) -> str:
    """The inverse of ``decrypt`` (what WeChat does); for tests and the fake WeChat."""
    key = _aes_key()
    raw = message.encode()
    plain = secrets.token_bytes(16) + struct.pack(">I", len(raw)) + raw
    plain += settings.WECHAT_APP_ID.encode()
    pad = _BLOCK - len(plain) % _BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
