"""Every Prometheus metric of the service, and the plumbing that makes them add up.

gunicorn runs several web processes and Celery several workers, each counting on its own.
prometheus_client's multiprocess mode keeps every process's values in small files under
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them, so any web process answers for all the
processes of its machine that share the directory (web, workers, beat). The mode is chosen when
prometheus_client is first imported, so this module sets the directory first; nothing else in
the project imports prometheus_client directly.

The files of a process that exited are kept on purpose: its counts are part of the totals, and
dropping them would look like a counter reset. They are wiped only when no process uses the
directory (``claim_directory``), i.e. when the whole service starts again.

Apps record through the objects below (``JOINS_ACCEPTED.inc()``), in their services' return
paths; the names are listed in README.md ("Metrics") and alerted on in deploy/prometheus.
"""

import atexit
import bisect
import fcntl
import os
import threading
import time
from pathlib import Path

_BASE_DIR = Path(__file__).resolve().parent.parent
# The embedded default works with nothing configured: under var/, next to the SQLite file.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(os.environ.get("LOTTERY_VAR_DIR", _BASE_DIR / "var")) / "prometheus"),
)
MULTIPROC_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)

from prometheus_client import (  # noqa: E402 - must come after PROMETHEUS_MULTIPROC_DIR
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4  # noqa: E402

# The classic text format every Prometheus (2.x and 3.x) reads; our names need no escaping.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# 60 is a bucket boundary: the draw-lag alert counts the draws later than a minute exactly.
LAG_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600)
DRAW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
ENTRANT_BUCKETS = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)

# --- HTTP -----------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "lottery_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "lottery_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte of a streamed body), by route and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
UNMATCHED_ROUTE = "<unmatched>"  # no URL pattern (404s, static files served by WhiteNoise)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# --- Joins, locks, draws --------------------------------------------------------------------
JOINS = Counter(
    "lottery_joins",
    "Join attempts: result joined | already_joined | refused, with the error name if refused.",
    ["result", "reason"],
)
JOINS_ACCEPTED = JOINS.labels("joined", "")
JOINS_REPEATED = JOINS.labels("already_joined", "")

EVENTS_LOCKED = Counter(
    "lottery_events_locked",
    "Events locked, by trigger: schedule (lock time), creator (manual draw), target (count mode).",
    ["trigger"],
)
EVENTS_DRAWN = Counter("lottery_events_drawn", "Events drawn.")
DRAW_DURATION = Histogram(
    "lottery_draw_duration_seconds",
    "Time one draw took, from reading the event to the commit of its winners.",
    buckets=DRAW_BUCKETS,
)
DRAW_ENTRANTS = Histogram(
    "lottery_draw_entrants", "Entrants per drawn event.", buckets=ENTRANT_BUCKETS
)
SCHEDULE_LAG = Histogram(
    "lottery_schedule_lag_seconds",
    "How late a lock or draw happened after it was due (lock_at, or draw_at).",
    ["transition"],
    buckets=LAG_BUCKETS,
)
LOCK_LAG = SCHEDULE_LAG.labels("lock")
DRAW_LAG = SCHEDULE_LAG.labels("draw")

# "mostrecent": the sweeper's last look is the truth, whichever worker process took it.
OVERDUE_EVENTS = Gauge(
    "lottery_overdue_events",
    "Events the sweeper saw due for a lock or draw for more than a minute (should be 0).",
    ["transition"],
    multiprocess_mode="mostrecent",
)
SWEEP_LAST_RUN = Gauge(
    "lottery_sweep_last_run_timestamp_seconds",
    "Unix time of the draw sweeper's last run (beat every LOTTERY_SWEEP_INTERVAL_SECONDS).",
    multiprocess_mode="mostrecent",
)
# A draw, a cancel after the lock or a substitution never goes ahead without its named round
# (docs/fairness.md): it waits. Past DRAND_MAX_WAIT_SECONDS after the round's time it counts
# here, and the LotteryBeaconOverdue alert tells an operator the relays are not delivering.
BEACON_OVERDUE = Gauge(
    "lottery_beacon_overdue",
    "Draws, cancels and substitutions waiting for their drand round for longer than "
    "DRAND_MAX_WAIT_SECONDS after its time (should be 0).",
    ["waiting"],
    multiprocess_mode="mostrecent",
)
# An answer of a drand relay that was not the round (unreachable, HTTP error, malformed, or a
# signature that does not verify under the pinned key): logged, counted, never decisive.
BEACON_BAD_ANSWERS = Counter(
    "lottery_beacon_bad_answers",
    "Answers of drand relays refused, by reason (unreachable, http, malformed, invalid).",
    ["reason"],
)

# --- Notifications and WeChat ---------------------------------------------------------------
NOTIFICATION_DELIVERIES = Counter(
    "lottery_notification_deliveries",
    "Subscribe-message deliveries that left a send attempt, by the state they ended in.",
    ["state"],
)
WECHAT_REQUESTS = Counter(
    "lottery_wechat_requests",
    "Calls to WeChat's server API by endpoint and errcode (0: ok; timeout, unreachable, "
    "http_5xx, bad_response: no errcode).",
    ["endpoint", "errcode"],
)
WECHAT_DURATION = Histogram(
    "lottery_wechat_request_duration_seconds",
    "Time of one call to WeChat's server API, by endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)

# --- Celery ---------------------------------------------------------------------------------
CELERY_TASKS = Counter(
    "lottery_celery_tasks",
    "Celery task runs by task name and outcome: success | failure | retry.",
    ["task", "outcome"],
)


# --- Dependencies ---------------------------------------------------------------------------
# Redis down keeps /readyz at 200 (the API serves degraded), so the readiness probe cannot page
# for it: each scrape asks Redis itself (lottery_site/views.py) and says so here. Labelled by
# role so that the embedded default, which has no Redis, exports no sample at all (an unlabelled
# gauge would read 0, "down"). "mostrecent": the scrape's own check is the newest value.
REDIS_UP = Gauge(
    "lottery_redis_up",
    "1 if Redis answered the check made at this scrape, else 0, by role: cache | broker.",
    ["role"],
    multiprocess_mode="mostrecent",
)


# --- Live draws (live/) ---------------------------------------------------------------------
# "livesum": the sockets open now, over the websocket processes alive (an exited process's
# count drops out: mark_process_dead at its exit).
LIVE_SOCKETS = Gauge(
    "lottery_live_sockets",
    "Websockets connected to live events now, over every websocket process.",
    multiprocess_mode="livesum",
)
PUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LIVE_PUSH_LATENCY = Histogram(
    "lottery_live_push_seconds",
    "Time from a live message's writing to its frame handed to the last socket of a process.",
    buckets=PUSH_BUCKETS,
)
LIVE_MESSAGES = Counter(
    "lottery_live_messages",
    "Messages appended to live events' logs, by kind (joins, round_drawn, ...).",
    ["kind"],
)
LIVE_ROUNDS_DRAWN = Counter("lottery_live_rounds_drawn", "Live rounds drawn.")


# --- Recording helpers ----------------------------------------------------------------------


def observe_wechat_call(endpoint: str, errcode: object, started: float) -> None:
    """One WeChat call; ``started`` from time.perf_counter(). ``errcode`` 0 on success."""
    WECHAT_DURATION.labels(endpoint).observe(time.perf_counter() - started)
    WECHAT_REQUESTS.labels(endpoint, str(errcode)).inc()


def count_deliveries(counts: dict) -> None:
    for state, count in counts.items():
        if count:
            NOTIFICATION_DELIVERIES.labels(str(state)).inc(count)


class HttpMetricsMiddleware:
    """Counts and times every request by its route template (never the raw path).

    Outermost in MIDDLEWARE, so the time covers every other middleware. It must stay cheap:
    two clock reads, a bisect and a dict update under a lock per request (``_HttpTally``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        method = request.method if request.method in KNOWN_METHODS else "other"
        route = match.route if match is not None else UNMATCHED_ROUTE
        HTTP_TALLY.add((route, method, response.status_code), elapsed)
        return response


class _HttpTally:
    """This process's HTTP counts, written to the shared files once a second, not per request.

    Recording a request through prometheus_client costs three locked writes to the mmapped file
    plus the Histogram's own bookkeeping: ~10 % of the bare /healthz handler, measured in
    process. Summing into a dict here costs about a microsecond; a daemon thread started in
    each process (after
    gunicorn's fork) writes the sums every ``FLUSH_SECONDS``, a scrape writes its own process's
    first, and exit (gunicorn's worker_exit hook, atexit) writes the rest. A process killed
    outright loses at most its last second of HTTP counts.
    """

    FLUSH_SECONDS = 1.0

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[tuple, list[float]] = {}
        self._pid = 0

    def add(self, key: tuple, seconds: float) -> None:
        bucket = bisect.bisect_left(LATENCY_BUCKETS, seconds)  # le: the first bound >= seconds
        with self._lock:
            row = self._pending.get(key)
            if row is None:
                if self._pid != os.getpid():
                    self._start_flusher()
                row = self._pending[key] = [0.0] * (len(LATENCY_BUCKETS) + 3)
            row[0] += 1
            row[1] += seconds
            row[2 + bucket] += 1

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for (route, method, status), row in pending.items():
            HTTP_REQUESTS.labels(route, method, str(status)).inc(row[0])
            histogram = HTTP_DURATION.labels(route, method)
            # prometheus_client has no public "observe n times"; these are the values its
            # observe() writes (pinned version, covered by tests/test_metrics.py).
            histogram._sum.inc(row[1])
            for value, count in zip(histogram._buckets, row[2:], strict=True):
                if count:
                    value.inc(count)

    def _start_flusher(self) -> None:
        self._pid = os.getpid()
        threading.Thread(target=self._flush_forever, name="metrics-flush", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.FLUSH_SECONDS)
            self.flush()


HTTP_TALLY = _HttpTally()
atexit.register(HTTP_TALLY.flush)


# --- Exposition and the shared directory ----------------------------------------------------


def exposition() -> tuple[bytes, str]:
    """The sum over every process's files, in the Prometheus text format."""
    HTTP_TALLY.flush()  # this process's last second; the others' flushers run on their own
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE


_claimed: bool | None = None  # None: not yet; else whether this process wiped the files


def claim_directory() -> bool:
    """Take a shared lock on the directory for as long as this process (and what it forks)
    lives, wiping the other processes' files first if no living process holds it. Returns
    whether it wiped. Runs when this module is first imported; later calls answer the same.

    Wiping while another process of the machine uses the files would make its counters go
    backwards (Prometheus would read a reset); once none lives, the files are the previous
    run's, and the service starts counting from zero as one. gunicorn's master takes it before
    forking its workers (gunicorn.conf.py), a Celery worker's main process when it imports the
    tasks, before its pool forks; the forked children hold it through the inherited descriptor.
    """
    global _claimed
    if _claimed is not None:
        return _claimed
    fd = os.open(MULTIPROC_DIR / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        _claimed = False
    else:
        mine = f"_{os.getpid()}"  # this process's own files are already open (mmapped)
        for path in MULTIPROC_DIR.glob("*.db"):
            if not path.stem.endswith(mine):
                path.unlink(missing_ok=True)
        _claimed = True
    fcntl.flock(fd, fcntl.LOCK_SH)  # fd stays open (never closed) for the process's life
    return _claimed


def mark_process_dead(pid: int) -> None:
    """A web or worker process exited: drop its live gauges (its counters stay in the sums)."""
    multiprocess.mark_process_dead(pid, str(MULTIPROC_DIR))


claim_directory()
