"""Opaque public ids: what the API shows instead of sequential primary keys.

A prefix tells a human what kind of object an id names; 16 random characters of [0-9a-z]
(~82 bits) make ids impossible to enumerate or guess.

Lower case only, on purpose: the draw orders entrants by user public id, and with one case
MySQL's case-insensitive collation, SQLite and Python all sort these ids the same, bytewise.
"""

import re
import secrets
import string

_ALPHABET = string.digits + string.ascii_lowercase
PUBLIC_ID_LENGTH = 16


# The exact form, checked before any lookup of an id a client sent: MySQL's default collation
# compares case-insensitively and ignores trailing spaces, so without it "E_…", "U_…", "IMG_…" and
# "c_…%20" found their row and the alias was echoed back as if it were its id.
_EXACT_FORM = re.compile(rf"[a-z]+_[0-9a-z]{{{PUBLIC_ID_LENGTH}}}")


def new_public_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def user_public_id() -> str:
    return new_public_id("u_")


def event_public_id() -> str:
    return new_public_id("e_")


def prize_public_id() -> str:
    return new_public_id("p_")


def claim_public_id() -> str:
    return new_public_id("c_")


def is_public_id(value: str, prefix: str) -> bool:
    """True when ``value`` has exactly the form ``new_public_id(prefix)`` makes."""
    return value.startswith(prefix) and _EXACT_FORM.fullmatch(value) is not None


def upload_public_id() -> str:
    return new_public_id("img_")
