"""The events API: parse with an input serializer, call one service or selector, render."""

import functools

from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
)
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts_services
from events import examples, fraud, read_model, selectors, square
from events import serializers as s
from events.services.entries import entry_exclude, entry_join, entry_leave
from events.services.events import event_cancel, event_create, event_update
from events.services.reports import event_report, events_flag_for_picture
from events.services.sharing import event_share_image, share_path
from lottery_site import caches
from lottery_site.api import EnvelopeJSONRenderer, validated
from lottery_site.client_ip import client_ip
from lottery_site.openapi import refusals
from lottery_site.pagination import (
    PAGE_PARAMETERS,
    CursorPagination,
    invalid_cursor,
    page_of,
    sign_cursor,
    unsign_cursor,
)
from lottery_site.throttling import PublicRateThrottle
from wechat import security


class NewestEntriesFirst(CursorPagination):
    ordering = "-created_at"


class LatestDrawFirst(CursorPagination):
    ordering = "-draw_at"


def _detail(public_id: str, request: Request, *, status_code: int = 200) -> Response:
    """The event as EventOutput renders it (events.read_model: every read of an event)."""
    return Response(
        read_model.event_detail(public_id=public_id, request=request), status=status_code
    )


# What the creator's edits and cancellations can be refused with, besides the shape of the input.
# What WeChat's content check and the pictures add to any write of an event's text (create, edit).
CONTENT_REFUSALS = ("content_risky", "upload_unusable", "wechat_unavailable")
# What choosing entry conditions adds (events.conditions): WeChat's rules refused by name, and
# the group bound from the creator's own group data.
RULE_REFUSALS = (
    "rule_follow_forbidden",
    "rule_share_forbidden",
    "rule_paid_entry_forbidden",
    "rule_fake_count_forbidden",
    "wechat_session_expired",
    "entry_group_data_invalid",
)
EDIT_REFUSALS = (
    *CONTENT_REFUSALS,
    *RULE_REFUSALS,
    "conditions_frozen",
    "not_owner",
    "event_locked",
    "event_drawn",
    "event_canceled",
    "event_has_entrants",
    "invalid_input",
)
CANCEL_REFUSALS = (
    "not_owner",
    "event_locked",
    "event_drawn",
    "event_canceled",
    "content_risky",
    "wechat_unavailable",
)


class EventListView(APIView):
    @extend_schema(
        operation_id="eventCreate",
        summary="Create an event",
        request=s.EventCreateInput,
        responses={201: s.EventOutput},
        extensions=refusals("account_disabled", "invalid_input", *CONTENT_REFUSALS, *RULE_REFUSALS),
    )
    def post(self, request: Request) -> Response:
        data = validated(s.EventCreateInput, request.data)
        event = event_create(creator=request.user, now=timezone.now(), **data)
        return _detail(event.public_id, request, status_code=status.HTTP_201_CREATED)


class EventDetailView(APIView):
    privacy_consent_exempt = ("GET",)  # a public page, shared by link

    @extend_schema(operation_id="eventGet", summary="An event", responses={200: s.EventOutput})
    def get(self, request: Request, event_id: str) -> Response:
        return _detail(event_id, request)

    @extend_schema(
        operation_id="eventPatch",
        summary="Edit an event (PATCH form)",
        request=s.EventUpdateInput,
        responses={200: s.EventOutput},
        extensions=refusals(*EDIT_REFUSALS),
    )
    def patch(self, request: Request, event_id: str) -> Response:
        return _update(request, event_id)

    # wx.request has no PATCH: PUT is the same partial update (absent fields stay as they are).
    @extend_schema(
        summary="Edit an event (partial, like PATCH)",
        operation_id="eventUpdate",
        request=s.EventUpdateInput,
        responses={200: s.EventOutput},
        extensions=refusals(*EDIT_REFUSALS),
        examples=[
            examples.request("New title", {"title": "春节抽奖"}),
            examples.event_response(title="春节抽奖"),
        ],
    )
    def put(self, request: Request, event_id: str) -> Response:
        return _update(request, event_id)

    @extend_schema(
        operation_id="eventDelete",
        summary="Cancel an event (DELETE form, no body)",
        description="The same as POST /events/{event_id}/cancel without a reason; a body, which "
        "wx.request cannot send reliably with DELETE, is still read when there is one.",
        request=None,
        responses={200: s.EventOutput},
        # 40000 only for a body that is sent anyway with a reason too long.
        extensions=refusals(*CANCEL_REFUSALS, "invalid_input"),
    )
    def delete(self, request: Request, event_id: str) -> Response:
        # A body is optional: without one (all wx.request can send reliably) there is no reason.
        return _cancel(request, event_id)


class EventCancelView(APIView):
    """``POST /events/{id}/cancel``: the DELETE above for clients that cannot send its body."""

    @extend_schema(
        summary="Cancel an event (the creator, before the lock)",
        operation_id="eventCancel",
        request=s.CancelInput,
        responses={200: s.EventOutput},
        extensions=refusals(*CANCEL_REFUSALS),
        examples=[
            examples.request("With a reason", {"reason": "奖品缺货"}),
            examples.event_response(
                status="canceled", phase="canceled", joinable=False, cancel_reason="奖品缺货"
            ),
        ],
    )
    def post(self, request: Request, event_id: str) -> Response:
        return _cancel(request, event_id)


def _update(request: Request, event_id: str) -> Response:
    data = validated(s.EventUpdateInput, request.data)
    event = selectors.event_get(public_id=event_id)
    event_update(event=event, actor=request.user, now=timezone.now(), **data)
    return _detail(event_id, request)


def _cancel(request: Request, event_id: str) -> Response:
    data = validated(s.CancelInput, request.data or {})
    event = selectors.event_get(public_id=event_id)
    event_cancel(event=event, actor=request.user, now=timezone.now(), reason=data.get("reason", ""))
    return _detail(event_id, request)


class EventShareView(APIView):
    @extend_schema(
        operation_id="eventShareGet",
        summary="Share an event: title, page path and mini-program code",
        description=(
            "`title` and `path` are what `onShareAppMessage` returns; `image` is the event's "
            "mini-program code (scene: the event id), made by WeChat on the first request "
            "and stored: every later request answers the same picture without calling WeChat."
        ),
        responses={200: s.ShareOutput},
        extensions=refusals("wechat_bad_gateway", "wechat_unavailable"),
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_get(public_id=event_id)
        image = event_share_image(event=event, now=timezone.now())
        payload = {"title": event.title, "path": share_path(event), "image": image}
        return Response(s.ShareOutput(payload, context={"request": request}).data)


class EventReportView(APIView):
    @extend_schema(
        operation_id="eventReport",
        summary="Report an event to staff",
        description=(
            "Any signed-in user may report an event once; the event lands in the staff's "
            "moderation queue. Reporting again answers 200 with the first report, unchanged."
        ),
        request=s.ReportInput,
        examples=[OpenApiExample("fraud", value={"reason": "fraud"}, request_only=True)],
        responses={200: s.ReportOutput, 201: s.ReportOutput},
    )
    def post(self, request: Request, event_id: str) -> Response:
        data = validated(s.ReportInput, request.data)
        event = selectors.event_get(public_id=event_id)
        report, created = event_report(
            event=event, user=request.user, reason=data["reason"], now=timezone.now()
        )
        payload = {"event_id": event_id, "reason": report.reason, "reported_at": report.created_at}
        return Response(s.ReportOutput(payload).data, status=201 if created else 200)


class WeChatCallbackView(APIView):
    """WeChat's message push ("server URL"): the verdicts of media_check_async.

    GET is WeChat's check of the URL (echo ``echostr`` when the signature is right). POST
    carries an event, JSON, plain or encrypted (safe mode, the only one taken once an AES key
    is set); a malformed push is a 400, a wrong signature, a stale timestamp or a replayed
    nonce a 403, all in our envelope. Anything but ``wxa_media_check`` is acknowledged and
    ignored.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="wechatCallbackVerify",
        summary="WeChat's server URL check (echo)",
        parameters=[
            OpenApiParameter(name, str, required=True)
            for name in ("signature", "timestamp", "nonce", "echostr")
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR},
        extensions=refusals("invalid_input", "wechat_signature_invalid"),
        auth=[],
    )
    def get(self, request: Request) -> HttpResponse:
        security.verify_url(query=request.query_params)
        return HttpResponse(request.query_params.get("echostr", ""), content_type="text/plain")

    @extend_schema(
        operation_id="wechatCallback",
        summary="WeChat pushes a media check verdict",
        request=OpenApiTypes.OBJECT,
        responses={(200, "text/plain"): OpenApiTypes.STR},
        extensions=refusals(
            "invalid_input",
            "wechat_signature_invalid",
            "wechat_callback_stale",
            "wechat_callback_replayed",
            "wechat_callback_plain_refused",
        ),
        auth=[],
    )
    def post(self, request: Request) -> HttpResponse:
        now = timezone.now()
        push = security.open_push(body=request.body, query=request.query_params, now=now)
        verdict = security.media_verdict(push.message)
        with accounts_services.wechat_push_once(
            timestamp=push.timestamp, nonce=push.nonce, now=now
        ):
            if verdict is not None:
                upload, taken_down = accounts_services.upload_moderate(
                    trace_id=verdict.trace_id, suggest=verdict.suggest, now=now
                )
                if taken_down:
                    events_flag_for_picture(upload=upload, now=now)
        return HttpResponse("success", content_type="text/plain")


# Each unmet entry condition's own refusal (events.conditions), and what the conditions add.
CONDITION_REFUSALS = (
    "invalid_input",
    "wechat_session_expired",
    "entry_password_required",
    "entry_password_wrong",
    "entry_answer_required",
    "entry_answer_wrong",
    "entry_group_required",
    "entry_group_data_invalid",
    "entry_group_mismatch",
    "entry_new_users_only",
    "entry_risk_refused",
    "entry_excluded",
    "entry_attempts_exceeded",
    "entry_risk_unavailable",
)


class EntryView(APIView):
    """Join (POST) or withdraw from (DELETE) an event, as the caller."""

    privacy_consent_exempt = ("DELETE",)  # leaving stops processing: no consent needed

    @extend_schema(
        operation_id="eventJoin",
        summary="Join an event",
        description="201 for a new entry, 200 when the caller had already joined. An event "
        "with entry conditions (`conditions` in its detail) takes what they need in the body "
        "(docs/miniprogram.md); an event without takes no body.",
        request=s.JoinInput,
        responses={200: s.JoinOutput, 201: s.JoinOutput},
        extensions=refusals(
            "account_disabled",
            "event_locked",
            "event_drawn",
            "event_canceled",
            *CONDITION_REFUSALS,
        ),
    )
    def post(self, request: Request, event_id: str) -> Response:
        event = read_model.event_ref(public_id=event_id)
        # The body is read only when there can be something in it: an event without conditions
        # joins without parsing one (the flash-crowd path).
        answers = None
        if event.conditions is not None or request.META.get("CONTENT_LENGTH", "0") not in ("", "0"):
            answers = s.join_answers(request.data)
        entry, created = entry_join(
            event=event,
            user=request.user,
            now=timezone.now(),
            answers=answers,
            client_ip=client_ip(request),
        )
        payload = {"event_id": event.public_id, "joined": True, "joined_at": entry.created_at}
        return Response(s.JOIN.to_representation(payload), status=201 if created else 200)

    @extend_schema(
        operation_id="eventWithdraw",
        summary="Withdraw from an event",
        request=None,
        responses={200: s.JoinOutput},
        extensions=refusals("event_locked", "event_drawn", "event_canceled"),
    )
    def delete(self, request: Request, event_id: str) -> Response:
        event = read_model.event_ref(public_id=event_id)
        entry_leave(event=event, user=request.user, now=timezone.now())
        payload = {"event_id": event.public_id, "joined": False, "joined_at": None}
        return Response(s.JOIN.to_representation(payload))


class EventFlagsView(APIView):
    @extend_schema(
        operation_id="eventFlags",
        summary="The creator's anti-fraud page: flagged entrants and exclusions so far",
        description="Entrants flagged by WeChat's risk check or by our own signals, with "
        'reason codes only (docs/api.md, "Anti-fraud"); how many were excluded per reason.',
        responses={200: s.FlagsOutput},
        extensions=refusals("not_owner"),
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_get(public_id=event_id)
        flags = fraud.flags_for_creator(event=event, viewer=request.user)
        return Response(s.FlagsOutput(flags).data)


class EventExclusionsView(APIView):
    @extend_schema(
        operation_id="eventExclude",
        summary="Exclude a flagged entrant before the lock, for a public reason",
        description="201 the first time, 200 with the same exclusion after. The entry is "
        "removed, the entrant cannot join again and is told in their inbox; the proof counts "
        "exclusions per reason.",
        request=s.ExclusionInput,
        responses={200: s.ExclusionOutput, 201: s.ExclusionOutput},
        extensions=refusals(
            "invalid_input",
            "not_owner",
            "entrant_not_flagged",
            "event_locked",
            "event_drawn",
            "event_canceled",
        ),
    )
    def post(self, request: Request, event_id: str) -> Response:
        data = validated(s.ExclusionInput, request.data)
        event = selectors.event_get(public_id=event_id)
        exclusion, created = entry_exclude(
            event=event,
            actor=request.user,
            entrant_key=data["entrant"],
            reason=data["reason"],
            now=timezone.now(),
        )
        return Response(s.ExclusionOutput(exclusion).data, status=201 if created else 200)


class EntryListView(APIView):
    privacy_consent_exempt = ("GET",)  # part of the event's public page

    @extend_schema(
        operation_id="eventEntryList",
        summary="Who joined an event, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(s.EntryOutput)},
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = read_model.event_ref(public_id=event_id)
        paginator = NewestEntriesFirst()
        page = paginator.paginate_queryset(selectors.event_entries(event=event), request, self)
        entries = s.EntryOutput(page, many=True, context={"request": request})
        return paginator.get_paginated_response(entries.data)


class MyEventsView(APIView):
    @extend_schema(
        operation_id="meEventList",
        summary="The caller's events: created, joined or won",
        parameters=[
            OpenApiParameter("role", enum=selectors.ROLES, default="joined"),
            *PAGE_PARAMETERS,
        ],
        responses={200: page_of(s.EventOutput)},
    )
    def get(self, request: Request) -> Response:
        query = validated(s.MyEventsQuery, request.query_params)
        events = selectors.events_of_user(user=request.user, role=query["role"])
        paginator = LatestDrawFirst()
        page = paginator.paginate_queryset(events, request, self)
        events = s.EventOutput(page, many=True, context={"request": request})
        return paginator.get_paginated_response(events.data)


class SquareView(APIView):
    """The public square: anyone may read it, logged in or not (a token sent is ignored)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]

    @extend_schema(
        operation_id="squareList",
        summary="The public square: public events still open for joining",
        description=(
            "Events their creators made `public`, not hidden or under review, still open for "
            "joining (`init` and before `lock_at`). `hot`: most joins in the last "
            "SQUARE_HOT_WINDOW_HOURS first (ties: the sooner draw, then the older event); "
            "`soon`: the nearest draw time first; `new`: the newest first. An event that is "
            "canceled, hidden, locked or drawn is never listed, from that moment on; a newly "
            "public event appears within SQUARE_REFRESH_SECONDS, and so does a move in the hot "
            "order. A page may hold fewer than `page_size` events while `next` is not null."
        ),
        parameters=[
            OpenApiParameter("sort", enum=square.SORTS, default="hot"),
            *PAGE_PARAMETERS,
            OpenApiParameter(
                "If-None-Match",
                location=OpenApiParameter.HEADER,
                description="The ETag of the page you hold: 304 while it is unchanged.",
            ),
            OpenApiParameter(
                "ETag",
                location=OpenApiParameter.HEADER,
                response=[200, 304],
                description="The page's.",
            ),
            OpenApiParameter(
                "Cache-Control", location=OpenApiParameter.HEADER, response=[200, 304]
            ),
        ],
        responses={
            200: page_of(s.SquareEventOutput),
            304: OpenApiResponse(description="Unchanged since the ETag in If-None-Match"),
        },
        extensions=refusals("invalid_input"),
        auth=[],
    )
    def get(self, request: Request) -> HttpResponse:
        query, after = _square_request(request)
        body, etag = read_model.square_page(
            sort=query["sort"],
            after=after,
            size=query["page_size"],
            now=timezone.now(),
            request=request,
            finish=functools.partial(_square_body, query["sort"]),
        )
        # The body is rendered once per page and kept with it (events.square): no Response to
        # render again on every request. Cacheable by anyone, but revalidated on every use:
        # what left the square must not show.
        response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = "public, no-cache"
        return get_conditional_response(request._request, etag=etag, response=response)


def _square_body(sort: str, results: list[dict], next_key: list | None) -> bytes:
    """A page of the square in the envelope, as EnvelopeJSONRenderer renders a Response."""
    token = sign_cursor([sort, *next_key]) if next_key else None
    return _ENVELOPE.render({"results": results, "next": token})


_ENVELOPE = EnvelopeJSONRenderer()


# Query strings already validated, with the sort key of their cursor: a reader scrolling the
# square sends the same few (first pages, the next cursors of popular pages), and validating
# them, cursor signature included, costs about a seventh of the request. Only valid ones are
# kept (an invalid one is a 400 every time); cursors never expire, so neither do entries.
_QUERIES = caches.Memo(
    "square.queries",
    size=4096,
    holds="a square request's raw query string -> its validated query and the sort key its "
    "cursor carries",
    freshness="never stale: a query string's meaning never changes (cursors are signed and "
    "never expire)",
    invalidated_by="nothing (an invalid query string is never remembered)",
    benchmark="bench/square: hot, page 2 0.42 -> 0.456 of the bare view "
    '(docs/benchmarks.md, "Re-run on the merged main (2026-12-02, 00:41), with the query memo")',
)


def _square_request(request: Request) -> tuple[dict, list | None]:
    """The validated query (sort, page_size, cursor) and the sort key its cursor carries."""
    raw = request.META.get("QUERY_STRING", "")
    known = _QUERIES.get(raw)
    if known is not None:
        return known
    query = s.SQUARE_QUERY.run_validation(request.query_params)
    after = _square_position(query["cursor"], sort=query["sort"]) if "cursor" in query else None
    return _QUERIES.put(raw, (query, after))


def _square_position(token: str, *, sort: str) -> list:
    """The sort key in a cursor of this sort; a cursor of another sort is a 400 as well."""
    length = 1 + len(square.KEY_FIELDS[sort])
    position = unsign_cursor(token, length=length)
    if position[0] != sort or not all(type(value) is int for value in position[1:]):
        raise invalid_cursor()
    return position[1:]
