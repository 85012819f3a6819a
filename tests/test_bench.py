"""The benchmarks' own logic: the floor, the middleware switch, and how figures are judged.

The benchmarks themselves run for minutes against gunicorn and are run by hand
(docs/benchmarks.md); these check what decides their verdicts, on made-up figures.
"""

import pytest

from bench import compare, hot_event, plain_wsgi
from bench.settings import REMOVABLE_MIDDLEWARE, without_middleware
from lottery_site.settings import MIDDLEWARE


def test_plain_floor_answers_what_healthz_answers(client):
    seen = {}
    body = b"".join(plain_wsgi.application({}, lambda status, headers: seen.update(s=status)))
    assert seen["s"] == "200 OK"
    assert body == client.get("/healthz").content


def test_bench_settings_take_out_only_the_named_middleware():
    kept = without_middleware(MIDDLEWARE, "metrics,request_id")
    assert REMOVABLE_MIDDLEWARE["metrics"] not in kept
    assert REMOVABLE_MIDDLEWARE["request_id"] not in kept
    assert len(kept) == len(MIDDLEWARE) - 2
    assert without_middleware(MIDDLEWARE, "") == MIDDLEWARE


def test_bench_settings_refuse_a_middleware_that_is_not_there():
    with pytest.raises(ValueError, match="not in MIDDLEWARE"):
        without_middleware(MIDDLEWARE, "metrics,no_such_thing")


def rows(target: str, endpoint: str, rps: list[float], floor: float = 1000.0) -> list[dict]:
    return [
        {"round": n, "endpoint": endpoint, "target": target, "rps": v, "floor_rps": floor}
        | {"errors": 0}
        for n, v in enumerate(rps, start=1)
    ]


def test_a_gain_counts_only_beyond_the_round_to_round_spread():
    assert compare.verdict([0.5, 0.55, 0.52], [0.4, 0.45, 0.42]).startswith("**faster**")
    assert compare.verdict([0.3, 0.35, 0.32], [0.4, 0.45, 0.42]).startswith("**slower**")
    assert compare.verdict([0.44, 0.6, 0.5], [0.4, 0.45, 0.42]) == "within the spread"
    assert compare.verdict([0.5, 0.55], [0.4, 0.45]).startswith("n/a")


def test_report_gives_requests_per_second_ratios_to_the_floor_and_before_after():
    meta = {
        "before": "1032951" + "0" * 33,
        "after": "abc",
        "requirements": "same requirements.txt",
        "seconds": 10,
        "connections": 32,
        "variants": ["after", "no-metrics"],
        "endpoints": ["join", "square", "healthz"],
    }
    measured = (
        rows("floor", "join", [1000, 1000])
        + rows("before", "join", [300, 310])
        + rows("after", "join", [330, 340])
        + rows("no-metrics", "join", [335, 345])
        + rows("after", "square", [500, 510])  # the code before had no square
        + rows("before", "healthz", [400, 410])
        + rows("after", "healthz", [380, 390])
    )
    text = compare.report(meta, measured)
    assert "| join | after | 330, 340 | 335 | 330–340 | 0.335 | 0.330–0.340 | 0 |" in text
    assert "| join | 305 | 335 | +9.8 % |" in text
    assert "| square | n/a (not in the code before) |" in text
    assert "| join | no-metrics: the metrics middleware" in text


def test_servers_take_turns_being_measured_first():
    assert compare.rotated(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert compare.rotated(["a", "b", "c"], 4) == ["b", "c", "a"]


def test_hold_time_of_one_row_is_the_time_between_grants_to_joins_already_waiting():
    # (asked, locked, committed): each join asks at once, gets the row 1 ms after the one
    # before, and hears of its commit 3 ms later (the flush, after the lock was released).
    samples = [(0.0, n * 0.001, n * 0.001 + 0.003) for n in range(10)]
    held = hot_event.hold_times(samples, hot=True)
    assert held["handover_median_ms"] == pytest.approx(1.0)
    assert held["handover_mean_ms"] == pytest.approx(1.0)
    assert held["lock_to_commit_median_ms"] == pytest.approx(3.0)
    # A join that asked after the one before already had the row tells nothing of its hold.
    idle = [(n * 0.01, n * 0.01, n * 0.01 + 0.003) for n in range(10)]
    assert "handover_median_ms" not in hot_event.hold_times(idle, hot=True)
    assert "handover_median_ms" not in hot_event.hold_times(samples, hot=False)
