"""The live API (docs/live.md): the state and the log for anyone, the host's commands for the
creator, screen links; and the big screen's page itself (no login: its link's token)."""

import segno
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events import selectors as event_selectors
from events.services.sharing import event_share_image
from live import selectors, services
from live import serializers as s
from lottery_site.api import validated
from lottery_site.errors import ApplicationError
from lottery_site.openapi import refusals
from lottery_site.throttling import PublicRateThrottle

HOST_REFUSALS = ("not_owner", "live_not_found", "event_canceled")


class PublicLiveView(APIView):
    """What a live event shows is public: the screen shows it to a room."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


def _state(event_id: str) -> Response:
    live = selectors.live_get(public_id=event_id)
    # What joined since the last "joins" message is announced first, so the state (whose wall
    # holds the announced entrants) and the log agree for a client that polls.
    services.joins_announce(live_id=live.pk, now=timezone.now())
    return Response(s.LiveStateOutput(selectors.state(live)).data)


class LiveView(APIView):
    """GET: anyone (the public state); POST: the creator (make the event live)."""

    def _public(self) -> bool:
        return getattr(self.request, "method", None) == "GET"

    def get_authenticators(self):
        return [] if self._public() else super().get_authenticators()

    def get_permissions(self):
        return [AllowAny()] if self._public() else super().get_permissions()

    def get_throttles(self):
        return [PublicRateThrottle()] if self._public() else super().get_throttles()

    @extend_schema(
        operation_id="liveGet",
        summary="A live event's state: phase, entrants, rounds and winners (polling)",
        description="What the big screen shows, as of message `seq` of the event's log; poll "
        "`GET /live/messages?after=seq` for what follows, or open the websocket.",
        responses={200: s.LiveStateOutput},
        extensions=refusals("live_not_found"),
        auth=[],
    )
    def get(self, request: Request, event_id: str) -> Response:
        return _state(event_id)

    @extend_schema(
        operation_id="liveStart",
        summary="Make an event a live draw, drawn round by round by its creator",
        request=s.LiveStartInput,
        responses={201: s.LiveStateOutput},
        extensions=refusals(
            "invalid_input",
            "not_owner",
            "live_already",
            "event_has_entrants",
            "event_locked",
            "event_drawn",
            "event_canceled",
        ),  # fmt: skip
    )
    def post(self, request: Request, event_id: str) -> Response:
        data = validated(s.LiveStartInput, request.data)
        event = event_selectors.event_get(public_id=event_id)
        services.live_start(
            event=event, actor=request.user, rounds=data.get("rounds"), now=timezone.now()
        )
        response = _state(event_id)
        response.status_code = 201
        return response


class LiveMessagesView(PublicLiveView):
    @extend_schema(
        operation_id="liveMessages",
        summary="The live event's log after a message (polling, or catching up)",
        parameters=[OpenApiParameter("after", int, description="the last seq you have; 0: all")],
        responses={200: s.LiveMessagesOutput},
        extensions=refusals("live_not_found"),
        auth=[],
    )
    def get(self, request: Request, event_id: str) -> Response:
        live = selectors.live_get(public_id=event_id)
        after = request.query_params.get("after", "0")
        after = int(after) if after.isdigit() and len(after) < 19 else 0
        messages = selectors.messages_after(live_id=live.pk, after=after)
        frames = [selectors.frame(message) for message in messages]
        seq = frames[-1]["seq"] if frames else after
        return Response(s.LiveMessagesOutput({"messages": frames, "seq": seq}).data)


class LiveProofView(PublicLiveView):
    @extend_schema(
        operation_id="liveProof",
        summary="Every round's proof, chained (tools/verify_draw.py --live)",
        responses={200: s.LiveProofOutput},
        extensions=refusals("live_not_found"),
        auth=[],
    )
    def get(self, request: Request, event_id: str) -> Response:
        live = selectors.live_get(public_id=event_id)
        return Response(s.LiveProofOutput(selectors.round_proofs(live)).data)


def _host_command(name, service, summary, refused=()):
    class Command(APIView):
        @extend_schema(
            operation_id=name,
            summary=summary,
            request=None,
            responses={200: s.LiveStateOutput},
            extensions=refusals(*HOST_REFUSALS, *refused),
        )
        def post(self, request: Request, event_id: str) -> Response:
            event = event_selectors.event_get(public_id=event_id)
            service(event=event, actor=request.user, now=timezone.now())
            return _state(event_id)

    Command.__name__ = Command.__qualname__ = f"{name[0].upper()}{name[1:]}View"
    return Command


LiveLockView = _host_command("liveLock", services.live_lock, "Close entries (host)")
LivePauseView = _host_command(
    "livePause", services.live_pause, "Pause: no round can start (host)",
    ("event_not_locked", "live_ended"),
)  # fmt: skip
LiveResumeView = _host_command(
    "liveResume", services.live_resume, "Resume after a pause (host)",
    ("event_not_locked", "live_ended"),
)  # fmt: skip
LiveEndView = _host_command("liveEnd", services.live_end, "End the live draw (host)")


class LiveNextRoundView(APIView):
    @extend_schema(
        operation_id="liveNextRound",
        summary="Draw the next round (host): its inputs freeze now, its winners follow",
        description="202: the round is locked and its beacon round named; its winners are "
        "published once the reveal gap has passed and the round is out (a few seconds to a "
        "minute), as a `round_drawn` message.",
        request=None,
        responses={202: s.LiveStateOutput},
        extensions=refusals(
            *HOST_REFUSALS,
            "event_not_locked",
            "live_paused",
            "live_ended",
            "live_round_in_progress",
            "live_no_rounds_left",
        ),  # fmt: skip
    )
    def post(self, request: Request, event_id: str) -> Response:
        event = event_selectors.event_get(public_id=event_id)
        services.round_lock(event=event, actor=request.user, now=timezone.now())
        response = _state(event_id)
        response.status_code = 202
        return response


class ScreensView(APIView):
    @extend_schema(
        operation_id="liveScreenList",
        summary="The event's big-screen links (host)",
        responses={200: s.ScreenOutput(many=True)},
        extensions=refusals(*HOST_REFUSALS),
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = event_selectors.event_get(public_id=event_id)
        live = services._hosted(event, request.user)
        return Response(s.ScreenOutput(selectors.screens_of(live), many=True).data)

    @extend_schema(
        operation_id="liveScreenCreate",
        summary="Make a big-screen link (host): open it on the party's screen, no login",
        request=None,
        responses={201: s.ScreenCreatedOutput},
        extensions=refusals(*HOST_REFUSALS),
    )
    def post(self, request: Request, event_id: str) -> Response:
        event = event_selectors.event_get(public_id=event_id)
        link, token = services.screen_create(event=event, actor=request.user, now=timezone.now())
        link.url = request.build_absolute_uri(reverse("live-screen", args=[token]))
        return Response(s.ScreenCreatedOutput(link).data, status=201)


class ScreenRevokeView(APIView):
    @extend_schema(
        operation_id="liveScreenRevoke",
        summary="Revoke a big-screen link (host): it stops at once, open screens included",
        request=None,
        responses={200: s.ScreenOutput},
        extensions=refusals(*HOST_REFUSALS, "screen_link_invalid"),
    )
    def delete(self, request: Request, event_id: str, screen_id: str) -> Response:
        event = event_selectors.event_get(public_id=event_id)
        link = services.screen_revoke(
            event=event, actor=request.user, screen_id=screen_id, now=timezone.now()
        )
        return Response(s.ScreenOutput(link).data)


# --- the big screen ---------------------------------------------------------------------------


@require_GET
def screen(request, token: str):
    """The big screen: a page of our own (templates/live, static/live), opened by its link."""
    link = selectors.screen_for_token(token)
    if link is None:
        raise Http404("screen link invalid or revoked")
    event = link.live.event
    proof_url = request.build_absolute_uri(reverse("live-proof", args=[event.public_id]))
    context = {
        "event": event,
        "token": token,
        "ws_port": settings.LIVE_WS_PORT,
        "join_code": _join_code(event, request),
        "verify_svg": segno.make(proof_url, error="m").svg_inline(
            dark="#1b1b1b", light="#ffffff", border=2, omitsize=True
        ),
        "proof_url": proof_url,
    }
    response = render(request, "live/screen.html", context)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


def _join_code(event, request) -> str:
    """The event's mini-program code (WeChat's, made once and stored), or "" without WeChat."""
    from accounts.serializers import picture_url

    try:
        image = event_share_image(event=event, now=timezone.now())
    except ApplicationError:
        return ""
    return picture_url(image, request)
