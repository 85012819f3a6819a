"""A fake drand relay on loopback, serving rounds signed with a test key made with py_ecc.

Speaks the relay API the draw uses: ``GET /{chain_hash}/info`` and
``GET /{chain_hash}/public/{round}`` (404 while a round is not "out"). A test publishes rounds
with ``relay.state.publish(round)``, makes a relay lie with ``relay.state.override`` (or
``relay.state.lie()``: every round it serves is signed with another key), or silent with
``relay.state.silent = True`` (it accepts the connection and never answers).
The chain's hash is drand's own (``beacon.drand.chain_hash``) of its info, so the server
pins it like any chain: tests configure it with ``settings.DRAND_CHAINS = [relay.state.info()]``
(``configure``). Signing is slow in pure Python (about a second per round), so signatures are
cached per key.
"""

import functools
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from py_ecc.bls import G2Basic

from beacon import drand

TEST_SECRET_KEY = 0x1D2E3F40
OTHER_SECRET_KEY = 0x51525354
# Chained rounds sign SHA-256(previous_signature || round); any bytes do as the previous one.
PREVIOUS_SIGNATURE = bytes(range(96)).hex()
GROUP_HASH = hashlib.sha256(b"lottery test drand group").hexdigest()
BEACON_ID = "lottery-test"


@functools.cache
def public_key(secret_key: int = TEST_SECRET_KEY) -> str:
    return G2Basic.SkToPk(secret_key).hex()


def chain(*, period: int, genesis_time: int) -> drand.Chain:
    """The test chain (pedersen-bls-chained, the test key) with its real drand hash."""
    unhashed = drand.Chain(
        hash="",
        scheme=drand.CHAINED,
        public_key=public_key(),
        period=period,
        genesis_time=genesis_time,
        group_hash=GROUP_HASH,
        beacon_id=BEACON_ID,
        name=BEACON_ID,
    )
    return drand.Chain(**{**unhashed.as_json(), "hash": drand.chain_hash(unhashed)})


def info(test_chain: drand.Chain) -> dict:
    """The chain as a relay's /info answers it (and as DRAND_CHAINS takes it)."""
    return {
        "public_key": test_chain.public_key,
        "period": test_chain.period,
        "genesis_time": test_chain.genesis_time,
        "hash": test_chain.hash,
        "groupHash": test_chain.group_hash,
        "schemeID": test_chain.scheme,
        "metadata": {"beaconID": test_chain.beacon_id},
    }


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
    liar: bool = False  # serve every published round signed with another key
    silent: bool = False  # accept requests and never answer them
    requests: int = 0
    released: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def chain(self) -> drand.Chain:
        return chain(period=self.period, genesis_time=self.genesis_time)

    @property
    def chain_hash(self) -> str:
        return self.chain.hash

    def publish(self, round_number: int, secret_key: int = TEST_SECRET_KEY) -> dict:
        body = signed_round(round_number, secret_key)
        self.rounds[round_number] = body
        return body

    def lie(self) -> None:
        self.liar = True

    def info(self) -> dict:
        return info(self.chain)

    def round(self, round_number: int) -> dict | None:
        with self._lock:
            self.requests += 1
        if self.liar and round_number in self.rounds:
            return signed_round(round_number, OTHER_SECRET_KEY)
        return self.override.get(round_number) or self.rounds.get(round_number)


class FakeDrandRelay:
    def __init__(self, *, period: int, genesis_time: int) -> None:
        self.state = FakeDrandState(period=period, genesis_time=genesis_time)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if state.silent:
                    state.released.wait(60)  # the client times out first
                    return
                parts = self.path.strip("/").split("/")
                body = None
                if parts[:1] == [state.chain_hash] and parts[1:] == ["info"]:
                    body = state.info()
                elif parts[:1] == [state.chain_hash] and parts[1:2] == ["public"]:
                    number = parts[2] if len(parts) == 3 else ""
                    body = state.round(int(number)) if number.isdigit() else None
                payload = json.dumps(body or {"error": "not found"}).encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeDrandRelay":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.state.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def configure(settings, relays: list[FakeDrandRelay], *, timeout: float = 2) -> drand.Chain:
    """Point the beacon settings at ``relays`` (all serving one test chain); the chain."""
    state = relays[0].state
    settings.DRAND_URLS = [relay.url for relay in relays]
    settings.DRAND_CHAINS = [state.info()]
    settings.DRAND_CHAIN_HASH = state.chain_hash
    settings.DRAND_PUBLIC_KEY = ""
    settings.DRAND_SCHEME = ""
    settings.DRAND_PERIOD_SECONDS = None
    settings.DRAND_GENESIS_TIME = None
    settings.DRAND_TIMEOUT_SECONDS = timeout
    return state.chain
