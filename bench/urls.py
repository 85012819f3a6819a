"""Reference endpoints for bench/join and bench/square, next to every route of the service.

They answer "how fast can an endpoint of this stack be at all": each one does a known part of
what the event detail does, so the detail's figure can be read against floors measured in the
same run, on the same server. Served only under bench/settings.py, never in production.
"""

from django.http import HttpResponse
from django.urls import include, path
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events import read_model, square, views
from events import serializers as s


class DrfOnly(APIView):
    """DRF's request handling and our envelope renderer; no authentication, no throttle."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class AuthenticatedOnly(APIView):
    """What every authenticated endpoint pays before its own work: verifying the JWT, the
    process's list of banned users (re-read at most every second) and the per-user rate limit
    (counted in the process, pushed to Redis once a second). The floor under the event detail."""

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


_states: dict[int, read_model.EventState] = {}


class DetailWithoutQuery(APIView):
    """The event detail's own work except its database read: the live state is the one read
    the first time, kept in memory. An upper bound for any design that answers the detail
    without a round trip of its own (a cache read costs more than nothing)."""

    def get(self, request: Request, event_id: str) -> Response:
        ref = read_model.event_ref(public_id=event_id)
        state = _states.get(ref.pk)
        if state is None:
            state = _states[ref.pk] = read_model.event_state(ref=ref, viewer=request.user)
        return Response(read_model.detail(ref, state))


class SquareAlwaysChecked(views.SquareView):
    """The square's first page as it is served without Redis: every request checks its page in
    the database (one primary-key query) and renders the cards, no page memo. What the
    generation check in Redis saves (bench/square)."""

    def get(self, request: Request) -> HttpResponse:
        query = s.SQUARE_QUERY.run_validation(request.query_params)
        found = square.page(
            sort=query["sort"], after=None, size=query["page_size"], now=timezone.now()
        )
        results = read_model.cards(found.items, request=request)
        body = views._square_body(query["sort"], results, None)  # noqa: SLF001
        return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("bench/drf", DrfOnly.as_view()),
    path("bench/authenticated", AuthenticatedOnly.as_view()),
    path("bench/detail-without-query/<str:event_id>", DetailWithoutQuery.as_view()),
    path("bench/square-checked", SquareAlwaysChecked.as_view()),
    path("", include("lottery_site.urls")),
]
