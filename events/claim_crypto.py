"""Encryption at rest of winners' personal data (name, phone, address): MultiFernet.

Keys come from ``CLAIM_ENCRYPTION_KEYS``: the first encrypts, every one decrypts, so a key is
rotated by putting a new one first and re-encrypting (``manage.py claims_reencrypt``). Without
keys a development key is derived from SECRET_KEY only when DEBUG is on; otherwise every claim
endpoint refuses with ``claims_unavailable`` (503) rather than store addresses in clear.
"""

import base64
import hashlib
import json
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)


def _keys() -> list[bytes]:
    keys = [key.encode() for key in settings.CLAIM_ENCRYPTION_KEYS]
    if keys:
        return keys
    if settings.DEBUG:
        logger.warning("CLAIM_ENCRYPTION_KEYS is empty: using a development key (DEBUG only)")
        digest = hashlib.sha256(b"claims:" + settings.SECRET_KEY.encode()).digest()
        return [base64.urlsafe_b64encode(digest)]
    raise ApplicationError("claims_unavailable")


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError:  # a malformed key: say so to operators, not to the caller
        logger.error("CLAIM_ENCRYPTION_KEYS holds a key that is not a Fernet key")
        raise ApplicationError("claims_unavailable") from None


def require_keys() -> None:
    """Raise ``claims_unavailable`` now when claims could not be encrypted or read."""
    _fernet()


def encrypt(details: dict) -> str:
    return _fernet().encrypt(json.dumps(details, ensure_ascii=False).encode()).decode()


def decrypt(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        logger.error("a claim could not be decrypted with any configured key")
        raise ApplicationError("claims_unavailable") from None


def reencrypt(token: str) -> str:
    """The same data under the first key (MultiFernet.rotate)."""
    return _fernet().rotate(token.encode()).decode() if token else token
