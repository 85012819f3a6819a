"""A fake drand relay on loopback, serving rounds signed with a test key made with py_ecc.

Speaks the relay API the draw uses: ``GET /{chain_hash}/info`` and
``GET /{chain_hash}/public/{round}`` (404 while a round is not "out"). A test publishes rounds
with ``relay.state.publish(round)``, or makes a relay lie with ``relay.state.override``.
Signing is slow in pure Python (about a second per round), so signatures are cached per key.
"""

import functools
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from py_ecc.bls import G2Basic

CHAIN_HASH = "c0ffee" + "00" * 29
TEST_SECRET_KEY = 0x1D2E3F40
OTHER_SECRET_KEY = 0x51525354
# Chained rounds sign SHA-256(previous_signature || round); any bytes do as the previous one.
PREVIOUS_SIGNATURE = bytes(range(96)).hex()


@functools.cache
def public_key(secret_key: int = TEST_SECRET_KEY) -> str:
    return G2Basic.SkToPk(secret_key).hex()


@functools.cache
def signed_round(round_number: int, secret_key: int = TEST_SECRET_KEY) -> dict:
    """Round ``round_number`` of a pedersen-bls-chained chain, as a relay serves it."""
    message = hashlib.sha256(
        bytes.fromhex(PREVIOUS_SIGNATURE) + round_number.to_bytes(8, "big")
    ).digest()
    signature = G2Basic.Sign(secret_key, message)
    return {
        "round": round_number,
        "randomness": hashlib.sha256(signature).hexdigest(),
        "signature": signature.hex(),
        "previous_signature": PREVIOUS_SIGNATURE,
    }


@dataclass
class FakeDrandState:
    period: int
    genesis_time: int
    rounds: dict[int, dict] = field(default_factory=dict)
    # round -> body served instead of the real one (a lying or broken relay)
    override: dict[int, dict] = field(default_factory=dict)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def publish(self, round_number: int, secret_key: int = TEST_SECRET_KEY) -> dict:
        body = signed_round(round_number, secret_key)
        self.rounds[round_number] = body
        return body

    def info(self) -> dict:
        return {
            "public_key": public_key(),
            "period": self.period,
            "genesis_time": self.genesis_time,
            "hash": CHAIN_HASH,
            "schemeID": "pedersen-bls-chained",
        }

    def round(self, round_number: int) -> dict | None:
        with self._lock:
            self.requests += 1
        return self.override.get(round_number) or self.rounds.get(round_number)


class FakeDrandRelay:
    def __init__(self, *, period: int, genesis_time: int) -> None:
        self.state = FakeDrandState(period=period, genesis_time=genesis_time)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = self.path.strip("/").split("/")
                body = None
                if parts[:1] == [CHAIN_HASH] and parts[1:] == ["info"]:
                    body = state.info()
                elif parts[:1] == [CHAIN_HASH] and parts[1:2] == ["public"] and len(parts) == 3:
                    body = state.round(int(parts[2])) if parts[2].isdigit() else None
                payload = json.dumps(body or {"error": "not found"}).encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeDrandRelay":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
