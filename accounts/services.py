"""The only write path for user accounts and their uploaded pictures."""

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import personal_data
from accounts.authentication import PUBLIC_ID_CLAIM, user_access_changed
from accounts.images import process_image
from accounts.models import PrivacyConsent, Upload, User, UserActionLog, WeChatPush
from accounts.permissions import PRIVACY_VERSION_CLAIM
from accounts.signals import ban_changed
from lottery_site import media
from lottery_site.errors import ApplicationError
from lottery_site.ids import is_public_id, upload_public_id
from wechat import security
from wechat.session import WeChatSession

logger = logging.getLogger(__name__)


def user_login(
    *,
    session: WeChatSession,
    nickname: str | None = None,
    avatar_url: str | None = None,
    privacy_version: str | None = None,
    now: datetime | None = None,
) -> tuple[User, bool]:
    """Find or create the user behind a WeChat session; returns (user, created).

    Two logins racing for a new openid both end on the same row: the unique constraint on
    openid decides, and the loser reads the winner's row. A deactivated user is refused.
    ``privacy_version``, the policy version the user accepted on the login page, is recorded
    when it is the current one; another (a client showing an old policy) is ignored, and the
    consent gate asks again. A deleted account's openid was erased: its person gets a new one.
    """
    user = User.objects.filter(openid=session.openid).first()
    if nickname and (user is None or nickname != user.nickname):
        nickname = _login_nickname(nickname, openid=session.openid)
    profile = {k: v for k, v in (("nickname", nickname), ("avatar_url", avatar_url)) if v}
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
    current = settings.PRIVACY_POLICY_VERSION
    if privacy_version and privacy_version == current and user.privacy_version != current:
        privacy_consent_record(
            user=user,
            version=current,
            source=PrivacyConsent.Source.LOGIN,
            now=now or timezone.now(),
        )
        user.privacy_version = current
    return user, created


def privacy_consent_record(*, user: User, version: str, source: str, now: datetime) -> User:
    """Record that ``user`` accepted ``version`` of the privacy policy (append-only).

    Only the current version can be accepted (``privacy_version_outdated`` otherwise, also
    while no version is set): a client that showed an older text must show the current one.
    Accepting the version already accepted again changes nothing.
    """
    current = settings.PRIVACY_POLICY_VERSION
    if not current or version != current:
        raise ApplicationError("privacy_version_outdated", data={"version": current})
    with transaction.atomic():
        changed = (
            User.objects.filter(pk=user.pk)
            .exclude(privacy_version=version)
            .update(privacy_version=version)
        )
        if changed:
            PrivacyConsent.objects.create(
                user_id=user.pk, version=version, source=source, accepted_at=now
            )
    return User.objects.select_related("avatar").get(pk=user.pk)


def user_pseudonym(user: User) -> str:
    """A stable pseudonym of the person behind ``user``: an HMAC of their WeChat openid.

    Kept in records the law asks us to keep after an account is deleted (docs/privacy.md): it
    names nobody by itself, yet the same person logging in again (same openid) can be matched to
    them by whoever holds PRIVACY_PSEUDONYM_KEY. Staff accounts (no openid) use their public id.
    """
    return salted_hmac(
        "accounts.pseudonym",
        user.openid or user.public_id,
        secret=settings.PRIVACY_PSEUDONYM_KEY or None,
        algorithm="sha256",
    ).hexdigest()


def _login_nickname(nickname: str, *, openid: str) -> str | None:
    """A new nickname sent with a login, if WeChat's check passes it; else it is dropped (a
    login never fails for a nickname: the user can set another one with PATCH /me)."""
    try:
        checked = security.texts_check(
            texts={"nickname": nickname}, openid=openid, scene=security.SCENE_PROFILE
        )
    except ApplicationError:
        return None
    return nickname if checked else None


def user_texts_check(*, texts: dict[str, str], author: User, scene: int) -> bool:
    """WeChat's content check of texts ``author`` wrote (``wechat.security.texts_check``: it
    raises ``content_risky``, or returns False when accepted unchecked). The author's openid is
    read only when checking is on."""
    if not security.enabled():
        return True
    return security.texts_check(texts=texts, openid=openid_of(author), scene=scene)


def openid_of(user: User) -> str | None:
    # A request's user is a cached snapshot without the openid (accounts.authentication).
    if user.openid:
        return user.openid
    return User.objects.filter(pk=user.pk).values_list("openid", flat=True).first()


def user_update_profile(
    *,
    user: User,
    now: datetime | None = None,
    nickname: str | None = None,
    avatar_url: str | None = None,
    avatar: str | None = None,
    show_on_public_lists: bool | None = None,
) -> User:
    """Change what was given (None: unchanged). ``avatar`` is the id of the caller's own upload
    with purpose "avatar" (``upload_unusable`` otherwise); "" removes the uploaded avatar.
    ``show_on_public_lists``: the user's choice to appear unmasked on winner and entrant lists.

    A new nickname goes through WeChat's content check first (outside the transaction):
    ``content_risky`` (400), or ``wechat_unavailable`` (503) when WeChat does not answer and
    WECHAT_CONTENT_CHECK_ON_ERROR is refuse; with accept it is kept and marked for re-check.
    """
    now = now or timezone.now()
    given = (
        ("nickname", nickname),
        ("avatar_url", avatar_url),
        ("show_on_public_lists", show_on_public_lists),
    )
    changes: dict = {k: v for k, v in given if v is not None}
    if nickname is not None:
        checked = user_texts_check(
            texts={"nickname": nickname}, author=user, scene=security.SCENE_PROFILE
        )
        changes["nickname_unchecked"] = not checked
    with transaction.atomic():
        if avatar is not None:
            changes["avatar"] = (
                upload_attach(
                    owner=user, upload_id=avatar, purpose="avatar", now=now, field="avatar"
                )
                if avatar
                else None
            )
        if changes:
            User.objects.filter(pk=user.pk).update(**changes)  # nothing of it is cached
    return User.objects.select_related("avatar").get(pk=user.pk)


def user_deactivate(*, user: User, actor: User | None, reason: str) -> bool:
    """Ban a user: their tokens stop working on the next request. False if already inactive.

    Once committed, ``accounts.signals.ban_changed`` tells the apps above (events takes the
    user's entries out of events not yet locked, and their events off the square).
    """
    with transaction.atomic():
        changed = User.objects.filter(pk=user.pk, is_active=True).update(
            is_active=False, deactivated_reason=reason[:200]
        )
        if changed:
            UserActionLog.objects.create(
                user_id=user.pk, actor=actor, action="deactivate", reason=reason[:200]
            )
            _announce_ban_changed(user.pk, is_active=False, actor=actor)
    user_access_changed(user.pk)
    return bool(changed)


def user_reactivate(*, user: User, actor: User | None, reason: str = "") -> bool:
    """Lift a ban. A deleted account stays deleted (False): its person is gone."""
    with transaction.atomic():
        changed = User.objects.filter(pk=user.pk, is_active=False, deleted_at__isnull=True).update(
            is_active=True, deactivated_reason=""
        )
        if changed:
            UserActionLog.objects.create(
                user_id=user.pk, actor=actor, action="reactivate", reason=reason[:200]
            )
            _announce_ban_changed(user.pk, is_active=True, actor=actor)
    user_access_changed(user.pk)
    return bool(changed)


def _announce_ban_changed(user_id: int, *, is_active: bool, actor: User | None) -> None:
    transaction.on_commit(
        functools.partial(
            ban_changed.send,
            sender=User,
            user_id=user_id,
            is_active=is_active,
            actor=actor,
            now=timezone.now(),
        )
    )


# --- Account deletion (docs/privacy.md) -----------------------------------------------------


def user_delete(*, user: User, now: datetime) -> bool:
    """Delete the account: stop it at once, then erase what we hold about the person.

    Refused while another app says the person still owes something (``account_has_open_events``:
    events they created still open, prizes to ship). Then one conditional UPDATE stops the
    account (``deleted_at``, inactive: its tokens stop working within AUTH_BAN_CHECK_SECONDS)
    and decides a race between two deletions; the erasure follows (``user_erase``). Returns
    False when the account was already deleted: nothing more happens, so it is idempotent.
    """
    if User.objects.filter(pk=user.pk, deleted_at__isnull=False).exists():
        return False
    personal_data.check_deletion(user=User.objects.get(pk=user.pk), now=now)
    stopped = User.objects.filter(pk=user.pk, deleted_at__isnull=True).update(
        deleted_at=now, is_active=False
    )
    user_access_changed(user.pk)
    if stopped:
        logger.info("account %s deleted", user.public_id)
        user_erase(user_id=user.pk, now=now)
    return bool(stopped)


def user_erase(*, user_id: int, now: datetime) -> bool:
    """Erase a deleted account's personal data, keeping what docs/privacy.md lists; False when
    there is nothing (more) to erase.

    Each app erases its own (``accounts.personal_data``, the apps on top first: they may still
    need the person's openid, for a promotion record's pseudonym); this app comes last and
    leaves a stub of the row: the public id, which published draw proofs name, and the dates.
    Every step is harmless when run again, so an erasure a crash interrupted is finished by the
    privacy sweep (``users_erase_interrupted``).
    """
    user = User.objects.filter(pk=user_id, deleted_at__isnull=False, erased_at__isnull=True).first()
    if user is None:
        return False
    personal_data.erase(user=user, now=now)
    return bool(
        User.objects.filter(pk=user.pk, erased_at__isnull=True).update(
            openid=None,
            unionid=None,
            username=None,
            password=make_password(None),  # unusable, as set_unusable_password() writes it
            session_key="",
            nickname="",
            nickname_unchecked=False,
            avatar_url="",
            avatar=None,
            privacy_version="",
            show_on_public_lists=False,
            is_staff=False,
            is_superuser=False,
            deactivated_reason="",
            erased_at=now,
        )
    )


def account_data_erase(*, user: User, now: datetime) -> None:  # noqa: ARG001 (a Holder's shape)
    """This app's part of ``user_erase``: uploads only the person used (their avatar, pictures
    never attached), consents, inbox notices, tokens. Pictures of the events they created stay
    with those events (public content). Staff bans stay: ids and a reason, kept for the record.
    """
    personal = Upload.objects.filter(owner_id=user.pk).filter(
        Q(purpose=Upload.Purpose.AVATAR) | Q(attached_at__isnull=True)
    )
    User.objects.filter(pk=user.pk).update(avatar=None)
    for upload in personal:
        media.delete(upload.file)  # a file already gone (a rerun) is fine
        upload.delete()
    PrivacyConsent.objects.filter(user_id=user.pk).delete()
    UserActionLog.objects.filter(user_id=user.pk, action__in=UserActionLog.USER_NOTICES).delete()
    # A refresh token left would still be refused (the account stays inactive); it goes anyway.
    OutstandingToken.objects.filter(user_id=user.pk).delete()


def users_erase_interrupted(*, now: datetime, limit: int = 100) -> int:
    """Finish the erasures a crash interrupted (the privacy sweep); returns how many."""
    pending = User.objects.filter(deleted_at__isnull=False, erased_at__isnull=True)
    return sum(
        user_erase(user_id=pk, now=now) for pk in pending.values_list("pk", flat=True)[:limit]
    )


def tokens_for(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    # Copied into every access token made from it: a join records the public id without a query.
    refresh[PUBLIC_ID_CLAIM] = user.public_id
    # And the privacy consent gate (accounts.permissions) finds the accepted version there.
    if user.privacy_version:
        refresh[PRIVACY_VERSION_CLAIM] = user.privacy_version
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


# --- Uploaded pictures ----------------------------------------------------------------------


def upload_create(
    *, owner: User, purpose: str, data: bytes, now: datetime, attached: bool = False
) -> Upload:
    """Check and re-encode ``data`` (``accounts.images``), store it, record it.

    A refused file raises before anything is stored. The file is written before its row: a
    crash in between leaves a file nobody links to, never a row without its file. ``attached``
    is for pictures we make ourselves (share codes): in use from the start.
    """
    image = process_image(data, purpose=purpose)
    public_id = upload_public_id()
    name = media.save(f"{purpose}/{now:%Y/%m}/{public_id}.{image.extension}", image.content)
    try:
        upload = Upload.objects.create(
            public_id=public_id,
            owner_id=owner.pk,
            purpose=purpose,
            file=name,
            width=image.width,
            height=image.height,
            size=len(image.content),
            created_at=now,
            attached_at=now if attached else None,
        )
    except Exception:
        media.delete(name)
        raise
    if _needs_media_check(upload, owner):
        from accounts.tasks import media_check  # the task module imports this one

        transaction.on_commit(lambda: media_check.delay(upload.pk))
    return upload


def _needs_media_check(upload: Upload, owner: User) -> bool:
    # Pictures we make ourselves (share codes) and staff uploads are not checked.
    return (
        security.enabled()
        and upload.purpose in Upload.CLIENT_PURPOSES
        and upload.moderation == Upload.Moderation.UNCHECKED
        and bool(openid_of(owner))
    )


def upload_media_check_submit(*, upload_id: int) -> bool:
    """Send an unchecked picture to WeChat's media_check_async; False when there is nothing to
    send (already submitted, deleted) or WeChat refused it now (the re-check sweep tries again).

    The verdict comes later, by callback (``upload_moderate``).
    """
    upload = Upload.objects.select_related("owner").filter(pk=upload_id).first()
    if upload is None or not _needs_media_check(upload, upload.owner):
        return False
    url = media_check_url(upload)
    if url is None:
        logger.error("media check skipped: set SITE_URL or MEDIA_PUBLIC_BASE_URL")
        return False
    try:
        trace_id = security.media_check_async(
            media_url=url, openid=upload.owner.openid, scene=security.SCENE_PROFILE
        )
    except ApplicationError:
        logger.warning("media_check_async failed for upload %s; re-check later", upload.pk)
        return False
    return bool(
        Upload.objects.filter(pk=upload.pk, moderation=Upload.Moderation.UNCHECKED).update(
            moderation=Upload.Moderation.PENDING, trace_id=trace_id
        )
    )


def media_check_url(upload: Upload) -> str | None:
    """The absolute URL WeChat downloads the picture from."""
    url = media.public_url(upload.file)
    if url.startswith("/"):
        return f"{settings.SITE_URL}{url}" if settings.SITE_URL else None
    return url


def upload_moderate(*, trace_id: str, suggest: str, now: datetime) -> tuple[Upload | None, bool]:
    """Record WeChat's verdict on a picture; returns (upload, taken_down_now).

    "risky": the picture is rejected at once (every response shows the placeholder) and its
    file deleted; an avatar's owner is told (``avatar_removed`` in their inbox). "pass" and
    "review" pass. Idempotent: the same callback twice changes nothing the second time, and a
    rejected picture is never passed again.
    """
    upload = Upload.objects.filter(trace_id=trace_id).first()
    if upload is None:
        return None, False
    if suggest != "risky":
        Upload.objects.filter(pk=upload.pk, moderation=Upload.Moderation.PENDING).update(
            moderation=Upload.Moderation.PASSED
        )
        return upload, False
    with transaction.atomic():
        rejected = (
            Upload.objects.filter(pk=upload.pk)
            .exclude(moderation=Upload.Moderation.REJECTED)
            .update(moderation=Upload.Moderation.REJECTED)
        )
        if rejected and upload.purpose == Upload.Purpose.AVATAR:
            UserActionLog.objects.create(
                user_id=upload.owner_id, action="avatar_removed", reason="WeChat media check"
            )
    if not rejected:
        return upload, False
    media.delete(upload.file)  # the URL may be cached somewhere: the file itself must go
    upload.moderation = Upload.Moderation.REJECTED
    logger.info("upload %s rejected by WeChat's media check", upload.public_id)
    return upload, True


@contextmanager
def wechat_push_once(*, timestamp: int, nonce: str, now: datetime) -> Iterator[None]:
    """Let a WeChat push (its timestamp and nonce, already checked by
    ``security.open_push``) through once: the same pair again, while it is remembered,
    raises ``wechat_callback_replayed`` (403). Two copies racing are decided by the unique
    constraint. When the block fails the push is forgotten, so WeChat's retry of a push we
    could not apply is still taken. Pushes whose window has passed are dropped on the way.
    """
    WeChatPush.objects.filter(expires_at__lt=now).delete()
    until = timestamp + settings.WECHAT_CALLBACK_MAX_SKEW_SECONDS
    try:
        with transaction.atomic():
            push = WeChatPush.objects.create(
                timestamp=timestamp, nonce=nonce, expires_at=datetime.fromtimestamp(until, UTC)
            )
    except IntegrityError:
        logger.warning("WeChat push replayed: timestamp=%s nonce=%s", timestamp, nonce)
        raise ApplicationError("wechat_callback_replayed") from None
    try:
        yield
    except BaseException:
        WeChatPush.objects.filter(pk=push.pk).delete()
        raise


def uploads_check_unchecked(*, limit: int = 100) -> int:
    """Submit again the pictures in use whose submission failed; the re-check sweep runs it."""
    if not security.enabled():
        return 0
    pks = Upload.objects.filter(
        moderation=Upload.Moderation.UNCHECKED,
        attached_at__isnull=False,
        purpose__in=Upload.CLIENT_PURPOSES,
        owner__openid__isnull=False,
    ).values_list("pk", flat=True)[:limit]
    return sum(upload_media_check_submit(upload_id=pk) for pk in list(pks))


def users_recheck_nicknames(*, now: datetime, limit: int = 100) -> int:
    """Check again the nicknames accepted while WeChat did not answer; a risky one is removed
    and the user told (``nickname_removed``). Returns how many were settled."""
    settled = 0
    for user in User.objects.filter(nickname_unchecked=True)[:limit]:
        try:
            verdict = security.msg_sec_check(
                user.nickname, openid=user.openid or "", scene=security.SCENE_PROFILE
            )
        except ApplicationError:
            break  # still no answer: the next run tries again
        with transaction.atomic():
            changes: dict = {"nickname_unchecked": False}
            if verdict == "risky":
                changes["nickname"] = ""
            done = User.objects.filter(
                pk=user.pk, nickname_unchecked=True, nickname=user.nickname
            ).update(**changes)
            if done and verdict == "risky":
                UserActionLog.objects.create(
                    user_id=user.pk,
                    action="nickname_removed",
                    reason="WeChat content check",
                    created_at=now,
                )
        settled += done
    return settled


def upload_attach(
    *, owner: User, upload_id: str, purpose: str, now: datetime, field: str
) -> Upload:
    """The caller's own upload ``upload_id`` for ``purpose``, now in use (the sweeper keeps it).

    Run it in the transaction that stores the reference. Someone else's upload, another
    purpose, an unknown id or one the sweeper is deleting: ``upload_unusable`` naming
    ``field``. The sweeper and this race on conditional UPDATEs of the same row, so an upload
    is either attached or discarded, never both.
    """
    if not is_public_id(upload_id, "img_"):  # exactly, not as MySQL's collation would match it
        raise ApplicationError("upload_unusable", data={field: [upload_id]})
    mine = Upload.objects.filter(
        public_id=upload_id, owner_id=owner.pk, purpose=purpose, discarded_at__isnull=True
    )
    mine.filter(attached_at__isnull=True).update(attached_at=now)
    upload = mine.first()
    if upload is None:
        raise ApplicationError("upload_unusable", data={field: [upload_id]})
    return upload


def uploads_sweep(*, now: datetime, batch_size: int = 500) -> int:
    """Delete uploads nobody attached within UPLOAD_UNATTACHED_TTL_SECONDS, file and row.

    Each is first marked discarded by a conditional UPDATE (never if it was attached
    meanwhile), then its file is deleted, then its row. A run that died half way is finished
    by the next one: deleting a file already gone is fine. Returns how many were deleted.
    """
    cutoff = now - timedelta(seconds=settings.UPLOAD_UNATTACHED_TTL_SECONDS)
    stale = Upload.objects.filter(attached_at__isnull=True, created_at__lt=cutoff)
    pks = list(stale.order_by("created_at").values_list("pk", flat=True)[:batch_size])
    if not pks:
        return 0
    stale.filter(pk__in=pks, discarded_at__isnull=True).update(discarded_at=now)
    deleted = 0
    for upload in stale.filter(pk__in=pks, discarded_at__isnull=False):
        media.delete(upload.file)
        deleted += Upload.objects.filter(pk=upload.pk, attached_at__isnull=True).delete()[0]
    if deleted:
        logger.info("deleted %d uploads nobody used", deleted)
    return deleted
