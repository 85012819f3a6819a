from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import serializers as s
from accounts import services, wechat
from accounts.models import User
from lottery_site.api import UploadMultiPartParser, validated
from lottery_site.errors import ApplicationError
from lottery_site.openapi import error_responses
from lottery_site.throttling import LoginRateThrottle, UploadRateThrottle, UserRateThrottle


class LoginView(APIView):
    """Exchange a ``wx.login()`` code for our own access and refresh tokens."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=s.LoginInput,
        responses={
            200: s.LoginOutput,
            201: s.LoginOutput,
            **error_responses(r502="WeChat answered badly", r503="WeChat unreachable"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = validated(s.LoginInput, request.data)
        session = wechat.code_to_session(data["code"])
        user, created = services.user_login(
            session=session, nickname=data.get("nickname"), avatar_url=data.get("avatar_url")
        )
        payload = {**services.tokens_for(user), "user": user, "created": created}
        return Response(
            s.LoginOutput(payload, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class RefreshView(APIView):
    """Trade a refresh token for a new pair; the old refresh token is blacklisted."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=s.RefreshInput, responses={200: s.TokenPairOutput}, auth=[])
    def post(self, request: Request) -> Response:
        data = validated(s.RefreshInput, request.data)
        refresher = TokenRefreshSerializer(data=data)
        try:
            refresher.is_valid(raise_exception=True)
        except TokenError:
            raise ApplicationError("token_invalid") from None
        except exceptions.AuthenticationFailed:
            raise ApplicationError("user_inactive") from None
        return Response(s.TokenPairOutput(refresher.validated_data).data)


class LogoutView(APIView):
    """Blacklist a refresh token. Access tokens expire on their own (2 hours at most)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=s.RefreshInput, responses={200: None}, auth=[])
    def post(self, request: Request) -> Response:
        data = validated(s.RefreshInput, request.data)
        try:
            RefreshToken(data["refresh"]).blacklist()
        except TokenError:
            raise ApplicationError("token_invalid") from None
        return Response(None)


class MeView(APIView):
    @extend_schema(responses={200: s.MeOutput})
    def get(self, request: Request) -> Response:
        user = User.objects.select_related("avatar").get(pk=request.user.pk)
        return Response(s.MeOutput(user, context={"request": request}).data)

    @extend_schema(
        request=s.ProfileInput,
        responses={200: s.MeOutput, **error_responses(r400="invalid input or avatar upload")},
    )
    def patch(self, request: Request) -> Response:
        data = validated(s.ProfileInput, request.data)
        user = services.user_update_profile(user=request.user, now=timezone.now(), **data)
        return Response(s.MeOutput(user, context={"request": request}).data)


class UploadView(APIView):
    """A picture for an avatar, a cover or a prize, sent the way ``wx.uploadFile`` sends it."""

    parser_classes = [UploadMultiPartParser]
    throttle_classes = [UserRateThrottle, UploadRateThrottle]

    @extend_schema(
        operation_id="uploadCreate",
        summary="Upload a picture (multipart, as wx.uploadFile sends it)",
        description=(
            "Multipart form: the picture in `file` (JPEG, PNG or WebP, judged by decoding it), "
            "`purpose` one of `avatar`, `cover`, `prize`. The picture is re-encoded without its "
            "metadata and resized for its purpose. Use the returned `id` in `PATCH /me` "
            "(`avatar`) or an event's `cover` / prize `image` within a day, or it is deleted."
        ),
        request={"multipart/form-data": s.UploadInput},
        responses={
            201: s.UploadOutput,
            **error_responses(
                r400="not an image (40030), too large (40031), too many pixels (40032)",
                r413="request body above UPLOAD_MAX_BYTES",
                r429="upload rate limit (THROTTLE_UPLOAD_RATE)",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(s.UploadInput, request.data)
        upload = services.upload_create(
            owner=request.user,
            purpose=data["purpose"],
            data=_read_limited(data["file"]),
            now=timezone.now(),
        )
        output = s.UploadOutput(upload, context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)


def _read_limited(file) -> bytes:
    """The uploaded bytes, refusing before reading them all when there are too many."""
    if file.size > settings.UPLOAD_MAX_BYTES:
        raise ApplicationError("image_too_large", data={"max_bytes": settings.UPLOAD_MAX_BYTES})
    return file.read(settings.UPLOAD_MAX_BYTES + 1)
