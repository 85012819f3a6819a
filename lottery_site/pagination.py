"""Cursor pagination: ``data = {"results": [...], "next": <opaque cursor or null>}``.

A cursor, unlike a page number, stays correct while a flash crowd inserts rows at the top.
"""

from urllib.parse import parse_qs, urlparse

from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response

from lottery_site.errors import ApplicationError


class CursorPagination(pagination.CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"

    def decode_cursor(self, request):
        """A cursor we did not issue is a bad argument (400, like the inbox's), not a missing
        page: DRF's 404 would read to a client as "this event is gone"."""
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise ApplicationError("invalid_input", data={"cursor": ["无效的分页游标"]}) from None

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
