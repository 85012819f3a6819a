"""Request ids, and the guards that keep /api/ answering in its envelope outside DRF views."""

import logging
import re
import uuid

from django.conf import settings

from lottery_site.api import error_json_response
from lottery_site.request_id import current as request_id_var

logger = logging.getLogger(__name__)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes X-Request-ID from the load balancer when it is sane, else makes one; echoes it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/") and not request.path.startswith(
        ("/api/docs", "/api/schema")
    )


# The one API path that takes a file: its own limit, with room for the multipart envelope.
UPLOAD_PATH = "/api/v1/uploads"
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _body_limit(request) -> int:
    if request.path == UPLOAD_PATH:
        return settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD_BYTES
    return settings.API_MAX_BODY_BYTES


class ApiGuardMiddleware:
    """Refuses oversized API bodies before any work, and renders crashes outside DRF as JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _is_api(request):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > _body_limit(request):
                return error_json_response("payload_too_large")
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not _is_api(request):
            return None
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_json_response("internal_error")
