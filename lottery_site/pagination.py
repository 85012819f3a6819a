"""Cursor pagination: ``data = {"results": [...], "next": <opaque cursor or null>}``.

A cursor, unlike a page number, stays correct while a flash crowd inserts rows at the top.
Cursors are signed: DRF's are plain base64 of the position, and a forged position reached the
database as a filter value (``p=garbage``: a 500). A cursor we did not issue is a 400 now,
whatever it holds, and what we issued is trusted as it stands.
"""

from urllib.parse import parse_qs, urlparse

from django.core import signing
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import pagination, serializers
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

_SIGNER = signing.Signer(salt="lottery_site.pagination.cursor")


def sign_cursor(position: list) -> str:
    """An opaque cursor for ``position`` (JSON values), URL-safe: no "+" to become a space."""
    return _SIGNER.sign_object(position)


def unsign_cursor(token: str, *, length: int) -> list:
    """The position in a cursor we issued; any other cursor is a 400 naming ``cursor``."""
    try:
        position = _SIGNER.unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        position = None
    if not isinstance(position, list) or len(position) != length:
        raise invalid_cursor()
    return position


def invalid_cursor() -> serializers.ValidationError:
    """The 400 (naming ``cursor``) for a cursor we did not issue for this list."""
    return serializers.ValidationError(
        {"cursor": [_("Invalid cursor: pass the next value of the page before.")]}
    )


class CursorPagination(pagination.CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"

    def encode_cursor(self, cursor: pagination.Cursor) -> str:
        # URL-safe base64 (no "+" to turn into a space) of [offset, reverse, position], signed.
        token = sign_cursor([cursor.offset, cursor.reverse, cursor.position])
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request) -> pagination.Cursor | None:
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        offset, reverse, position = unsign_cursor(token, length=3)
        return pagination.Cursor(offset=offset, reverse=reverse, position=position)

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_cursor()})

    def get_next_cursor(self) -> str | None:
        link = self.get_next_link()
        if not link:
            return None
        return parse_qs(urlparse(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as ?cursor= to get the next page; null on the last.",
                },
            },
        }


# The query parameters of every cursor-paginated list, for ``@extend_schema(parameters=...)``.
PAGE_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        OpenApiTypes.STR,
        required=False,
        description="The `next` of the previous page, as given; any other value is a 400.",
    ),
    OpenApiParameter(
        "page_size", OpenApiTypes.INT, required=False, description="1-100 (default 20)."
    ),
]

_PAGES: dict[type, type] = {}


def page_of(item_serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The OpenAPI shape of one page of ``item_serializer`` items, for ``@extend_schema``."""
    if item_serializer not in _PAGES:
        name = item_serializer.__name__.removesuffix("Output") + "Page"
        _PAGES[item_serializer] = type(
            name,
            (serializers.Serializer,),
            {
                "results": item_serializer(many=True),
                "next": serializers.CharField(
                    allow_null=True,
                    help_text="Pass as ?cursor= for the next page; null on the last.",
                ),
            },
        )
    return _PAGES[item_serializer]


def _page_parameters() -> list:
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiParameter

    return [
        OpenApiParameter(
            "cursor",
            OpenApiTypes.STR,
            required=False,
            description="The `next` of the previous page; omit for the first page.",
        ),
        OpenApiParameter(
            "page_size",
            OpenApiTypes.INT,
            required=False,
            description=f"Items per page, 1 to {CursorPagination.max_page_size} "
            f"(default {CursorPagination.page_size}).",
        ),
    ]


# ``@extend_schema(parameters=PAGE_PARAMETERS)`` on every view that pages with a cursor.
PAGE_PARAMETERS = _page_parameters()
