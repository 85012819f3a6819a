"""The only write path for user accounts."""

from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.authentication import PUBLIC_ID_CLAIM, user_access_changed
from accounts.models import User, UserActionLog
from accounts.wechat import WeChatSession
from lottery_site.errors import ApplicationError


def user_login(
    *, session: WeChatSession, nickname: str | None = None, avatar_url: str | None = None
) -> tuple[User, bool]:
    """Find or create the user behind a WeChat session; returns (user, created).

    Two logins racing for a new openid both end on the same row: the unique constraint on
    openid decides, and the loser reads the winner's row. A deactivated user is refused.
    """
    profile = {k: v for k, v in (("nickname", nickname), ("avatar_url", avatar_url)) if v}
    user = User.objects.filter(openid=session.openid).first()
    created = False
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create(
                    openid=session.openid,
                    unionid=session.unionid,
                    session_key=session.session_key,
                    **profile,
                )
                created = True
        except IntegrityError:
            user = User.objects.get(openid=session.openid)
    if not user.is_active:
        raise ApplicationError("account_disabled")
    if not created:
        changes = {"session_key": session.session_key, **profile}
        if session.unionid:
            changes["unionid"] = session.unionid
        User.objects.filter(pk=user.pk).update(**changes)
        for field, value in changes.items():
            setattr(user, field, value)
    return user, created


def user_update_profile(
    *, user: User, nickname: str | None = None, avatar_url: str | None = None
) -> User:
    changes = {
        k: v for k, v in (("nickname", nickname), ("avatar_url", avatar_url)) if v is not None
    }
    if changes:
        User.objects.filter(pk=user.pk).update(**changes)  # nothing of it is cached
    return User.objects.get(pk=user.pk)


def user_deactivate(*, user: User, actor: User | None, reason: str) -> bool:
    """Ban a user: their tokens stop working on the next request. False if already inactive."""
    with transaction.atomic():
        changed = User.objects.filter(pk=user.pk, is_active=True).update(
            is_active=False, deactivated_reason=reason[:200]
        )
        if changed:
            UserActionLog.objects.create(
                user_id=user.pk, actor=actor, action="deactivate", reason=reason[:200]
            )
    user_access_changed(user.pk)
    return bool(changed)


def user_reactivate(*, user: User, actor: User | None, reason: str = "") -> bool:
    with transaction.atomic():
        changed = User.objects.filter(pk=user.pk, is_active=False).update(
            is_active=True, deactivated_reason=""
        )
        if changed:
            UserActionLog.objects.create(
                user_id=user.pk, actor=actor, action="reactivate", reason=reason[:200]
            )
    user_access_changed(user.pk)
    return bool(changed)


def tokens_for(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    # Copied into every access token made from it: a join records the public id without a query.
    refresh[PUBLIC_ID_CLAIM] = user.public_id
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Trade a refresh token for a new pair, at most once; raises token_invalid, user_inactive.

    Several pages of one mini-program often refresh the same token at the same moment. Reading
    the blacklist and then writing it (simplejwt's rotation) let two of eight win and leave two
    live token families. Here the claim is the blacklist INSERT itself: BlacklistedToken.token
    is one-to-one, so the database accepts it once, every other caller gets token_invalid, and
    the new pair is issued in the same transaction as the claim.
    """
    try:
        token = RefreshToken(refresh)  # signature, expiry, and already blacklisted
    except TokenError:
        raise ApplicationError("token_invalid") from None
    user = User.objects.filter(pk=token.payload.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None:
        raise ApplicationError("token_invalid")
    if not user.is_active:
        raise ApplicationError("user_inactive")
    outstanding = _outstanding(token, user)
    with transaction.atomic():
        try:
            with transaction.atomic():
                BlacklistedToken.objects.create(token=outstanding)
        except IntegrityError:
            raise ApplicationError("token_invalid") from None
        return tokens_for(user)


def _outstanding(token: RefreshToken, user: User) -> OutstandingToken:
    """The token's OutstandingToken row (written at issue; made here for older tokens)."""
    row, _ = OutstandingToken.objects.get_or_create(
        jti=token.payload[jwt_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "created_at": token.current_time,
            "token": str(token),
            "expires_at": datetime_from_epoch(token.payload["exp"]),
        },
    )
    return row
