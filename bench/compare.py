#!/usr/bin/env python
"""bench/compare: this checkout against the code before, against a floor outside our code.

    .venv/bin/python bench/compare.py [--before REF] [--rounds 5] [--seconds 10]
        [--variants after,no-metrics,no-request-id,log-info]
        [--endpoints join,detail,square,healthz] [--max-minutes 55]

The issue 22 way of claiming a speed: new code and previous code in the same hour, alternating,
in absolute requests per second and as ratios to a reference outside our code. Servers, all
started at once and measured one after the other (each idle while another is measured), each
``bin/serve-web`` of its checkout at the README's recommended workers (2 × cores + 1, sync),
wrk on loopback:

- ``floor``: a plain WSGI application (bench/plain_wsgi.py) under this checkout's
  bin/serve-web: the same gunicorn, settings, workers and threads, no Django.
- ``before``: the code of ``--before`` (default: the main just before issue 22's work, the first
  parent of the merge of h-readmodel; ``--before 02ed12a`` is the one the issue names), from
  ``git archive`` into a temporary directory, run with this virtualenv, on its own database
  (BENCH_BEFORE_DATABASE_URL, default lottery_bench_before) and Redis (BENCH_BEFORE_REDIS_URL,
  default db 13, as bench/inprocess: never run at once).
- this checkout, on BENCH_DATABASE_URL / BENCH_REDIS_URL (bench/common.py), once per variant:
  ``after`` as shipped; ``no-metrics``, ``no-request-id`` (the middleware taken out through
  bench/settings.py: BENCH_WITHOUT_MIDDLEWARE), ``log-info`` (LOG_LEVEL=INFO, production's
  default: every request's access line written; the benchmarks otherwise run at WARNING, where
  the line is skipped after a level check).

Both databases get the same data, made by each checkout's own code (bench/seed.py): users with
their tokens, a fresh open event per join measurement, an open event with entrants for the
detail, public events for the square.

Each round measures, endpoint by endpoint: the floor, then that endpoint on every server (the
servers' order rotated each round): ``join`` (POST .../entry, every request another user's
token, a fresh event per measurement, read for 1 s first as in life), ``detail`` (GET the open
event, authenticated, a different user each request), ``square`` (the first page of ``hot``, as
a visitor; skipped on code without the square), ``healthz``. Each endpoint's req/s is divided by
the floor measured just before it. Rounds stop at ``--rounds`` or when the next one would end
past ``--max-minutes``. Results: bench/results/compare.json (every measurement, written as it
goes) and compare.md (the tables, ready for docs/benchmarks.md).
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BENCH_ENV,
    REPO,
    RESULTS,
    Server,
    floor_server,
    median,
    spread,
    wrk,
)

# The main just before issue 22's work, if the merge of h-readmodel cannot be found.
BEFORE_FALLBACK = "1032951"
BEFORE_ENV = {
    "DATABASE_URL": os.environ.get(
        "BENCH_BEFORE_DATABASE_URL", "mysql://root@127.0.0.1:3306/lottery_bench_before"
    ),
    "REDIS_URL": os.environ.get("BENCH_BEFORE_REDIS_URL", "redis://127.0.0.1:6379/13"),
}
# Every server alike: the square's per-address limit would refuse one benchmarking address in
# a second; it still counts every request, at a rate that never refuses.
SHARED_ENV = {"THROTTLE_PUBLIC_RATE": "100000000/min"}
# This checkout's servers: what each changes from production's settings (bench/settings.py).
VARIANTS = {
    "after": {},
    "no-metrics": {"BENCH_WITHOUT_MIDDLEWARE": "metrics"},
    "no-request-id": {"BENCH_WITHOUT_MIDDLEWARE": "request_id"},
    "log-info": {"LOG_LEVEL": "INFO"},
    "log-info-json": {"LOG_LEVEL": "INFO", "LOG_FORMAT": "json"},
    "no-middleware": {"BENCH_WITHOUT_MIDDLEWARE": "metrics,request_id"},
}
DEFAULT_VARIANTS = "after,no-metrics,no-request-id,log-info"
ENDPOINTS = ("join", "detail", "square", "healthz")
# Below this many rounds a range is no spread: no verdict.
MIN_ROUNDS = 3
# What each variant's figure answers, for the report.
QUESTIONS = {
    "no-metrics": "the metrics middleware (its cost is after / no-metrics)",
    "no-request-id": "request ids, log context and the access line's level check",
    "log-info": "writing every access line (production's LOG_LEVEL=INFO)",
    "log-info-json": "writing every access line as JSON",
    "no-middleware": "metrics and request-id middleware together",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="git ref of the code before (default: see above)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS)
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--max-minutes", type=float, default=55)
    parser.add_argument("--users", type=int, default=60000)
    parser.add_argument("--square-events", type=int, default=300)
    parser.add_argument("--port", type=int, default=8770, help="the floor's; the others follow")
    parser.add_argument("--workers", type=int, default=None, help="default: bin/serve-web's")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    endpoints = [e for e in args.endpoints.split(",") if e]
    unknown = (set(variants) - set(VARIANTS)) | (set(endpoints) - set(ENDPOINTS))
    if unknown or "after" not in variants:
        parser.error(f"unknown {sorted(unknown)}, or no 'after' among the variants")

    started = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)
    before_sha = resolve_before(args.before)
    before_tree = materialize(before_sha)
    print(f"before: {before_sha[:12]} in {before_tree}; after: {REPO} ({head()})", flush=True)
    note = requirements_note(before_sha)
    if note:
        print(note, flush=True)
    side_env = {
        "before": {**BENCH_ENV, **BEFORE_ENV, **SHARED_ENV},
        "after": {**BENCH_ENV, **SHARED_ENV},
    }
    per_side = {"before": 1, "after": len(variants)}
    seeds = {
        side: seed(
            tree=tree,
            side=side,
            env=side_env[side],
            join_events=per_side[side] * args.rounds + 2,
            users=args.users,
            square_events=args.square_events,
        )
        for side, tree in (("before", before_tree), ("after", REPO))
    }
    meta = {
        "before": before_sha,
        "after": head(),
        "requirements": note or "same requirements.txt",
        "seconds": args.seconds,
        "connections": args.connections,
        "variants": variants,
        "endpoints": endpoints,
    }
    rows: list[dict] = []
    with contextlib.ExitStack() as stack:
        common = {"workers": args.workers}
        floor = stack.enter_context(floor_server(args.port, env=SHARED_ENV, **common))
        targets = {
            "before": (
                "before",
                stack.enter_context(
                    Server(
                        port=args.port + 1,
                        repo=before_tree,
                        env=side_env["before"],
                        log="server-before.log",
                        **common,
                    )
                ),
            )
        }
        for n, variant in enumerate(variants):
            env = {**side_env["after"], "BENCH_REFERENCE_URLS": "0", **VARIANTS[variant]}
            server = Server(
                port=args.port + 2 + n,
                settings="bench.settings",
                env=env,
                log=f"server-{variant}.log",
                **common,
            )
            targets[variant] = ("after", stack.enter_context(server))
        warm_up(floor, targets, seeds)
        joins = {side: iter(seeds[side]["join_events"]) for side in seeds}
        round_seconds = 0.0
        for round_number in range(1, args.rounds + 1):
            elapsed = time.monotonic() - started
            if round_number > 1 and elapsed + round_seconds > args.max_minutes * 60:
                print(f"stopping before round {round_number}: --max-minutes", flush=True)
                break
            round_started = time.monotonic()
            order = rotated(list(targets), round_number - 1)
            for endpoint in endpoints:
                base = wrk(f"{floor.url}/", seconds=args.seconds, connections=args.connections)
                rows.append(row(round_number, endpoint, "floor", base, base.rps))
                print(f"round {round_number} {endpoint:<8} {'floor':<14} {base}", flush=True)
                for name in order:
                    side, server = targets[name]
                    if endpoint == "square" and not seeds[side]["square"]:
                        continue
                    result = measure(endpoint, server, seeds[side], joins[side], args)
                    rows.append(row(round_number, endpoint, name, result, base.rps))
                    print(f"round {round_number} {endpoint:<8} {name:<14} {result}", flush=True)
                save(meta, rows)
            round_seconds = time.monotonic() - round_started
    for side, tree in (("before", before_tree), ("after", REPO)):
        verify(tree, side_env[side])
    meta["minutes"] = round((time.monotonic() - started) / 60, 1)
    save(meta, rows)
    text = report(meta, rows)
    (RESULTS / "compare.md").write_text(text)
    print(text)


def resolve_before(ref: str | None) -> str:
    """``ref``, else the first parent of the first merge of h-readmodel into this history."""
    if ref:
        return git("rev-parse", "--verify", f"{ref}^{{commit}}")
    merges = git(
        "rev-list", "--first-parent", "--merges", "--grep=^Merge h-readmodel", "HEAD"
    ).split()
    if merges:
        return git("rev-parse", f"{merges[-1]}^1")
    return git("rev-parse", "--verify", f"{BEFORE_FALLBACK}^{{commit}}")


def git(*command: str) -> str:
    return subprocess.run(
        ["git", *command], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def head() -> str:
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short=12", "HEAD") + (" (with uncommitted changes)" if dirty else "")


def materialize(sha: str) -> Path:
    """The tree of ``sha`` in a temporary directory (kept for the next run), with this
    virtualenv as its .venv (bin/serve-web finds gunicorn there). No git worktree: nothing is
    written to the repository."""
    tree = Path(tempfile.gettempdir()) / f"lottery-bench-{sha[:12]}"
    done = tree / ".bench-complete"
    if not done.exists():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", sha], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        done.touch()
    venv = tree / ".venv"  # this run's virtualenv, whichever checkout ran before
    if venv.is_symlink() and venv.readlink() != Path(sys.prefix):
        venv.unlink()
    if not venv.is_symlink():
        venv.symlink_to(Path(sys.prefix))
    return tree


def requirements_note(sha: str) -> str:
    changed = git("diff", "--name-only", sha, "--", "requirements.txt")
    if not changed:
        return ""
    return (
        f"requirements.txt differs between {sha[:12]} and this checkout: both run in this "
        "virtualenv (the newer pins)"
    )


def seed(
    *, tree: Path, side: str, env: dict, join_events: int, users: int, square_events: int
) -> dict:
    out = RESULTS / f"seed-{side}.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "seed.py"),
            "--tree",
            str(tree),
            "--out",
            str(out),
            "--users",
            str(users),
            "--join-events",
            str(join_events),
            "--square-events",
            str(square_events),
        ],
        env={**os.environ, **env},
        check=True,
    )
    return json.loads(out.read_text())


def verify(tree: Path, env: dict) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "seed.py"), "--tree", str(tree), "--verify"],
        env={**os.environ, **env},
        check=True,
    )


def warm_up(floor: Server, targets: dict, seeds: dict) -> None:
    """Every worker past its imports, connections and memos before the first round."""
    wrk(f"{floor.url}/", seconds=3)
    for side, server in targets.values():
        wrk(f"{server.url}/healthz", seconds=3)
        detail = f"/api/v1/events/{seeds[side]['detail_event']}"
        wrk(server.url, path=detail, tokens=seeds[side]["tokens"], seconds=2)
        if seeds[side]["square"]:
            wrk(server.url, path="/api/v1/square?sort=hot", seconds=2)


def measure(endpoint: str, server: Server, seeded: dict, joins, args):
    common = {"seconds": args.seconds, "connections": args.connections}
    tokens = seeded["tokens"]
    if endpoint == "join":
        event = f"/api/v1/events/{next(joins)}"
        # Read before the crowd joins, as in life (code before the Redis mirror's removal, run as
        # ``before``, then has its mirror of the event).
        wrk(server.url, path=event, tokens=tokens, seconds=1, connections=4)
        return wrk(server.url, method="POST", path=f"{event}/entry", tokens=tokens, **common)
    if endpoint == "detail":
        path = f"/api/v1/events/{seeded['detail_event']}"
        return wrk(server.url, path=path, tokens=tokens, **common)
    if endpoint == "square":
        return wrk(server.url, path="/api/v1/square?sort=hot", **common)
    return wrk(server.url, path="/healthz", **common)


def rotated(items: list, by: int) -> list:
    by %= len(items)
    return items[by:] + items[:by]


def row(round_number: int, endpoint: str, target: str, result, floor_rps: float) -> dict:
    return {
        "round": round_number,
        "endpoint": endpoint,
        "target": target,
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "errors": result.errors,
        "floor_rps": floor_rps,
    }


def save(meta: dict, rows: list[dict]) -> None:
    (RESULTS / "compare.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


# --- the report -------------------------------------------------------------------------------


def series(rows: list[dict], endpoint: str, target: str) -> dict[int, dict]:
    """One endpoint on one server: its measurement of each round, by round."""
    return {r["round"]: r for r in rows if r["endpoint"] == endpoint and r["target"] == target}


def paired(a: dict[int, dict], b: dict[int, dict]) -> list[float]:
    """a / b in req/s, round by round (the rounds both have)."""
    return [a[n]["rps"] / b[n]["rps"] for n in sorted(a.keys() & b.keys()) if b[n]["rps"]]


def over_floor(points: dict[int, dict]) -> list[float]:
    return [p["rps"] / p["floor_rps"] for _, p in sorted(points.items())]


def verdict(new: list[float], old: list[float]) -> str:
    """Beyond the round-to-round spread only when the two ranges do not overlap (and there
    are rounds enough for a spread to mean something)."""
    if not new or not old:
        return "n/a"
    if min(len(new), len(old)) < MIN_ROUNDS:
        return f"n/a (fewer than {MIN_ROUNDS} rounds)"
    if min(new) > max(old):
        return "**faster**, beyond the spread"
    if max(new) < min(old):
        return "**slower**, beyond the spread"
    return "within the spread"


def change(new: float, old: float) -> str:
    return f"{(new / old - 1) * 100:+.1f} %" if old else "n/a"


def report(meta: dict, rows: list[dict]) -> str:
    endpoints = [e for e in meta["endpoints"] if any(r["endpoint"] == e for r in rows)]
    targets = ["before", *meta["variants"]]
    rounds = max((r["round"] for r in rows), default=0)
    lines = [
        f"bench/compare: before {meta['before'][:12]}, after {meta['after']}; {rounds} rounds "
        f"of {meta['seconds']} s per measurement, {meta['connections']} connections; "
        f"{meta.get('minutes', '?')} minutes. {meta['requirements']}.",
        "",
        "Each endpoint in requests/s per round, and over the floor (a plain WSGI app under the "
        "same gunicorn, measured just before it in the same round):",
        "",
        "| endpoint | server | req/s per round | median | spread | / floor, median | "
        "/ floor, spread | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    floors = [r["rps"] for r in rows if r["target"] == "floor"]
    if floors:
        lines.append(
            f"| floor | plain WSGI | {len(floors)} measurements | {median(floors):,.0f} | "
            f"{spread(floors)} | 1 | | {sum(r['errors'] for r in rows if r['target'] == 'floor')} |"
        )
    for endpoint in endpoints:
        for target in targets:
            points = series(rows, endpoint, target)
            if not points:
                continue
            rps = [p["rps"] for _, p in sorted(points.items())]
            ratios = over_floor(points)
            lines.append(
                f"| {endpoint} | {target} | {', '.join(f'{v:,.0f}' for v in rps)} | "
                f"{median(rps):,.0f} | {spread(rps)} | {median(ratios):.3f} | "
                f"{spread(ratios)} | {sum(p['errors'] for p in points.values())} |"
            )
    lines += [
        "",
        "Before → after (this checkout as shipped):",
        "",
        "| endpoint | before, req/s | after, req/s | change | after / before, per round | "
        "/ floor: before → after | verdict (ranges over the floor) |",
        "|---|---|---|---|---|---|---|",
    ]
    for endpoint in endpoints:
        before, after = series(rows, endpoint, "before"), series(rows, endpoint, "after")
        if not before or not after:
            lines.append(f"| {endpoint} | n/a (not in the code before) | | | | | |")
            continue
        lines.append(comparison_row([endpoint], after, before))
    variants = [v for v in meta["variants"] if v != "after"]
    if variants:
        lines += [
            "",
            "Each variant against `after`, same rounds (what the switch costs or buys):",
            "",
            "| endpoint | variant: what it leaves out or adds | after, req/s | variant, req/s | "
            "change | variant / after, per round | / floor: after → variant | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for endpoint in endpoints:
            after = series(rows, endpoint, "after")
            for variant in variants:
                points = series(rows, endpoint, variant)
                if points and after:
                    cells = [endpoint, f"{variant}: {QUESTIONS[variant]}"]
                    lines.append(comparison_row(cells, points, after))
    return "\n".join(lines) + "\n"


def comparison_row(cells: list[str], new: dict, old: dict) -> str:
    """``cells``, then old and new in req/s (medians), the change, the per-round pairs, the
    ratios to the floor and the verdict."""
    new_rps = [p["rps"] for p in new.values()]
    old_rps = [p["rps"] for p in old.values()]
    pairs = paired(new, old)
    return (
        "| "
        + " | ".join(
            [
                *cells,
                f"{median(old_rps):,.0f}",
                f"{median(new_rps):,.0f}",
                change(median(new_rps), median(old_rps)),
                f"{median(pairs):.3f} ({spread(pairs)})" if pairs else "n/a",
                f"{median(over_floor(old)):.3f} → {median(over_floor(new)):.3f}",
                verdict(over_floor(new), over_floor(old)),
            ]
        )
        + " |"
    )


if __name__ == "__main__":
    main()
