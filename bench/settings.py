"""The service's settings plus bench/urls.py: reference endpoints that only benchmarks serve."""

from lottery_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
