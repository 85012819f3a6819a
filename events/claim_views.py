"""The claim endpoints: the winner claims, the creator lists, exports and ships.

Personal data appears only in the creator's (and permitted staff's) list and CSV, and each of
those reads is audited by ``events.claims``. Examples here carry placeholders, never real data.
"""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events import claim_serializers as s
from events import claims, selectors
from lottery_site.api import validated
from lottery_site.openapi import refusals

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


class ClaimListView(APIView):
    @extend_schema(
        summary="Winners and their claims, personal data included (creator, permitted staff)",
        operation_id="eventClaimsList",
        responses={200: s.ClaimRowOutput(many=True)},
        extensions=refusals(*_CREATOR_REFUSALS),
    )
    def get(self, request: Request, event_id: str) -> Response:
        rows = _read(request, event_id, reason="api")
        return Response(s.ClaimRowOutput(rows, many=True).data)


class ClaimCsvView(APIView):
    @extend_schema(
        summary="Winners and their claims as CSV (creator, permitted staff)",
        operation_id="eventClaimsCsv",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="one winner a row"),
        },
        extensions=refusals(*_CREATOR_REFUSALS),
    )
    def get(self, request: Request, event_id: str) -> HttpResponse:
        rows = _read(request, event_id, reason="csv")
        response = HttpResponse(claims.claims_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{event_id}-claims.csv"'
        return response


def _read(request: Request, event_id: str, *, reason: str) -> list[dict]:
    event = selectors.event_get(public_id=event_id)
    return claims.claims_read(event=event, reader=request.user, now=timezone.now(), reason=reason)


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
