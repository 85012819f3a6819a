from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Upload
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


class MeOutput(UserOutput):
    created_at = AwareDateTimeField()


class LoginInput(InputSerializer):
    code = serializers.CharField(max_length=128, trim_whitespace=True)
    nickname = serializers.CharField(max_length=64, required=False, allow_blank=True)
    avatar_url = AvatarURLField()


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


class UploadInput(InputSerializer):
    """What ``wx.uploadFile`` sends: the file in ``file``, ``formData`` as form fields."""

    file = serializers.FileField(allow_empty_file=False)
    purpose = serializers.ChoiceField(choices=[p.value for p in Upload.CLIENT_PURPOSES])


class UploadOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()

    get_url = ImageOutput.get_url
