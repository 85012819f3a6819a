"""Deprecated operations announce themselves on every answer (docs/miniprogram.md, "Versions").

``Deprecation: @<unix seconds>`` (RFC 9745) says since when, ``Sunset: <HTTP date>`` (RFC 8594)
when it may stop working, and ``Link`` names the successor and the policy. The SDK passes them
to ``onDeprecation``; the OpenAPI document marks the operation ``deprecated`` and declares the
headers (``DEPRECATION_HEADERS``).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.http import http_date
from drf_spectacular.utils import OpenApiParameter

# Where a person reads about it: the API's own documentation, which marks it deprecated.
DOCS_PATH = "/api/docs/"


@dataclass(frozen=True)
class Deprecation:
    since: datetime
    sunset: datetime

    def apply(self, response, *, successor: str):
        """Put the headers on ``response``; ``successor`` is the path to use instead."""
        response["Deprecation"] = f"@{int(self.since.timestamp())}"
        response["Sunset"] = http_date(self.sunset.timestamp())
        response["Link"] = (
            f'<{successor}>; rel="successor-version", <{DOCS_PATH}>; rel="deprecation"'
        )
        return response


# ``@extend_schema(parameters=[*DEPRECATION_HEADERS])`` on a deprecated operation.
DEPRECATION_HEADERS = [
    OpenApiParameter(
        "Deprecation",
        location=OpenApiParameter.HEADER,
        response=[200],
        description="`@<unix seconds>`: deprecated since then (RFC 9745).",
    ),
    OpenApiParameter(
        "Sunset",
        location=OpenApiParameter.HEADER,
        response=[200],
        description="The HTTP date after which it may stop working (RFC 8594).",
    ),
    OpenApiParameter(
        "Link",
        location=OpenApiParameter.HEADER,
        response=[200],
        description='The successor (`rel="successor-version"`) and the policy '
        '(`rel="deprecation"`).',
    ),
]
