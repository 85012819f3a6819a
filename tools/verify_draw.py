"""Check a published lottery draw independently: python tools/verify_draw.py --help.

Standard library only, so an entrant can run it without installing Django or anything else.
It imports draws/fairness.py from this repository rather than carrying a copy, so the
verifier and the server cannot drift apart. See docs/fairness.md.

Exit status: 0 the draw is confirmed, 1 it is not (each problem is printed), 2 the input
could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from draws.fairness import ALGORITHM, DrawFormatError, parse_proof, verify  # noqa: E402

EXIT_CONFIRMED = 0
EXIT_NOT_CONFIRMED = 1
EXIT_UNREADABLE = 2


class InputError(Exception):
    """An input file is missing, is not JSON, or does not have the expected shape."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        proof = load_proof(args.proof)
        winners, unawarded = load_winners(args.winners)
        keys = load_entrants(args.entrants)
        problems = verify(proof=proof, entrant_keys=keys, winners=winners, unawarded=unawarded)
    except (InputError, DrawFormatError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if problems:
        print(f"NOT CONFIRMED: draw {proof.get('event_id', '?')} has {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return EXIT_NOT_CONFIRMED
    print(_summary(proof=proof, winner_count=len(winners), unawarded=unawarded))
    return EXIT_CONFIRMED


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Recompute a lottery draw ({ALGORITHM}) and compare it with the "
        "published winners."
    )
    parser.add_argument("--proof", type=Path, required=True, help="proof JSON of the event")
    parser.add_argument(
        "--entrants",
        type=Path,
        required=True,
        help="entrant list: one user id per line (or NDJSON lines with an 'id')",
    )
    parser.add_argument("--winners", type=Path, required=True, help="winners JSON of the event")
    return parser.parse_args(argv)


def load_proof(path: Path) -> dict[str, Any]:
    proof = _unwrap_envelope(_read_json(path))
    if not isinstance(proof, dict):
        raise InputError(f"{path}: expected a JSON object with the proof")
    parse_proof(proof)  # shape errors surface here, as unreadable input
    return proof


def load_winners(path: Path) -> tuple[list[Any], list[Any] | None]:
    """(winners, unawarded or None) from the envelope, its data object or a bare list."""
    data = _unwrap_envelope(_read_json(path))
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict) and isinstance(data.get("winners"), list):
        unawarded = data.get("unawarded")
        if unawarded is not None and not isinstance(unawarded, list):
            raise InputError(f"{path}: 'unawarded' must be a list")
        return data["winners"], unawarded
    raise InputError(f"{path}: expected a winners list or an object with 'winners'")


def load_entrants(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: {error}") from error
    # Blank lines carry no key; tolerating them (and CRLF) spares users a confusing failure
    # over a trailing newline added by an editor.
    lines = (line.strip() for line in text.splitlines())
    return [_entrant_key(line, path) for line in lines if line]


def _entrant_key(line: str, path: Path) -> str:
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: bad NDJSON line: {error}") from error
    key = record.get("id") if isinstance(record, dict) else None
    if not isinstance(key, str):
        raise InputError(f"{path}: NDJSON line without a string 'id': {line[:80]}")
    return key


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: {error}") from error


def _unwrap_envelope(document: Any) -> Any:
    """The API wraps payloads as {"code": 0, "msg": ..., "data": ...}; accept both forms."""
    if isinstance(document, dict) and "data" in document and "code" in document:
        if document["code"] != 0:
            raise InputError(f"the API returned an error: {document.get('msg')!r}")
        return document["data"]
    return document


def _summary(*, proof: dict[str, Any], winner_count: int, unawarded: list[Any] | None) -> str:
    text = (
        f"OK: draw {proof.get('event_id', '?')} confirmed ({ALGORITHM}): the seed matches the "
        f"commitment, the {proof['entrant_count']} entrants match digest "
        f"{proof['entrants_digest']}, and all {winner_count} published winners match"
    )
    if unawarded:
        units = sum(entry.get("quantity", 0) for entry in unawarded)
        text += f"; {units} prize unit(s) unawarded, as expected"
    return text + "."


if __name__ == "__main__":
    sys.exit(main())
