"""WeChat's open data: what the mini-program's client gets encrypted with the user's session_key
(``wx.getGroupEnterInfo``, ``wx.getChatToolInfo``...), decrypted here, on the server.

WeChat documents the scheme ("开放数据校验与解密", 加密数据解密算法): AES-128-CBC with PKCS#7
padding; the key is the base64-decoded ``session_key`` (16 bytes), the IV the base64-decoded
``iv`` the client received with the data, the ciphertext the base64-decoded ``encryptedData``.
The plaintext is a JSON object; WeChat adds a ``watermark`` ``{appid, timestamp}`` naming the
mini-program the data was made for, which must be ours. (The chat-tool mode's data has been seen
without a watermark: then nothing names another app, and it is taken.)

The session_key is WeChat's, kept server-side only (``accounts.models.User.session_key``, which
the caller passes in): never sent to a client, logged or shown in the admin. A key that does not
open the data is one WeChat has replaced since our last login (each ``wx.login`` may renew it)
or one we never had: the client must log in again (``wechat_session_expired``). Data that opens but is not a WeChat
object for this app is refused with ``OpenDataRefused``, which the caller names.
"""

import base64
import binascii
import json
import logging
import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)

# A group's id for this mini-program (opengid): WeChat's ids are letters, digits, "-" and "_".
_GROUP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# What a client may send: base64 of a few hundred bytes; far more is not WeChat's.
MAX_ENCRYPTED_CHARS = 4096


class OpenDataRefused(ValueError):
    """The data is not WeChat's open data for this mini-program (malformed, another app's)."""


def decrypt(*, session_key: str, encrypted_data: str, iv: str) -> dict:
    """The JSON object WeChat encrypted for this user, its watermark checked.

    Raises ``wechat_session_expired`` when there is no key or the key does not open the data,
    ``OpenDataRefused`` when what was sent cannot be WeChat's (not base64, a wrong IV length,
    a plaintext that is not a JSON object, a watermark naming another app).
    """
    key = _b64(session_key, what="session_key") if session_key else b""
    if len(key) != 16:
        # No key (a development login, a user from before keys were kept) or one that is not
        # WeChat's shape: only a new login gives a usable one.
        raise ApplicationError("wechat_session_expired")
    if len(encrypted_data) > MAX_ENCRYPTED_CHARS:
        raise OpenDataRefused("encrypted_data too long")
    ciphertext, vector = _b64(encrypted_data, what="encrypted_data"), _b64(iv, what="iv")
    if len(vector) != 16 or not ciphertext or len(ciphertext) % 16:
        raise OpenDataRefused("not an AES-128-CBC ciphertext and IV")
    try:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(vector)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        data = json.loads(plain.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        # Wrong padding or garbage after decryption: the key is not the one WeChat used.
        raise ApplicationError("wechat_session_expired") from None
    if not isinstance(data, dict):
        raise OpenDataRefused("not a JSON object")
    _check_watermark(data.get("watermark"))
    return data


def group_id(data: dict) -> str:
    """The group chat's ``opengid`` in decrypted group data (a group, not a one-to-one chat)."""
    opengid = data.get("opengid")
    if not isinstance(opengid, str) or not _GROUP_ID.fullmatch(opengid):
        raise OpenDataRefused("no opengid: not a group chat's data")
    return opengid


def _check_watermark(watermark: object) -> None:
    if watermark is None:
        return
    if not isinstance(watermark, dict) or watermark.get("appid") != settings.WECHAT_APP_ID:
        logger.info("open data refused: its watermark names another app")
        raise OpenDataRefused("watermark of another app")


def _b64(value: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        if what == "session_key":
            raise ApplicationError("wechat_session_expired") from None
        raise OpenDataRefused(f"{what} is not base64") from None
