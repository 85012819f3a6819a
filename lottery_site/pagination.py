"""Cursor pagination: ``data = {"results": [...], "next": <opaque cursor or null>}``.

A cursor, unlike a page number, stays correct while a flash crowd inserts rows at the top.
"""

from urllib.parse import parse_qs, urlparse

from rest_framework import pagination, serializers
from rest_framework.response import Response


class CursorPagination(pagination.CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"

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
