"""JWT authentication that makes no round trip on most requests.

The access token says who the caller is (``uid``, and ``pid``, the public id a join records);
what it cannot say is whether the user was banned since it was issued. Each process keeps the
set of inactive user ids, read from the database at most every AUTH_BAN_CHECK_SECONDS (one
indexed query per process and interval, whatever the traffic). So a ban acts within that bound
however it was written: through ``accounts.services``, the admin, ``user.save()`` in a shell or a
``.update(is_active=False)`` in a data migration. Through the service or the admin it acts at
once in the process that wrote it. This does not depend on Redis: a Redis outage changes
nothing here.

Verifying a token (PyJWT: base64, HMAC, JSON, claim checks) is the largest part of what is left
per request. Each process remembers the access tokens it has verified (``VERIFIED_TOKENS``),
keyed by the whole token string, signature included, until each one's own expiry; a token seen
again skips PyJWT. Nothing else changes: the ban check above runs on every request, a token
that failed is never remembered, and access tokens have no revocation of their own (logout
blacklists the refresh token; an access token lives until its ``exp``, remembered or not).
PyJWT itself is used as it comes: its algorithm registry is not touched (an HS256 key check run
once per key instead of once per token saved ~8 µs per token PyJWT verifies, timed in a loop;
with the memo above that is the first request of a token in each process, below what any
endpoint benchmark can see, so the trick and its global patch were dropped).

``request.user`` is a User carrying the id, the public id and ``is_active`` only; its other
fields are loaded from the database if something reads them (rendering a creator, /me). Code
that writes to the user reloads it from the database.
"""

import threading
import time
from collections import OrderedDict
from datetime import timedelta

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from accounts.models import User
from lottery_site import caches
from lottery_site import request_id as log_context

# The claim that carries the user's public id (never changes, see accounts.models.User).
PUBLIC_ID_CLAIM = "pid"


class InactiveUsers:
    """The ids of inactive users, as the database had them at most AUTH_BAN_CHECK_SECONDS ago."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: frozenset[int] = frozenset()
        self._next_check = 0.0

    def __contains__(self, user_id: int) -> bool:
        if time.monotonic() >= self._next_check:
            self.reload()
        return user_id in self._ids

    def reload(self) -> None:
        with self._lock:
            if time.monotonic() < self._next_check:
                return  # another thread just did
            # A covering index (accounts_user_inactive) keeps this to the banned rows.
            ids = User.objects.filter(is_active=False).values_list("pk", flat=True)
            self._ids = frozenset(ids)
            self._next_check = time.monotonic() + settings.AUTH_BAN_CHECK_SECONDS

    def expire(self) -> None:
        """Read the set again on the next request (this process wrote a ban or an unban)."""
        self._next_check = 0.0


INACTIVE_USERS = InactiveUsers()
caches.register(
    name="auth.inactive_users",
    holds="the ids of inactive (banned) users",
    where=caches.PROCESS,
    freshness="re-read from the database at most every AUTH_BAN_CHECK_SECONDS (periodic reload)",
    invalidated_by="user_access_changed (a ban or an unban through the service or the admin): "
    "re-read at once in the process that wrote it",
    benchmark="bench/join: /bench/authenticated 0.47 -> 0.82 of the bare view, with no Redis "
    'round trip per request (docs/benchmarks.md, "Issue 10: authentication without a Redis '
    'round trip")',
    reset=INACTIVE_USERS.expire,
)


def user_access_changed(user_id: int) -> None:
    """``user_id`` was banned, unbanned or edited: this process sees it on its next request.

    Other processes see it within AUTH_BAN_CHECK_SECONDS. (Profile fields are never cached, so
    an edit needs nothing more.)
    """
    INACTIVE_USERS.expire()


class VerifiedTokens:
    """Access tokens this process has verified, until their expiry: at most AUTH_TOKEN_MEMO_SIZE.

    The key is the raw token, every byte of it: a hit is a token identical to one that passed
    PyJWT's verification. The oldest entry makes room for a new one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: OrderedDict[bytes, tuple[object, float]] = OrderedDict()

    def get(self, raw_token: bytes):
        """The verified token for ``raw_token``, or None (never seen, or expired since)."""
        hit = self._tokens.get(raw_token)
        if hit is None:
            return None
        token, valid_until = hit
        if time.time() >= valid_until:  # verifying it again raises "expired"
            self._tokens.pop(raw_token, None)
            return None
        return token

    def put(self, raw_token: bytes, token) -> None:
        size = settings.AUTH_TOKEN_MEMO_SIZE
        if size <= 0:
            return
        # Valid while exp > now - leeway, as simplejwt's and PyJWT's own checks have it.
        leeway = api_settings.LEEWAY
        leeway = leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway or 0)
        valid_until = float(token["exp"]) + leeway
        with self._lock:
            self._tokens[raw_token] = (token, valid_until)
            while len(self._tokens) > size:
                self._tokens.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


VERIFIED_TOKENS = VerifiedTokens()
caches.register(
    name="auth.verified_tokens",
    holds="access tokens this process has verified (the whole token, signature included)",
    where=caches.PROCESS,
    freshness="each until its own expiry (exp + leeway); a ban still acts through "
    "auth.inactive_users on every request",
    invalidated_by="its expiry; a change of the signing key or lifetime settings (tests)",
    benchmark="bench/join: /bench/authenticated 0.532 -> 0.640 of the bare view, 0.486 with "
    'the memo off (docs/benchmarks.md, "Issue 10, speed: verified tokens remembered...")',
    reset=VERIFIED_TOKENS.clear,
)


@receiver(setting_changed)
def _forget_verified_tokens(*, setting, **kwargs) -> None:
    # A new signing key or lifetime (tests) must not meet tokens verified under the old one.
    if setting in ("SIMPLE_JWT", "SECRET_KEY", "AUTH_TOKEN_MEMO_SIZE"):
        VERIFIED_TOKENS.clear()


def token_user(user_id: int, public_id: str | None) -> User:
    """The caller as a User with what the token says; other fields load when first read."""
    if public_id:
        return User.from_db("default", ["id", "public_id", "is_active"], [user_id, public_id, True])
    # Tokens issued before the public id was a claim: it loads from the database if needed.
    return User.from_db("default", ["id", "is_active"], [user_id, True])


class CachedUserJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes):
        token = VERIFIED_TOKENS.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)  # raises if not valid
            VERIFIED_TOKENS.put(raw_token, token)
        return token

    def get_user(self, validated_token) -> User:
        user_id = self.user_id(validated_token)
        if user_id in INACTIVE_USERS:
            raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
        public_id = validated_token.get(PUBLIC_ID_CLAIM)
        if public_id:
            log_context.user_id.set(public_id)  # every later log line of the request names them
        return token_user(user_id, public_id)

    @staticmethod
    def user_id(validated_token) -> int:
        try:
            return int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError):
            raise exceptions.AuthenticationFailed(
                "Token contained no recognizable user identification", code="token_not_valid"
            ) from None


class CachedUserJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CachedUserJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
