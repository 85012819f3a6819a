"""The claim endpoints: the winner claims, the creator lists, exports and ships.

Personal data appears only in the creator's (and permitted staff's) list and CSV, and each of
those reads is audited by ``events.claims``. Examples here carry placeholders, never real data.
"""

from datetime import UTC, datetime

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events import claim_serializers as s
from events import claims, selectors
from lottery_site.api import validated
from lottery_site.deprecation import DEPRECATION_HEADERS, Deprecation
from lottery_site.openapi import refusals
from lottery_site.pagination import (
    PAGE_PARAMETERS,
    invalid_cursor,
    page_of,
    sign_cursor,
    unsign_cursor,
)

# What the winner's reads can refuse; a submission can also come too late or after shipping.
_WINNER_REFUSALS = (
    "not_winner",
    "event_not_drawn",
    "event_canceled",
    "claim_not_offered",
    "claims_unavailable",
)
_SUBMIT_REFUSALS = (*_WINNER_REFUSALS, "claim_expired", "claim_shipped")
# Not the creator, nor staff with view_claim_personal_data; or no key to decrypt with.
_CREATOR_REFUSALS = ("not_owner", "claims_unavailable")
_ADDRESS_EXAMPLE = {
    "name": "<name>",
    "phone": "13800000000",
    "province": "<province>",
    "city": "<city>",
    "county": "<county>",
    "detail": "<street and number>",
    "postal_code": "000000",
}
_MY_CLAIM_EXAMPLE = {
    "id": "c_0123456789abcdef",
    "delivery": "shipping",
    "state": "claimed",
    "deadline": "2026-12-08T21:00:00+08:00",
    "contact_note": "",
    "code": "",
    "carrier": "",
    "tracking_number": "",
    "shipped_at": None,
}


class ClaimView(APIView):
    """The caller's own claim: read it, submit it, correct it (POST and PUT alike)."""

    @extend_schema(
        summary="My claim of my prize (winner)",
        operation_id="eventClaimRetrieve",
        responses={200: s.MyClaimOutput},
        extensions=refusals(*_WINNER_REFUSALS),
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_get(public_id=event_id)
        return Response(_mine(event, request))

    @extend_schema(
        summary="Claim my prize, or correct my claim until shipped (winner)",
        operation_id="eventClaimCreate",
        request=s.ClaimInput,
        responses={200: s.MyClaimOutput},
        extensions=refusals(*_SUBMIT_REFUSALS),
        examples=[
            OpenApiExample("Shipping", value={"address": _ADDRESS_EXAMPLE}, request_only=True),
            OpenApiExample("Contact or code", value={}, request_only=True),
            OpenApiExample("Claimed", value=_MY_CLAIM_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request: Request, event_id: str) -> Response:
        return _submit(request, event_id)

    @extend_schema(
        summary="Correct my claim until shipped (winner; same as POST)",
        operation_id="eventClaimUpdate",
        request=s.ClaimInput,
        responses={200: s.MyClaimOutput},
        extensions=refusals(*_SUBMIT_REFUSALS),
    )
    def put(self, request: Request, event_id: str) -> Response:
        return _submit(request, event_id)


def _submit(request: Request, event_id: str) -> Response:
    data = validated(s.ClaimInput, request.data or {})
    event = selectors.event_get(public_id=event_id)
    claims.claim_submit(
        event=event, user=request.user, now=timezone.now(), address=data.get("address")
    )
    return Response(_mine(event, request))


def _mine(event, request: Request) -> dict:
    mine = claims.claim_for_winner(event=event, user=request.user, now=timezone.now())
    return s.MyClaimOutput(mine).data


# The whole list in one array: a creator with many winners needed pages and a filter. Kept, with
# its shape, until a major version; announced on every answer (lottery_site.deprecation).
CLAIMS_LIST_DEPRECATION = Deprecation(
    since=datetime(2026, 12, 7, tzinfo=UTC), sunset=datetime(2027, 6, 30, tzinfo=UTC)
)
_STATE_PARAMETER = OpenApiParameter(
    "state", enum=s.CLAIM_STATES, description="Only the winners whose claim is in this state."
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ClaimListView(APIView):
    @extend_schema(
        summary="Winners and their claims, all in one list (deprecated: use claim-rows)",
        description="Deprecated since API 1.1.0: `GET /events/{event_id}/claim-rows` pages and "
        "filters the same rows. This one keeps working, in this shape, until API 2.0.0, and "
        "says so in `Deprecation`, `Sunset` and `Link` headers on every answer.",
        operation_id="eventClaimsList",
        deprecated=True,
        parameters=DEPRECATION_HEADERS,
        responses={200: s.ClaimRowOutput(many=True)},
        extensions=refusals(*_CREATOR_REFUSALS),
    )
    def get(self, request: Request, event_id: str) -> Response:
        rows = _read(request, event_id, reason="api")
        response = Response(s.ClaimRowOutput(rows, many=True).data)
        return CLAIMS_LIST_DEPRECATION.apply(
            response, successor=f"/api/v1/events/{event_id}/claim-rows"
        )


class ClaimRowListView(APIView):
    @extend_schema(
        summary="Winners and their claims, a page at a time (creator, permitted staff)",
        description="In draw order; `state` keeps one state (`claimed`: the ones to ship). "
        "Personal data included, each read audited.",
        operation_id="eventClaimRowList",
        parameters=[_STATE_PARAMETER, *PAGE_PARAMETERS],
        responses={200: page_of(s.ClaimRowOutput)},
        extensions=refusals(*_CREATOR_REFUSALS, "invalid_input"),
    )
    def get(self, request: Request, event_id: str) -> Response:
        query = validated(s.ClaimPageQuery, request.query_params)
        state = query.get("state")
        after = _position(query["cursor"], state=state) if "cursor" in query else None
        event = selectors.event_get(public_id=event_id)
        rows, last = claims.claims_page(
            event=event,
            reader=request.user,
            now=timezone.now(),
            state=state,
            after=after,
            size=query["page_size"],
        )
        cursor = sign_cursor([state or "", last]) if last is not None else None
        return Response({"results": s.ClaimRowOutput(rows, many=True).data, "next": cursor})


def _position(token: str, *, state: str | None) -> int:
    """The draw rank in a cursor of this filter; a cursor of another filter is a 400 too."""
    filter_, rank = unsign_cursor(token, length=2)
    if filter_ != (state or "") or type(rank) is not int:
        raise invalid_cursor()
    return rank


class ClaimCsvView(APIView):
    @extend_schema(
        summary="Winners and their claims as CSV (creator, permitted staff)",
        operation_id="eventClaimsCsv",
        parameters=[_STATE_PARAMETER],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="one winner a row"),
        },
        extensions=refusals(*_CREATOR_REFUSALS, "invalid_input"),
    )
    def get(self, request: Request, event_id: str) -> HttpResponse:
        rows = _read(request, event_id, reason="csv")
        response = HttpResponse(claims.claims_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{event_id}-claims.csv"'
        return response


class ClaimXlsxView(APIView):
    @extend_schema(
        summary="Winners and their claims as an Excel workbook (creator, permitted staff)",
        description="The CSV's columns in an .xlsx, which `wx.openDocument` opens "
        "(`fileType: 'xlsx'`) after `wx.downloadFile` with the Authorization header.",
        operation_id="eventClaimsXlsx",
        parameters=[_STATE_PARAMETER],
        responses={
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="one winner a row"),
        },
        extensions=refusals(*_CREATOR_REFUSALS, "invalid_input"),
    )
    def get(self, request: Request, event_id: str) -> HttpResponse:
        rows = _read(request, event_id, reason="xlsx")
        response = HttpResponse(claims.claims_xlsx(rows), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{event_id}-claims.xlsx"'
        return response


def _read(request: Request, event_id: str, *, reason: str) -> list[dict]:
    state = validated(s.ClaimListQuery, request.query_params).get("state")
    event = selectors.event_get(public_id=event_id)
    return claims.claims_read(
        event=event, reader=request.user, now=timezone.now(), reason=reason, state=state
    )


class ClaimShipView(APIView):
    @extend_schema(
        summary="Mark a claim shipped (creator)",
        operation_id="eventClaimShip",
        request=s.ShipInput,
        responses={200: s.MyClaimOutput},
        extensions=refusals("not_owner", "claim_not_found", "claim_not_claimed", "claim_shipped"),
        examples=[
            OpenApiExample(
                "Shipped",
                value={"carrier": "顺丰", "tracking_number": "SF0000000000"},
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request, event_id: str, claim_id: str) -> Response:
        data = validated(s.ShipInput, request.data)
        event = selectors.event_get(public_id=event_id)
        claim = claims.claim_ship(
            event=event, actor=request.user, claim_id=claim_id, now=timezone.now(), **data
        )
        return Response(s.MyClaimOutput(claims.claim_as_shipped(event=event, claim=claim)).data)
