"""The client's configuration: server time, subscribe-message templates, limits, API version,
the privacy policy in force.

Cacheable with an ETag that covers everything but ``server_time``: the configuration changes
only with a deploy, the time every second. A client revalidates with ``If-None-Match`` and gets a
304 without a body while nothing changed; the time then comes from the ``Date`` header the HTTP
server puts on every answer (a 200 also has ``server_time``, to the microsecond).
"""

import hashlib
import json

from django.conf import settings
from django.utils import timezone
from django.utils.cache import get_conditional_response
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import ProfileInput
from clientconfig import serializers as s
from events.limits import condition_rules, event_limits
from lottery_site.throttling import PublicRateThrottle

# Shared caches may keep it, but must ask again each time (a cheap 304), so a configuration
# change after a deploy is seen on the next call and server_time is never served stale.
CACHE_CONTROL = "public, no-cache"


def client_config() -> dict:
    """Everything but the time: what the ETag covers."""
    nickname = ProfileInput().fields["nickname"]
    return {
        "api_version": settings.SPECTACULAR_SETTINGS["VERSION"],
        "subscribe_templates": {
            kind: template["id"]
            for kind, template in settings.NOTIFY_TEMPLATES.items()
            if template["id"]
        },
        "limits": {
            **event_limits(),
            "nickname_length": {"min": nickname.min_length, "max": nickname.max_length},
        },
        "conditions": condition_rules(),
        "privacy_policy": {
            "version": settings.PRIVACY_POLICY_VERSION,
            "url": settings.PRIVACY_POLICY_URL,
        },
    }


def config_etag(config: dict) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


class ConfigView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]

    @extend_schema(
        summary="What the client must know: server time, templates, limits, API version, policy",
        operation_id="configGet",
        auth=[],
        parameters=[
            OpenApiParameter(
                "If-None-Match",
                location=OpenApiParameter.HEADER,
                description="The ETag of the config you hold: 304 while it is current.",
            ),
            OpenApiParameter(
                "ETag",
                location=OpenApiParameter.HEADER,
                response=[200, 304],
                description="Covers everything but server_time.",
            ),
            OpenApiParameter(
                "Cache-Control", location=OpenApiParameter.HEADER, response=[200, 304]
            ),
        ],
        responses={
            200: s.ConfigOutput,
            304: OpenApiResponse(description="Unchanged since the ETag in If-None-Match"),
        },
        examples=[OpenApiExample("Config", value=s.EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        config = client_config()
        response = Response(s.ConfigOutput({"server_time": timezone.now(), **config}).data)
        response["ETag"] = config_etag(config)
        response["Cache-Control"] = CACHE_CONTROL
        # No Date header of ours: gunicorn (and runserver) send one on every answer, 304s too.
        return get_conditional_response(request._request, etag=response["ETag"], response=response)
