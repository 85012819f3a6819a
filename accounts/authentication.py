"""JWT authentication that does not query the database on every request.

simplejwt's default authentication loads the user row per request; on the hot paths (join, event
detail) that query costs more than the work itself. We keep a small snapshot of each user in the
cache instead, and every write that matters for authentication (deactivation, profile change)
forgets it through ``accounts.services``, so a deactivated user's tokens stop working at once.
The snapshot is read in the same Redis round trip that counts the request for the per-user
throttle (``lottery_site.throttling``).
"""

from collections.abc import Iterable

from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from accounts.models import User
from lottery_site import request_id as log_context
from lottery_site.throttling import UserRateThrottle

SNAPSHOT_FIELDS = ("id", "public_id", "nickname", "avatar_url", "is_active", "is_staff")
SNAPSHOT_TTL_SECONDS = 300


def snapshot_key(user_id: int) -> str:
    return f"auth:user:{user_id}"


def forget_user_snapshot(user_id: int) -> None:
    cache.delete(snapshot_key(user_id))


def remember_user_snapshots(users: Iterable[User]) -> None:
    """Cache the snapshots of users who just logged in: their next calls need no user query."""
    snapshots = {
        snapshot_key(user.pk): {field: getattr(user, field) for field in SNAPSHOT_FIELDS}
        for user in users
    }
    cache.set_many(snapshots, SNAPSHOT_TTL_SECONDS)


def load_user_snapshot(user_id: int) -> User | None:
    """An unsaved-looking User built from the cache (or the database once, then cached)."""
    return user_from_snapshot(user_id, cache.get(snapshot_key(user_id)))


def user_from_snapshot(user_id: int, data: dict | None) -> User | None:
    """The User of ``data`` as read from the cache; None read: from the database, then cached.

    The instance carries only SNAPSHOT_FIELDS: enough to authenticate, to be a foreign key and to
    render a creator or an entrant. Code that writes to the user reloads it from the database.
    """
    if data is None:
        data = User.objects.filter(pk=user_id).values(*SNAPSHOT_FIELDS).first()
        if data is None:
            return None
        cache.set(snapshot_key(user_id), data, SNAPSHOT_TTL_SECONDS)
    user = User(**data)
    user._state.adding = False
    user._state.db = "default"
    return user


class CachedUserJWTAuthentication(JWTAuthentication):
    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        validated_token = self.get_validated_token(raw_token)
        user_id = self.user_id(validated_token)
        data = UserRateThrottle.get_with_count(
            request, user_id=user_id, get_key=snapshot_key(user_id)
        )
        user = self.checked(user_from_snapshot(user_id, data))
        log_context.user_id.set(user.public_id)  # every later log line of the request names them
        return user, validated_token

    def get_user(self, validated_token):
        return self.checked(load_user_snapshot(self.user_id(validated_token)))

    @staticmethod
    def user_id(validated_token) -> int:
        try:
            return int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError):
            raise exceptions.AuthenticationFailed(
                "Token contained no recognizable user identification", code="token_not_valid"
            ) from None

    @staticmethod
    def checked(user: User | None) -> User:
        if user is None:
            raise exceptions.AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
        return user


class CachedUserJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CachedUserJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
