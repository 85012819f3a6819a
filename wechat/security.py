"""WeChat's content security: ``msg_sec_check`` (text) and ``media_check_async`` (pictures),
and the signed (optionally encrypted) callback that brings a picture's verdict.

Text is checked synchronously, before the write that publishes it; a picture is submitted
after it is stored and judged later, by a callback to ``/api/v1/wechat/callback``. Both are
switched on by WECHAT_CONTENT_CHECK. The access token is the shared stable token of
``wechat.access_token``. Nothing here runs inside a database transaction: callers check first,
then write.

Scenes (WeChat's v2 API): 1 profile (nicknames), 2 comment (a cancel reason: a short note to
the entrants), 3 forum (an event's title, description and prize names: a public post).
"""

import base64
import hashlib
import hmac
import logging
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.utils.translation import gettext as _

from lottery_site.api import strict_json_loads
from lottery_site.errors import ApplicationError
from wechat.access_token import post_with_token

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


def texts_check(*, texts: dict[str, str], openid: str | None, scene: int) -> bool:
    """Check each non-empty text (field name -> text) written by the user ``openid``.

    Raises ``content_risky`` (400, naming the fields) when WeChat says "risky"; "review" is
    let through (WeChat's own advice: publish, a human may look later). When WeChat does not
    answer: with WECHAT_CONTENT_CHECK_ON_ERROR=refuse, ``wechat_unavailable`` (503); with
    ``accept``, returns False: the caller writes and marks the object for the re-check.
    Returns True when everything was checked (or checking is off, or the author is staff
    without an openid). ``accounts.services.user_texts_check`` finds a User's openid first.
    """
    if not enabled() or not openid:
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


def msg_sec_check(content: str, *, openid: str, scene: int) -> Verdict:
    """WeChat's verdict on one text; ApplicationError when WeChat gives none."""
    body = {
        "content": content[:MAX_CHECK_CHARS],
        "version": 2,
        "scene": scene,
        "openid": openid,
    }
    payload = post_with_token("/wxa/msg_sec_check", body)
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
    trace_id = post_with_token("/wxa/media_check_async", body).get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise ApplicationError("wechat_bad_gateway")
    return trace_id


# --- the callback (message push) ------------------------------------------------------------
#
# WeChat signs each push with the token (WECHAT_CALLBACK_TOKEN): in plain mode ``signature`` is
# SHA-1 over the sorted [token, timestamp, nonce], which does not cover the body; in safe mode
# (encrypt_type=aes) ``msg_signature`` also covers ``Encrypt``, the encrypted message. So plain
# mode is refused once an AES key is set, a push must be recent (its timestamp within
# WECHAT_CALLBACK_MAX_SKEW_SECONDS of our clock) and each (timestamp, nonce) is taken once
# (``accounts.services.wechat_push_once``).


@dataclass(frozen=True)
class Push:
    """A pushed message whose shape, signature and age were checked; ``timestamp`` and ``nonce``
    make it unique."""

    message: dict
    timestamp: int
    nonce: str


@dataclass(frozen=True)
class MediaVerdict:
    trace_id: str
    suggest: str
    label: int | None


VERDICTS = ("pass", "review", "risky")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_TRACE_ID = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, as long as Upload.trace_id


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def _signed(sig: object, *parts: str) -> bool:
    token = settings.WECHAT_CALLBACK_TOKEN
    if not token or not isinstance(sig, str):
        return False
    # Bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, so a 500).
    return hmac.compare_digest(signature(token, *parts).encode(), sig.encode(errors="replace"))


def _malformed(field: str) -> ApplicationError:
    return ApplicationError("invalid_input", data={field: [_("Not a WeChat message.")]})


def _stamp(query) -> tuple[str, str]:
    """The push's timestamp and nonce as sent; ``invalid_input`` when either is not WeChat's."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise _malformed("timestamp")
    if not _NONCE.fullmatch(nonce):
        raise _malformed("nonce")
    return timestamp, nonce


def verify_url(*, query) -> None:
    """The GET with which WeChat checks the server URL: its plain signature (it only echoes)."""
    timestamp, nonce = _stamp(query)
    if not _signed(query.get("signature"), timestamp, nonce):
        raise ApplicationError("wechat_signature_invalid")


def _json_object(raw: bytes | str, *, field: str = "body") -> dict:
    """A JSON object, or ``invalid_input`` naming ``field`` (deep nesting included)."""
    try:
        message = strict_json_loads(raw)  # the API's own rules: a hostile body is a 400
    except ValueError:
        message = None
    if not isinstance(message, dict):
        if field == "body" and raw.lstrip()[:1] in (b"<", "<"):
            logger.warning("WeChat pushed XML: set the message push's data format to JSON")
        raise _malformed(field)
    return message


def _check_fresh(timestamp: str, now: datetime) -> None:
    skew = abs(now.timestamp() - int(timestamp))
    if skew > settings.WECHAT_CALLBACK_MAX_SKEW_SECONDS:
        logger.warning("WeChat push refused: timestamp %ss from our clock", int(skew))
        raise ApplicationError("wechat_callback_stale")


def open_push(*, body: bytes, query, now: datetime) -> Push:
    """The pushed message, its shape, signature and age checked and, in safe mode, decrypted.

    Refuses, in this order: a push that is not WeChat's shape (400 ``invalid_input`` naming
    ``timestamp``, ``nonce``, ``body`` or ``Encrypt``); plain mode while WECHAT_CALLBACK_AES_KEY
    is set (403 ``wechat_callback_plain_refused``); a wrong signature (403
    ``wechat_signature_invalid``); a timestamp too far from ``now`` (403
    ``wechat_callback_stale``); a ciphertext that does not decrypt (400) or holds another app's
    message (403 ``wechat_signature_invalid``). A replay of an accepted push is refused by
    ``accounts.services.wechat_push_once``, which the caller wraps around its work.
    """
    timestamp, nonce = _stamp(query)
    message = _json_object(body or b"{}")
    if query.get("encrypt_type") == "aes" or "Encrypt" in message:
        encrypted = message.get("Encrypt")
        if not isinstance(encrypted, str) or not _BASE64.fullmatch(encrypted):
            raise _malformed("Encrypt")
        if not _signed(query.get("msg_signature"), timestamp, nonce, encrypted):
            raise ApplicationError("wechat_signature_invalid")
        _check_fresh(timestamp, now)
        message = _json_object(decrypt(encrypted), field="Encrypt")
    else:
        if settings.WECHAT_CALLBACK_AES_KEY:
            raise ApplicationError("wechat_callback_plain_refused")
        if not _signed(query.get("signature"), timestamp, nonce):
            raise ApplicationError("wechat_signature_invalid")
        _check_fresh(timestamp, now)
    return Push(message=message, timestamp=int(timestamp), nonce=nonce)


def media_verdict(message: dict) -> MediaVerdict | None:
    """The picture verdict in a pushed message; None for any other event; ``invalid_input``
    for a ``wxa_media_check`` event without a usable ``trace_id`` or ``result.suggest``."""
    if message.get("Event") != "wxa_media_check":
        return None
    trace_id, result = message.get("trace_id"), message.get("result")
    if not isinstance(trace_id, str) or not _TRACE_ID.fullmatch(trace_id):
        raise _malformed("trace_id")
    if not isinstance(result, dict) or result.get("suggest") not in VERDICTS:
        raise _malformed("result")
    label = result.get("label")
    label = label if isinstance(label, int) and not isinstance(label, bool) else None
    return MediaVerdict(trace_id, result["suggest"], label)


# Safe mode: AES-256-CBC with the EncodingAESKey, IV its first 16 bytes, PKCS#7 padding to 32
# bytes; the plaintext is 16 random bytes, the message length (4 bytes, big-endian), the
# message, and the app id.
_BLOCK = 32


def _aes_key() -> bytes:
    key = settings.WECHAT_CALLBACK_AES_KEY  # its shape is checked by the settings
    if not key:
        logger.error("WeChat pushed in safe mode but WECHAT_CALLBACK_AES_KEY is not set")
        raise ApplicationError("wechat_signature_invalid")
    return base64.b64decode(key + "=")


def _unpad(plain: bytes) -> bytes:
    pad = plain[-1] if plain else 0
    if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("bad padding")
    return plain[:-pad]


def decrypt(encrypted: str) -> str:
    """The message inside a safe-mode ``Encrypt``: ``invalid_input`` (400) when it is not a
    ciphertext WeChat makes (base64, whole blocks, padding, length, UTF-8), and
    ``wechat_signature_invalid`` (403) when it is another app's message."""
    key = _aes_key()
    try:
        raw = base64.b64decode(encrypted, validate=True)
        if not raw or len(raw) % 16:
            raise ValueError("not whole AES blocks")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise ValueError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise ValueError("length beyond the end")
        message = plain[20 : 20 + length].decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise _malformed("Encrypt") from None
    if not hmac.compare_digest(plain[20 + length :], settings.WECHAT_APP_ID.encode()):
        logger.warning("WeChat push for another app refused")
        raise ApplicationError("wechat_signature_invalid")
    return message


def encrypt(message: str, *, appid: str | None = None) -> str:
    """The inverse of ``decrypt`` (what WeChat does); for tests and the fake WeChat."""
    key = _aes_key()
    raw = message.encode()
    plain = secrets.token_bytes(16) + struct.pack(">I", len(raw)) + raw
    plain += (settings.WECHAT_APP_ID if appid is None else appid).encode()
    pad = _BLOCK - len(plain) % _BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
