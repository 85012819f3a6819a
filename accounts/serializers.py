from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import PrivacyConsent, Upload, User
from lottery_site import media
from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer


class AvatarURLField(serializers.URLField):
    """The one rule for an avatar, at login and in ``PATCH /me``: https, at most 500, or blank.

    Two rules once let login store an http:// avatar that the profile edit then refused. WeChat
    serves avatars over https, and the mini-program shows only https images.
    """

    default_error_messages = {"not_https": _("The avatar URL must be an https link.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not value.lower().startswith("https://"):
            self.fail("not_https")
        return value


class ImageOutput(serializers.Serializer):
    """A stored picture: an absolute URL, and its size so the client lays out before loading."""

    url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()

    def get_url(self, upload: Upload) -> str:
        return picture_url(upload, self.context.get("request"))


def picture_url(upload: Upload, request=None) -> str:
    """The picture's URL, or the placeholder once WeChat's media check rejected it."""
    if upload.moderation == Upload.Moderation.REJECTED:
        url = settings.MODERATION_PLACEHOLDER_URL
        if url.startswith("/") and request is not None:
            return request.build_absolute_uri(url)
        return url
    return media.public_url(upload.file, request)


class UserOutput(serializers.Serializer):
    """A user as anyone may see them: never the openid, unionid or session data."""

    id = serializers.CharField(source="public_id")
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    avatar = ImageOutput(allow_null=True, help_text="the uploaded avatar; null: none")


def masked_nickname(nickname: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*, 张 -> *: first and last character, one star between.

    One star whatever the length, so the mask does not tell the length either. Characters are
    code points: an emoji made of several (a flag, a family) may lose a part, which is fine.
    """
    if len(nickname) >= 3:
        return f"{nickname[0]}*{nickname[-1]}"
    if len(nickname) == 2:
        return f"{nickname[0]}*"
    return "*" if nickname else ""


class PublicUserOutput(UserOutput):
    """A person on a public list (winners, entrants) or on a creator's claim list.

    Masked unless the person chose to be shown (`show_on_public_lists` in `PUT /me`): the
    nickname as 张*三 (first and last character), no avatar (`avatar_url` "", `avatar` null).
    The id stays: the draw's proof and entrant list name people by it.
    """

    def to_representation(self, user):
        if user.show_on_public_lists:
            return super().to_representation(user)
        return {
            "id": user.public_id,
            "nickname": masked_nickname(user.nickname),
            "avatar_url": "",
            "avatar": None,
        }


class MeOutput(UserOutput):
    created_at = AwareDateTimeField()
    show_on_public_lists = serializers.BooleanField(
        help_text="shown unmasked on winner and entrant lists (the user's choice; default false)"
    )
    privacy_version = serializers.CharField(
        help_text='the privacy policy version the user last accepted; "" none'
    )
    privacy_consent_required = serializers.SerializerMethodField(
        help_text="the server requires a policy version the user has not accepted: show the "
        "policy (`GET /config` privacy_policy) and POST /me/privacy-consent"
    )

    def get_privacy_consent_required(self, user: User) -> bool:
        current = settings.PRIVACY_POLICY_VERSION
        return bool(current) and user.privacy_version != current


class LoginInput(InputSerializer):
    code = serializers.CharField(max_length=128, trim_whitespace=True)
    nickname = serializers.CharField(max_length=64, required=False, allow_blank=True)
    avatar_url = AvatarURLField()
    privacy_version = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="the privacy policy version (GET /config) the user accepted on the login "
        "page; recorded when it is the current one",
    )


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginOutput(TokenPairOutput):
    user = MeOutput()
    created = serializers.BooleanField()


class RefreshInput(InputSerializer):
    refresh = serializers.CharField()


class ProfileInput(InputSerializer):
    nickname = serializers.CharField(min_length=1, max_length=64, required=False)
    avatar_url = AvatarURLField()
    avatar = serializers.CharField(
        max_length=24,
        required=False,
        allow_blank=True,
        trim_whitespace=False,  # an id is exact (lottery_site.ids)
        help_text='id of the caller\'s upload with purpose "avatar"; "" removes the avatar',
    )
    show_on_public_lists = serializers.BooleanField(
        required=False,
        help_text="true: your nickname and avatar in full on winner and entrant lists; "
        "false (default): masked (张*三, no avatar)",
    )


class PrivacyConsentInput(InputSerializer):
    version = serializers.CharField(
        max_length=32, help_text="the version accepted: `privacy_policy.version` of GET /config"
    )


# The purposes a client uploads for (the document's PurposeEnum), and every purpose an upload
# may have, ours too (UploadPurposeEnum): two enums, each named in SPECTACULAR_SETTINGS.
CLIENT_UPLOAD_PURPOSES = [p.value for p in Upload.CLIENT_PURPOSES]
UPLOAD_PURPOSES = Upload.Purpose.values


class UploadInput(InputSerializer):
    """What ``wx.uploadFile`` sends: the file in ``file``, ``formData`` as form fields."""

    file = serializers.FileField(allow_empty_file=False)
    purpose = serializers.ChoiceField(choices=CLIENT_UPLOAD_PURPOSES)


class UploadOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()

    get_url = ImageOutput.get_url


# --- GET /me/data: what this app holds about the caller ------------------------------------


class ProfileDataOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    avatar = ImageOutput(allow_null=True)
    created_at = AwareDateTimeField()
    privacy_version = serializers.CharField()
    show_on_public_lists = serializers.BooleanField()
    wechat_openid = serializers.CharField(
        source="openid", allow_null=True, help_text="WeChat's id of you in this mini-program"
    )
    wechat_unionid = serializers.CharField(source="unionid", allow_null=True)


CONSENT_SOURCES = PrivacyConsent.Source.values  # ConsentSourceEnum (SPECTACULAR_SETTINGS)


class ConsentOutput(serializers.Serializer):
    version = serializers.CharField()
    source = serializers.ChoiceField(choices=CONSENT_SOURCES)
    accepted_at = AwareDateTimeField()


class UploadDataOutput(UploadOutput):
    purpose = serializers.ChoiceField(choices=UPLOAD_PURPOSES)
    size = serializers.IntegerField(help_text="bytes")
    moderation = serializers.ChoiceField(choices=Upload.Moderation.values)
    uploaded_at = AwareDateTimeField(source="created_at")


class AccountLogOutput(serializers.Serializer):
    action = serializers.CharField()
    reason = serializers.CharField()
    at = AwareDateTimeField(source="created_at")


class AccountDataOutput(serializers.Serializer):
    """The accounts app's sections of the export."""

    profile = ProfileDataOutput(source="*")
    consents = ConsentOutput(many=True, source="privacy_consents.all")
    uploads = UploadDataOutput(many=True, source="uploads.all")
    account_log = AccountLogOutput(
        many=True, source="action_logs.all", help_text="bans, and content WeChat removed"
    )


def account_data(*, user: User, now, context: dict) -> dict:  # noqa: ARG001 (a Holder's shape)
    user = (
        User.objects.select_related("avatar")
        .prefetch_related("privacy_consents", "uploads", "action_logs")
        .get(pk=user.pk)
    )
    return dict(AccountDataOutput(user, context=context).data)


class DataExportOutput(AccountDataOutput):
    """Everything we hold about the caller (docs/privacy.md). The sections of the other apps
    are described here for the document; each app renders its own."""

    entries = serializers.ListField(
        child=serializers.DictField(),
        help_text="every event you joined: {event: {id, title}, joined_at, prize, network, "
        "risk_rank} (network: a keyed hash of the address you joined from, never the address; "
        "risk_rank: WeChat's risk rank when the event asked for it)",
    )
    wins = serializers.ListField(
        child=serializers.DictField(),
        help_text="prizes you won, also those passed to an alternate: "
        "{event, prize, drawn_at, state}",
    )
    claims = serializers.ListField(
        child=serializers.DictField(),
        help_text="your prize claims, with the address you gave (null once erased): "
        "{id, event, prize, state, deadline, address, carrier, tracking_number, claimed_at, "
        "shipped_at, erased}",
    )
    events_created = serializers.ListField(
        child=serializers.DictField(), help_text="{id, title, status, created_at, draw_at}"
    )
    reports = serializers.ListField(
        child=serializers.DictField(), help_text="events you reported: {event, reason, at}"
    )
    exclusions = serializers.ListField(
        child=serializers.DictField(),
        help_text="events whose creator (or staff's ban) took you out before the lock: "
        "{event, reason, flags, excluded_at}",
    )
    inbox = serializers.ListField(
        child=serializers.DictField(), help_text="every item of your inbox, newest first"
    )
    subscriptions = serializers.DictField(
        child=serializers.IntegerField(), help_text="subscribe messages left, per template"
    )
    messages = serializers.ListField(
        child=serializers.DictField(),
        help_text="WeChat messages sent or to send to you: {event, kind, state, at}",
    )


class DeletedOutput(serializers.Serializer):
    deleted_at = AwareDateTimeField()
