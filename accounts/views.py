from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import serializers as s
from accounts import services
from accounts.models import User
from lottery_site import request_id as log_context
from lottery_site.api import UploadMultiPartParser, validated
from lottery_site.errors import ApplicationError
from lottery_site.openapi import refusals
from lottery_site.throttling import LoginRateThrottle, UploadRateThrottle, UserRateThrottle
from wechat.session import code_to_session


class LoginView(APIView):
    """Exchange a ``wx.login()`` code for our own access and refresh tokens."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="authLogin",
        summary="Log in with a wx.login() code",
        request=s.LoginInput,
        responses={200: s.LoginOutput, 201: s.LoginOutput},
        extensions=refusals(
            "wechat_code_invalid",
            "wechat_risky_user",
            "account_disabled",
            "wechat_rate_limited",
            "wechat_bad_gateway",
            "wechat_unavailable",
        ),
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = validated(s.LoginInput, request.data)
        session = code_to_session(data["code"])
        user, created = services.user_login(
            session=session, nickname=data.get("nickname"), avatar_url=data.get("avatar_url")
        )
        log_context.user_id.set(user.public_id)  # the login's access line names who logged in
        payload = {**services.tokens_for(user), "user": user, "created": created}
        return Response(
            s.LoginOutput(payload, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class RefreshView(APIView):
    """Trade a refresh token for a new pair, once: the old one is blacklisted as it is used."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="authRefresh",
        summary="Trade a refresh token for a new pair",
        request=s.RefreshInput,
        responses={200: s.TokenPairOutput},
        extensions=refusals("token_invalid", "user_inactive"),
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = validated(s.RefreshInput, request.data)
        return Response(s.TokenPairOutput(services.token_refresh(refresh=data["refresh"])).data)


class LogoutView(APIView):
    """Blacklist a refresh token. Access tokens expire on their own (2 hours at most)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="authLogout",
        summary="Log out: blacklist a refresh token",
        request=s.RefreshInput,
        responses={200: None},
        extensions=refusals("token_invalid"),
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = validated(s.RefreshInput, request.data)
        try:
            RefreshToken(data["refresh"]).blacklist()
        except TokenError:
            raise ApplicationError("token_invalid") from None
        return Response(None)


class MeView(APIView):
    @extend_schema(
        operation_id="meGet", summary="The caller's profile", responses={200: s.MeOutput}
    )
    def get(self, request: Request) -> Response:
        user = User.objects.select_related("avatar").get(pk=request.user.pk)
        return Response(s.MeOutput(user, context={"request": request}).data)

    @extend_schema(
        operation_id="mePatch",
        summary="Change the caller's nickname or avatar (PATCH form)",
        request=s.ProfileInput,
        responses={200: s.MeOutput},
        extensions=refusals("content_risky", "upload_unusable", "wechat_unavailable"),
    )
    def patch(self, request: Request) -> Response:
        return self._update(request)

    # wx.request has no PATCH: PUT is the same partial update (absent fields stay as they are).
    @extend_schema(
        summary="Update my profile (partial, like PATCH)",
        operation_id="meUpdate",
        request=s.ProfileInput,
        responses={200: s.MeOutput},
        examples=[
            OpenApiExample(
                "New nickname", value={"nickname": "小明"}, request_only=True, status_codes=["200"]
            ),
            OpenApiExample(
                "Profile",
                value={
                    "id": "u_0123456789abcdef",
                    "nickname": "小明",
                    "avatar_url": "https://thirdwx.qlogo.cn/avatar.png",
                    "avatar": None,
                    "created_at": "2026-12-01T20:00:00+08:00",
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
        extensions=refusals("content_risky", "upload_unusable", "wechat_unavailable"),
    )
    def put(self, request: Request) -> Response:
        return self._update(request)

    def _update(self, request: Request) -> Response:
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
            "metadata and resized for its purpose. Use the returned `id` in `PUT /me` "
            "(`avatar`) or an event's `cover` / prize `image` within a day, or it is deleted."
        ),
        request={"multipart/form-data": s.UploadInput},
        responses={201: s.UploadOutput},
        extensions=refusals("image_invalid", "image_too_large", "image_too_many_pixels"),
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
