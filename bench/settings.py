"""The service's settings, with the switches benchmarks need and nothing else changed.

- ``bench/urls.py`` in front of every route of the service: reference endpoints that only
  benchmarks serve. ``BENCH_REFERENCE_URLS=0`` keeps the service's own URLconf, so a server run
  under these settings differs from production only by the switches below (bench/compare).
- ``BENCH_WITHOUT_MIDDLEWARE``: comma-separated names from ``REMOVABLE_MIDDLEWARE`` (or dotted
  paths) taken out of MIDDLEWARE, to measure what each per-request middleware costs in the
  same rounds as the full chain (bench/compare, docs/benchmarks.md).
"""

import os

from lottery_site.settings import *  # noqa: F403
from lottery_site.settings import MIDDLEWARE as SERVICE_MIDDLEWARE

# The per-request middleware of our own whose cost bench/compare measures (issue 22).
REMOVABLE_MIDDLEWARE = {
    # The HTTP request counts and durations of /metrics.
    "metrics": "lottery_site.metrics.HttpMetricsMiddleware",
    # The request id (X-Request-ID), the log context and the access line (lottery.access).
    "request_id": "lottery_site.middleware.RequestIdMiddleware",
    # /metrics answered before the Host check.
    "metrics_host": "lottery_site.middleware.MetricsBeforeHostCheckMiddleware",
}


def without_middleware(middleware: list[str], names: str) -> list[str]:
    """``middleware`` without those named (short names of REMOVABLE_MIDDLEWARE or dotted)."""
    removed = {REMOVABLE_MIDDLEWARE.get(name, name) for name in filter(None, names.split(","))}
    unknown = removed - set(middleware)
    if unknown:
        raise ValueError(f"BENCH_WITHOUT_MIDDLEWARE: not in MIDDLEWARE: {sorted(unknown)}")
    return [path for path in middleware if path not in removed]


if os.environ.get("BENCH_REFERENCE_URLS", "1") != "0":
    ROOT_URLCONF = "bench.urls"
MIDDLEWARE = without_middleware(
    SERVICE_MIDDLEWARE, os.environ.get("BENCH_WITHOUT_MIDDLEWARE", "").replace(" ", "")
)
