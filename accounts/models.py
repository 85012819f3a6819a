from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lottery_site.ids import upload_public_id, user_public_id


class UserManager(BaseUserManager):
    """Mini-program users come from WeChat (openid); staff log in to the admin with a username."""

    def create_user(self, username=None, password=None, **extra):
        user = self.model(username=username or None, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=user_public_id, editable=False
    )
    # Staff log in to the admin with a username; mini-program users have none, staff no openid.
    # NULL, not "", for "none": a unique index admits many NULLs but only one "".
    username = models.CharField(_("username"), max_length=150, unique=True, null=True, blank=True)  # noqa: DJ001
    openid = models.CharField(_("openid"), max_length=64, unique=True, null=True, blank=True)  # noqa: DJ001
    unionid = models.CharField(_("unionid"), max_length=64, null=True, blank=True)  # noqa: DJ001
    # WeChat's session_key: server-side only, never in a response, a log line or the admin list.
    session_key = models.CharField(max_length=128, blank=True, default="", editable=False)
    nickname = models.CharField(_("nickname"), max_length=64, blank=True, default="")
    avatar_url = models.URLField(_("avatar URL"), max_length=500, blank=True, default="")
    # An uploaded picture (POST /uploads, purpose "avatar"); preferred over avatar_url.
    avatar = models.ForeignKey(
        "accounts.Upload",
        verbose_name=_("avatar"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    # The nickname was accepted while WeChat's content check did not answer
    # (WECHAT_CONTENT_CHECK_ON_ERROR=accept): the periodic re-check looks at it again.
    nickname_unchecked = models.BooleanField(
        _("nickname not checked"), default=False, db_default=False
    )
    deactivated_reason = models.CharField(
        _("deactivation reason"), max_length=200, blank=True, default=""
    )
    # The privacy policy version the user last accepted (PrivacyConsent holds every acceptance);
    # "" none. Copied into their tokens, so the consent gate (accounts.permissions) needs no query.
    privacy_version = models.CharField(
        _("privacy policy accepted"), max_length=32, blank=True, default="", db_default=""
    )
    # The user's choice: their nickname and avatar in full on public lists of people (winners,
    # entrants). Off: those lists show a masked nickname (张*三) and no avatar.
    show_on_public_lists = models.BooleanField(
        _("shown on public lists"), default=False, db_default=False
    )
    # Account deletion (accounts.services.user_delete): asked at ``deleted_at`` (the account
    # stopped at once), its personal data erased at ``erased_at`` (the same moment, unless the
    # erasure was interrupted: the privacy sweep finishes it).
    deleted_at = models.DateTimeField(_("deletion asked at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [
            models.Index(fields=["unionid"], name="accounts_user_unionid"),
            # Every API process reads the inactive ids each second (accounts.authentication);
            # deleted_at lets it skip accounts deleted long ago without reading their rows.
            models.Index(fields=["is_active", "deleted_at"], name="accounts_user_inactive_del"),
            # The privacy sweep: deletions whose erasure was interrupted.
            models.Index(fields=["deleted_at", "erased_at"], name="accounts_user_erase_due"),
        ]

    def __str__(self) -> str:
        # Staff see the nickname in the back office. The admin's history stores the public id
        # instead (accounts.admin: logs hold ids, not personal data, docs/privacy.md).
        return self.nickname or self.username or self.public_id


class UserActionLog(models.Model):
    """Append-only record of what happened to a user account and why: staff bans and unbans,
    and content removed by WeChat's checks (``avatar_removed``, ``nickname_removed``), which
    the user is told about in their inbox (``USER_NOTICES``)."""

    USER_NOTICES = ("avatar_removed", "nickname_removed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="action_logs")
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=32)
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("account action log")
        verbose_name_plural = _("account action logs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class Upload(models.Model):
    """A picture a user uploaded, re-encoded by ``accounts.images``, in the "media" storage.

    Uploads live here, with the users who own them, because an avatar (accounts) and an event's
    cover and prize pictures (events) all point at them, and the arrows only run
    lottery_site <- accounts <- events. An upload is referenced by id only by its owner and for
    its purpose (``accounts.services.upload_attach``), which stamps ``attached_at``; one that
    nobody attached within UPLOAD_UNATTACHED_TTL_SECONDS is deleted, file and row, by the
    sweeper. ``discarded_at`` marks one being deleted: it can no longer be attached.

    ``moderation`` is WeChat's verdict on the picture (media_check_async, when
    WECHAT_CONTENT_CHECK is on). A rejected picture's file is deleted and every API response
    shows MODERATION_PLACEHOLDER_URL instead (``accounts.serializers``). Its only writer is
    ``accounts.services``, each move a conditional UPDATE on ``moderation``:

    =========  =========  ====================================  ==================================
    from       to         when                                  owner
    =========  =========  ====================================  ==================================
    (none)     UNCHECKED  uploaded                              ``upload_create``
    UNCHECKED  PENDING    submitted (``trace_id`` set)          ``upload_media_check_submit``
    PENDING    PASSED     WeChat's callback: pass or review     ``upload_moderate``
    UNCHECKED  REJECTED   WeChat's callback: risky (the         ``upload_moderate``
    PENDING               callback names the ``trace_id`` set
    PASSED                at submission, so in practice from
                          PENDING, or PASSED on a later verdict)
    =========  =========  ====================================  ==================================

    REJECTED is final (a rejected picture is never passed again).
    """

    class Purpose(models.TextChoices):
        AVATAR = "avatar", _("avatar")
        COVER = "cover", _("event cover")
        PRIZE = "prize", _("prize picture")
        SHARE_CODE = "share_code", _("mini-program code")

    class Moderation(models.TextChoices):
        UNCHECKED = "unchecked", _("not checked")
        PENDING = "pending", _("being checked")
        PASSED = "passed", _("passed")
        REJECTED = "rejected", _("rejected")

    # What a client may upload through the API; share codes are made by us.
    CLIENT_PURPOSES = (Purpose.AVATAR, Purpose.COVER, Purpose.PRIZE)

    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=upload_public_id, editable=False
    )
    owner = models.ForeignKey(
        User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="uploads"
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    # The name in the "media" storage: <purpose>/<yyyy>/<mm>/<public id>.<jpg|png>.
    file = models.CharField(_("file"), max_length=200, unique=True)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("bytes"))
    moderation = models.CharField(
        _("moderation"), max_length=16, choices=Moderation.choices, default=Moderation.UNCHECKED
    )
    # WeChat's id of the asynchronous check, which its callback names.
    trace_id = models.CharField(  # noqa: DJ001
        _("check trace id"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)
    attached_at = models.DateTimeField(_("first used at"), null=True, blank=True)
    discarded_at = models.DateTimeField(_("discarded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("uploaded picture")
        verbose_name_plural = _("uploaded pictures")
        indexes = [
            # The sweeper: never attached, oldest first.
            models.Index(fields=["attached_at", "created_at"], name="uploads_unattached"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.public_id}"


class PrivacyConsent(models.Model):
    """Append-only: each acceptance of a privacy policy version, with when and how.

    Written only by ``accounts.services.privacy_consent_record``, at login or by the consent
    endpoint; ``User.privacy_version`` is the latest. Deleted with the account's other data.
    """

    class Source(models.TextChoices):
        LOGIN = "login", _("at login")
        PROMPT = "prompt", _("asked again")

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="privacy_consents"
    )
    version = models.CharField(_("policy version"), max_length=32)
    source = models.CharField(_("how"), max_length=8, choices=Source.choices)
    accepted_at = models.DateTimeField(_("accepted at"), default=timezone.now)

    class Meta:
        verbose_name = _("privacy policy acceptance")
        verbose_name_plural = _("privacy policy acceptances")
        ordering = ["-accepted_at", "-pk"]
        indexes = [models.Index(fields=["user", "-accepted_at"], name="consents_user_newest")]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.version}"


class WeChatPush(models.Model):
    """A message WeChat pushed to our callback, by its ``timestamp`` and ``nonce``: the same pair
    again is a replay (``accounts.services.wechat_push_once``).

    Kept until ``expires_at``, when the timestamp leaves the window a push is accepted in
    (WECHAT_CALLBACK_MAX_SKEW_SECONDS): after that the timestamp alone refuses it. In the
    database rather than Redis: the refusal must hold across processes and machines, through a
    Redis outage or restart (our Redis keeps nothing on disk), and pushes are few (one per
    picture checked).
    """

    timestamp = models.BigIntegerField(_("timestamp"))
    nonce = models.CharField(_("nonce"), max_length=64)
    expires_at = models.DateTimeField(_("remembered until"), db_index=True)

    class Meta:
        verbose_name = _("WeChat push")
        verbose_name_plural = _("WeChat pushes")
        constraints = [
            models.UniqueConstraint(fields=["timestamp", "nonce"], name="wechat_push_once"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp}:{self.nonce}"
