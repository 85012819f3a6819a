"""Request ids, and the guards that keep /api/ answering in its envelope outside DRF views."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from django.urls import Resolver404, resolve
from django.utils.functional import empty

from lottery_site import request_id as log_context
from lottery_site import views
from lottery_site.api import error_json_response

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("lottery.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes X-Request-ID from the load balancer when it is sane, else makes one; echoes it.

    It also opens the request's log context (lottery_site/request_id.py) and writes the one
    access line per request (logger ``lottery.access``): route template, method, status,
    duration, and the caller's public id when the request authenticated. One logger call, no
    query: a session user nobody looked at stays unloaded.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Cleared when the response is closed (request_finished), not when this returns: the
        # handler logs 4xx/5xx responses ("Internal Server Error: ...", django.request) after
        # the middleware chain has returned, and those lines need the request id most.
        log_context.current.set(request_id)
        log_context.user_id.set(None)
        log_context.event_id.set(None)
        response = self.get_response(request)
        if access_logger.isEnabledFor(logging.INFO):
            _log_access(request, response, started)
        response["X-Request-ID"] = request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        event_id = view_kwargs.get("event_id")
        if event_id:
            log_context.event_id.set(event_id)


class MetricsBeforeHostCheckMiddleware:
    """Answers ``/metrics`` before Django validates the Host header.

    Prometheus scrapes each gunicorn on its private address (``Host: 10.0.0.5:8000``), which
    is no name of the site: through host validation every scrape was a 400 and an ERROR line
    (``DisallowedHost``) unless that address was added to DJANGO_ALLOWED_HOSTS. Skipping the
    check here is safe because nothing in this answer comes from the Host header (no URL is
    built, nothing is cached by host), and the view gives nothing without the token: 404 while
    METRICS_TOKEN is unset, 401 without the right bearer. Every other path is validated as
    before. It sits before every middleware that calls ``request.get_host()``.
    """

    PATH = "/metrics"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != self.PATH:
            return self.get_response(request)
        try:
            match = resolve(self.PATH)
        except Resolver404:  # a URLconf without it (tests swap theirs in): the usual path
            return self.get_response(request)
        if match.func is not views.metrics:  # only the view whose answer ignores the host
            return self.get_response(request)
        request.resolver_match = match  # the route label and the access line
        return views.metrics(request)


@receiver(request_finished, dispatch_uid="lottery_site.middleware.clear_log_context")
def _clear_log_context(**kwargs) -> None:
    log_context.current.set("-")
    log_context.user_id.set(None)
    log_context.event_id.set(None)


def _log_access(request, response, started: float) -> None:
    match = request.resolver_match
    route = match.route if match is not None else None
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    user_id = log_context.user_id.get() or _evaluated_user_id(request)
    if user_id is not None:
        log_context.user_id.set(user_id)  # the context filter puts it on the access line
    access_logger.info(
        "%s %s %s %.1fms",
        request.method,
        route or request.path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )


def _evaluated_user_id(request) -> str | None:
    """The public id of a user the request already loaded (admin session, DRF), else None."""
    user = request.__dict__.get("user")
    user = getattr(user, "_wrapped", user)  # a lazy session user nobody evaluated stays so
    if user is None or user is empty:
        return None
    return getattr(user, "public_id", None)


def _is_api(request) -> bool:
    return request.path.startswith("/api/") and not request.path.startswith(
        ("/api/docs", "/api/schema")
    )


# The one API path that takes a file: its own limit, with room for the multipart envelope.
UPLOAD_PATH = "/api/v1/uploads"
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _url_bytes(request) -> int:
    # gunicorn passes the request target as sent (RAW_URI); elsewhere (the test client,
    # runserver) Django rebuilds it, percent-encoded, which is as long.
    raw = request.META.get("RAW_URI")
    return len(raw) if raw else len(request.get_full_path())


def _body_limit(request) -> int:
    if request.path == UPLOAD_PATH:
        return settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD_BYTES
    return settings.API_MAX_BODY_BYTES


class ApiGuardMiddleware:
    """Refuses overlong API URLs and oversized bodies before any work, and renders crashes
    outside DRF as JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _is_api(request):
            if _url_bytes(request) > settings.API_MAX_URL_BYTES:
                return error_json_response("uri_too_long")
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
