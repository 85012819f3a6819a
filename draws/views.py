from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from draws import selectors, services, substitutions, tasks
from draws import serializers as s
from events.models import Event
from lottery_site.api import EnvelopeJSONRenderer, validated
from lottery_site.errors import ApplicationError
from lottery_site.openapi import refusals
from lottery_site.publish import publish_on_commit
from lottery_site.throttling import PublicRateThrottle


class PublicDrawView(APIView):
    """Draw results are public: anyone may audit them, logged in or not."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


class ProofView(PublicDrawView):
    @extend_schema(
        operation_id="eventProof",
        summary="The draw's proof: commitment, entrant digest, seed",
        responses={200: s.ProofOutput},
        auth=[],
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_for_proof(public_id=event_id)
        return Response(s.ProofOutput(event).data)


class WinnersView(PublicDrawView):
    @extend_schema(
        operation_id="eventWinners",
        summary="The winners and the prizes left unawarded",
        responses={200: s.WinnersOutput},
        extensions=refusals("event_not_drawn"),
        auth=[],
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_for_proof(public_id=event_id)
        if event.status != Event.Status.OPENED:
            raise ApplicationError("event_not_drawn")
        winners = selectors.winners_of(event=event)
        return Response(s.WinnersOutput(winners, context={"request": request}).data)


class _PlainTextAccepted(BaseRenderer):
    """Lets content negotiation accept ``text/plain``; it never renders anything itself."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"


class EntrantsView(PublicDrawView):
    """The frozen entrant list: one public user id per line, canonical order, streamed.

    Its SHA-256 is the proof's ``entrants_digest``; it is built as it is sent, never in memory.
    """

    renderer_classes = [EnvelopeJSONRenderer, _PlainTextAccepted]

    def perform_content_negotiation(self, request, force=False):
        # The list is streamed as text/plain by the view, past the renderers; only refusals (404,
        # 409, 429) are rendered, and they are always the JSON envelope. So an Accept naming
        # text/plain, JSON or */* is satisfied; anything else is still a 406.
        renderer, media_type = super().perform_content_negotiation(request, force)
        if isinstance(renderer, _PlainTextAccepted):
            return EnvelopeJSONRenderer(), EnvelopeJSONRenderer.media_type
        return renderer, media_type

    @extend_schema(
        operation_id="eventEntrants",
        summary="The frozen entrant list, one public user id a line",
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="one id a line"),
        },
        extensions=refusals("event_not_locked"),
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
        summary="Check that I am in the frozen entrant list, and where",
        responses={200: s.EntrantPlaceOutput},
        extensions=refusals("event_not_locked"),
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
        operation_id="eventDraw",
        summary="Draw a manual-mode event now",
        description="202: the event is locked and the draw is queued; poll GET "
        "/events/{event_id} (or the proof) until its status is `opened`.",
        request=None,
        responses={202: s.ProofOutput},
        extensions=refusals(
            "not_owner",
            "invalid_input",
            "event_locked",
            "event_drawn",
            "event_canceled",
            "event_no_entrants",
        ),
    )
    def post(self, request: Request, event_id: str) -> Response:
        event = selectors.event_for_proof(public_id=event_id)
        services.event_draw_early(event=event, actor=request.user, now=timezone.now())
        publish_on_commit(tasks.draw_event, event.pk)
        event = selectors.event_for_proof(public_id=event_id)
        return Response(s.ProofOutput(event).data, status=202)


class DisqualifyView(APIView):
    """The creator disqualifies a winner; the prize passes to the next alternate of the order."""

    @extend_schema(
        operation_id="eventWinnerDisqualify",
        summary="Disqualify a winner (creator): the prize passes to an alternate",
        description="Nobody chooses who (docs/fairness.md). v3: the substitution is recorded "
        "`pending` with a beacon round not out yet; once it is, the alternate is drawn from it "
        "among the entrants who never held a prize (read it in the proof). Before v3: the next "
        "entrant of the draw's own order, at once. After `max_substitutions` passes, or when "
        "nobody is left, the unit is recorded unawarded (`replacement` null, `pending` false). "
        "The proof lists every substitution. A winner whose prize was shipped cannot be "
        "disqualified.",
        request=s.DisqualifyInput,
        responses={200: s.SubstitutionOutput},
        extensions=refusals(
            "invalid_input", "not_owner", "event_not_drawn", "winner_not_found", "claim_shipped"
        ),
    )
    def post(self, request: Request, event_id: str, user_id: str) -> Response:
        data = validated(s.DisqualifyInput, request.data)
        event = selectors.event_for_proof(public_id=event_id)
        substitution = substitutions.winner_disqualify(
            event=event,
            actor=request.user,
            user_key=user_id,
            reason=data["reason"],
            now=timezone.now(),
        )
        return Response(s.SubstitutionOutput(substitution).data)
