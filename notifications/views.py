from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lottery_site.api import validated
from lottery_site.errors import ApplicationError
from lottery_site.openapi import refusals
from lottery_site.pagination import PAGE_PARAMETERS
from notifications import selectors, services
from notifications import serializers as s

PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


class SubscriptionsView(APIView):
    """What the user accepted in ``wx.requestSubscribeMessage``: one message per template."""

    @extend_schema(
        operation_id="subscriptionGet",
        summary="How many subscribe messages the caller may still receive, per template",
        responses={200: s.QuotaOutput},
    )
    def get(self, request: Request) -> Response:
        return Response(s.QuotaOutput({"quota": services.quota_of(user_id=request.user.pk)}).data)

    @extend_schema(
        operation_id="subscriptionAccept",
        summary="Record what the user accepted in wx.requestSubscribeMessage",
        request=s.SubscriptionsInput,
        responses={200: s.QuotaOutput},
        extensions=refusals("template_unknown"),
    )
    def post(self, request: Request) -> Response:
        data = validated(s.SubscriptionsInput, request.data)
        quota = services.subscription_accept(user=request.user, template_ids=data["accepted"])
        return Response(s.QuotaOutput({"quota": quota}).data)


class NotificationsView(APIView):
    @extend_schema(
        operation_id="notificationList",
        summary="The caller's inbox, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: s.InboxOutput},
    )
    def get(self, request: Request) -> Response:
        inbox = selectors.inbox_page(
            user_id=request.user.pk,
            cursor=request.query_params.get("cursor"),
            size=_page_size(request.query_params.get("page_size")),
        )
        return Response(s.InboxOutput(inbox).data)


class NotificationsReadView(APIView):
    @extend_schema(
        operation_id="notificationMarkRead",
        summary="Mark the inbox read up to a time",
        request=s.ReadInput,
        responses={200: s.UnreadOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.ReadInput, request.data)
        services.inbox_mark_read(user=request.user, now=timezone.now(), up_to=data.get("up_to"))
        unread = selectors.inbox_unread_count(user_id=request.user.pk)
        return Response(s.UnreadOutput({"unread_count": unread}).data)


def _page_size(raw: str | None) -> int:
    if raw is None:
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApplicationError(
            "invalid_input",
            data={"page_size": [_("Must be 1 to %(max)d.") % {"max": MAX_PAGE_SIZE}]},
        )
    return int(raw)
