"""Shared API plumbing: the response envelope, the JSON parser and the one exception handler.

Every response under /api/ is ``{"code": int, "msg": str, "data": any}``. Views return their
payload; ``EnvelopeJSONRenderer`` wraps it. Every error, ours, DRF's or Django's, goes through
``exception_handler`` and comes out in the same shape with a code from ``lottery_site.errors``.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken

from lottery_site.errors import CATALOGUE, ApplicationError, ErrorKind, message_for

logger = logging.getLogger(__name__)


def envelope(kind: ErrorKind | None = None, data: Any = None, msg: str | None = None) -> dict:
    if kind is None:
        return {"code": 0, "msg": msg or "ok", "data": data}
    return {"code": kind.code, "msg": msg or message_for(kind), "data": data}


def error_json_response(name: str, data: Any = None) -> JsonResponse:
    """An error envelope for code that runs outside DRF (middleware, URL fallbacks)."""
    kind = CATALOGUE[name]
    return JsonResponse(
        envelope(kind, data), status=kind.status, json_dumps_params={"ensure_ascii": False}
    )


# A view's methods that need no accepted privacy policy (accounts.permissions): reading public
# pages, and what a person may always do with their own data (read it, delete it, consent).
# ``privacy_consent_exempt = ("GET",)`` on the view; HEAD follows GET, OPTIONS is always free.
CONSENT_EXEMPT_ATTRIBUTE = "privacy_consent_exempt"


def consent_exempt(view, method: str) -> bool:
    exempt = getattr(view, CONSENT_EXEMPT_ATTRIBUTE, ())
    if method == "HEAD":
        method = "GET"
    return method == "OPTIONS" or method in exempt


def validated(serializer_class, data, **kwargs) -> dict:
    """Run an input serializer; a refusal becomes the 400 envelope with field errors."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class EnvelopeJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is None or not getattr(response, "is_envelope", False):
            data = envelope(data=data)
        return super().render(data, accepted_media_type, renderer_context)


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answered at once when the client accepts anything or exactly the first
    renderer's type (what clients send): the answer DRF's full parse of the header would give.

    Measured only together with the verified-token memo (bench/inprocess, authenticated / bare
    0.40-0.49 -> 0.63-0.70: docs/benchmarks.md, "Issue 10, speed").
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and format_suffix is None:
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT", "*/*")
            if (accept == "*/*" or accept == first.media_type) and not self._format_asked(request):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)

    def _format_asked(self, request) -> bool:
        """``?format=`` present. Read off the raw query string when it cannot be there (no
        such word, nothing percent-encoded): parsing a long query (a square cursor) into a
        QueryDict cost a tenth of the request."""
        override = self.settings.URL_FORMAT_OVERRIDE
        raw = request.META.get("QUERY_STRING", "")
        if not override or (override not in raw and "%" not in raw):
            return False
        return override in request.query_params


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


# Our deepest body (an event with its prizes) is three levels deep; anything far deeper is an
# attack on whatever walks the tree next (serializers, error rendering), not a request.
MAX_JSON_DEPTH = 32
# Every number the API takes fits a signed 64-bit integer or a finite double; a larger one can
# only fail later, further from the input (an overflowing column, an unserialisable inf).
_INT64 = 2**63


class BoundedJSONParser(JSONParser):
    """JSON only, and never more than API_MAX_BODY_BYTES read into memory.

    Hostile bodies that fit in the limit are still a 400, never a 500: nesting deep enough to
    exhaust the parser's recursion (``'[' * 5000``), deeper than MAX_JSON_DEPTH, integers past
    64 bits or past Python's digit limit, floats that overflow to infinity, NaN.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        try:
            return strict_json_loads(raw)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error: {exc}") from exc


def strict_json_loads(raw: bytes | str) -> Any:
    """JSON as the API accepts it, or ValueError: nesting past MAX_JSON_DEPTH (or past the
    parser's recursion), integers past 64 bits or Python's digit limit, infinite floats, NaN."""
    try:
        data = json.loads(
            raw.decode("utf-8") if isinstance(raw, bytes) else raw,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_int64,
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if _too_deep(data):
        raise ValueError("nested too deeply")
    return data


class UploadMultiPartParser(MultiPartParser):
    """multipart/form-data, for POST /api/v1/uploads only (``wx.uploadFile``).

    The body's size was checked against UPLOAD_MAX_BYTES by ``ApiGuardMiddleware``. A body
    that is not valid multipart is an ``invalid_input``, not DRF's generic parse error (which
    the catalogue calls malformed JSON).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except exceptions.ParseError:
            message = _("The multipart body could not be parsed.")
            raise exceptions.ValidationError({"file": [message]}) from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def _int64(text: str) -> int:
    value = int(text)  # past sys.get_int_max_str_digits() this is a ValueError too
    if not -_INT64 <= value < _INT64:
        raise ValueError("number out of range")
    return value


def _too_deep(data: Any) -> bool:
    """Iteratively, so that measuring the depth cannot itself recurse too deep."""
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


_DRF_ERRORS: list[tuple[type[Exception], str]] = [
    (PayloadTooLarge, "payload_too_large"),
    (exceptions.ParseError, "malformed_json"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "token_invalid"),
    (InvalidToken, "token_invalid"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ValidationError, "invalid_input"),
    (Http404, "not_found"),
    (DjangoPermissionDenied, "permission_denied"),
]


def _classify(exc: Exception) -> tuple[str, Any]:
    if isinstance(exc, ApplicationError):
        return exc.name, exc.data
    if isinstance(exc, DatabaseOperationalError):  # connection lost, deadlock: worth a retry
        return "service_unavailable", None
    if isinstance(exc, exceptions.AuthenticationFailed) and _has_code(exc, "user_inactive"):
        return "user_inactive", None
    if isinstance(exc, get_user_model().DoesNotExist):
        # Authentication trusts the token for who the caller is (no query); a user deleted
        # from a shell since then is gone like a deactivated one, not a server error.
        return "user_inactive", None
    for exc_type, name in _DRF_ERRORS:
        if isinstance(exc, exc_type):
            if isinstance(exc, exceptions.ValidationError):
                return name, exc.detail
            if isinstance(exc, exceptions.Throttled):
                return name, {"retry_after": exc.wait}
            return name, None
    return "internal_error", None


def _has_code(exc: exceptions.APIException, code: str) -> bool:
    codes = exc.get_codes()
    return codes == code or (isinstance(codes, dict) and codes.get("code") == code)


def first_message(detail: Any) -> str | None:
    """The first message in a (nested) field-error map, for ``msg``: a toast shows only that.

    ``{"prizes": {"1": {"quantity": ["..."]}}}`` gives the quantity message. Fields come in the
    input serializer's order, so it is the first field the client got wrong.
    """
    if isinstance(detail, dict):
        detail = list(detail.values())
    if isinstance(detail, list):
        for item in detail:
            found = first_message(item)
            if found:
                return found
        return None
    return str(detail) if isinstance(detail, str) and detail else None


def exception_handler(exc: Exception, context: dict) -> Response:
    name, data = _classify(exc)
    kind = CATALOGUE[name]
    if name == "internal_error" or isinstance(exc, DatabaseOperationalError):
        request = context.get("request")
        logger.exception(
            "unhandled error in %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
        )
    # Imported here: rest_framework.views reads the renderer setting, which names this module.
    from rest_framework.views import set_rollback

    set_rollback()
    msg = first_message(data) if name == "invalid_input" else None
    response = Response(envelope(kind, data, msg=msg), status=kind.status)
    response.is_envelope = True
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
    elif name in ("not_authenticated", "token_invalid", "user_inactive"):
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    elif kind.status == 429 and isinstance(data, dict) and "retry_after" in data:
        response["Retry-After"] = str(int(data["retry_after"]))
    return response
