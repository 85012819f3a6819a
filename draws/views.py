from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from draws import selectors, services, tasks
from draws import serializers as s
from events.models import Event
from lottery_site.errors import ApplicationError
from lottery_site.openapi import error_responses
from lottery_site.throttling import PublicRateThrottle


class PublicDrawView(APIView):
    """Draw results are public: anyone may audit them, logged in or not."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


class ProofView(PublicDrawView):
    @extend_schema(responses={200: s.ProofOutput, **error_responses(r404="no such event")}, auth=[])
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_for_proof(public_id=event_id)
        return Response(s.ProofOutput(event).data)


class WinnersView(PublicDrawView):
    @extend_schema(
        responses={200: s.WinnersOutput, **error_responses(r404="no such event", r409="not drawn")},
        auth=[],
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_for_proof(public_id=event_id)
        if event.status != Event.Status.OPENED:
            raise ApplicationError("event_not_drawn")
        return Response(s.WinnersOutput(selectors.winners_of(event=event)).data)


class EntrantsView(PublicDrawView):
    """The frozen entrant list: one public user id per line, canonical order, streamed.

    Its SHA-256 is the proof's ``entrants_digest``; it is built as it is sent, never in memory.
    """

    @extend_schema(
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="one id a line"),
            **error_responses(r404="no such event", r409="not locked yet"),
        },
        auth=[],
    )
    def get(self, request: Request, event_id: str):
        event = selectors.event_for_proof(public_id=event_id)
        # Also after a cancel past the lock: with the revealed seed it shows what the draw
        # would have given.
        if event.status == Event.Status.INIT or not event.entrants_digest:
            raise ApplicationError("event_not_locked")
        lines = (
            "\n".join(keys) + "\n" for keys in selectors.stream_entrant_keys(event_id=event.pk)
        )
        response = StreamingHttpResponse(lines, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{event.public_id}-entrants.txt"'
        return response


class MyEntryView(APIView):
    """The caller's own place in the frozen entrant list, without downloading the list.

    Their key, its 0-based position in canonical order and the digest: anyone holding the
    list file (or later downloading it) sees the same line at that position, so a server
    telling different entrants inconsistent stories is caught by a single download.
    """

    @extend_schema(
        operation_id="eventEntrantsMeGet",
        responses={
            200: s.EntrantPlaceOutput,
            **error_responses(r401="not logged in", r404="no such event", r409="not locked yet"),
        },
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_for_proof(public_id=event_id)
        if event.status == Event.Status.INIT or not event.entrants_digest:
            raise ApplicationError("event_not_locked")
        return Response(
            s.EntrantPlaceOutput(
                selectors.entrant_position(event=event, key=request.user.public_id)
            ).data
        )


class DrawNowView(APIView):
    """The creator of a manual-mode event draws it before its draw time."""

    @extend_schema(
        request=None,
        responses={
            202: s.ProofOutput,
            **error_responses(r403="not yours", r404="no such event", r409="locked or empty"),
        },
    )
    def post(self, request: Request, event_id: str) -> Response:
        event = selectors.event_for_proof(public_id=event_id)
        services.event_draw_early(event=event, actor=request.user, now=timezone.now())
        transaction.on_commit(lambda: tasks.draw_event.delay(event.pk))
        event = selectors.event_for_proof(public_id=event_id)
        return Response(s.ProofOutput(event).data, status=202)
