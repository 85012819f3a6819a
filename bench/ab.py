#!/usr/bin/env python
"""bench/ab: two servers of this checkout that differ only by environment, joins alternating.

    .venv/bin/python bench/ab.py [--rounds 4] [--seconds 10] [--kinds plain,group]
        [--env-a NAME=VALUE ...] [--env-b NAME=VALUE ...]

For trying a change before it is kept: put it behind an environment variable for the length of
the measurement, give that variable to one server (``--env-b``), and compare. Each round joins a
fresh event of every kind (``plain``: no entry condition; ``password``, ``group``: as bench/join
sends them) on both servers, the servers' order alternating between rounds. Prints each
measurement and, per server, every kind's ratio to the plain join of the same round.
"""

import argparse
import contextlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, Server, setup_django, wrk  # noqa: E402
from bench.join import CONDITION_KINDS, make_condition_event, make_event, make_users  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--kinds", default="plain,group")
    parser.add_argument("--env-a", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--env-b", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if set(kinds) - {"plain", *CONDITION_KINDS}:
        parser.error(f"--kinds takes plain, {', '.join(CONDITION_KINDS)}")
    envs = {
        "A": dict(pair.split("=", 1) for pair in args.env_a),
        "B": dict(pair.split("=", 1) for pair in args.env_b),
    }

    setup_django()
    tokens = make_users(args.users)
    rps = {(server, kind): [] for server in envs for kind in kinds}
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                Server(port=8765 + n, settings="bench.settings", env=env, log=f"ab-{name}.log")
            )
            for n, (name, env) in enumerate(envs.items())
        }
        for server in servers.values():
            wrk(f"{server.url}/healthz", seconds=2)  # warm up every worker
        for round_number in range(args.rounds):
            order = list(servers.items())
            for name, server in order if round_number % 2 == 0 else reversed(order):
                for kind in kinds:
                    if kind == "plain":
                        event_id, body = make_event(), None
                    else:
                        event_id, body = make_condition_event(kind)
                    path = f"/api/v1/events/{event_id}/entry"
                    result = wrk(
                        f"{server.url}{path}",
                        method="POST",
                        path=path,
                        tokens=tokens,
                        seconds=args.seconds,
                        connections=32,
                        **({"body": body} if body else {}),
                    )
                    rps[name, kind].append(round(result.rps))
                    print(f"round {round_number + 1}  {name}  {kind:<8} {result}", flush=True)
    summary = {f"{name}_{kind}": values for (name, kind), values in rps.items()}
    for name in envs:
        for kind in kinds:
            if kind != "plain" and "plain" in kinds:
                summary[f"{name}_{kind}_over_plain"] = [
                    round(a / b, 3)
                    for a, b in zip(rps[name, kind], rps[name, "plain"], strict=True)
                ]
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ab.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
