"""Client of the drand public randomness beacon (League of Entropy): chains, round arithmetic,
fetch, verify.

A drand chain publishes a round every ``period`` seconds from ``genesis_time``; round r's
``randomness`` is SHA-256 of its BLS signature, which anyone checks against the chain's public
key. Nobody (us included) can know a round before its time, which is why a draw mixes in a round
named at the lock, whose time falls after it (docs/fairness.md).

**The chain is pinned.** The League of Entropy's mainnet (``default``) and quicknet chains are
built in, with their public keys; config may add others (``DRAND_CHAINS``, drand's ``/info``
JSON). Every chain's hash is recomputed as drand defines it (``chain_hash``) and must match:
a relay cannot talk us into another chain or key, and neither can a typo in the config.

Supported schemes, as drand names them:

- ``pedersen-bls-chained`` (mainnet): signature on G2 (96 bytes) of
  SHA-256(previous_signature || u64be(r)), public key on G1 (48 bytes);
- ``pedersen-bls-unchained``: the same curve groups, message SHA-256(u64be(r));
- ``bls-unchained-g1-rfc9380`` (quicknet): signature on G1 (48 bytes) of SHA-256(u64be(r)),
  public key on G2 (96 bytes).

**Any valid answer is the round.** Every configured relay is asked at once; the first answer
(in the configured order) whose BLS signature verifies under the pinned key for the named
round is the round, whatever the other relays say: a BLS signature is unique, so two valid
answers cannot differ, and a relay that lies or breaks cannot veto the round. Bad answers are
logged and counted (``lottery_beacon_bad_answers_total``), never decisive. Never call this
inside a database transaction. The BLS check is py_ecc (pure Python: a few seconds per round
on a loaded machine, paid once per round, never by a request).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import struct
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)

CHAINED = "pedersen-bls-chained"
UNCHAINED = "pedersen-bls-unchained"
QUICKNET = "bls-unchained-g1-rfc9380"
SCHEMES = (CHAINED, UNCHAINED, QUICKNET)
G2_DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"
G1_DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"


class BeaconError(Exception):
    """A round was refused (bad signature, wrong round) or none could be read."""


class BeaconNotYet(BeaconError):
    """The round is not out yet (or no relay has it yet): try again later."""


class ChainConfigError(ValueError):
    """The configured chain is unknown, or its info does not hash to its chain hash."""


@dataclass(frozen=True)
class Chain:
    """What identifies a drand chain; stored with each event so a later config change is moot.

    ``group_hash`` and ``beacon_id`` are what the chain hash covers besides period, genesis and
    key (``chain_hash``); events stored before they were kept have them empty.
    """

    hash: str
    scheme: str
    public_key: str
    period: int
    genesis_time: int
    group_hash: str = ""
    beacon_id: str = ""
    name: str = ""

    @classmethod
    def from_json(cls, data: dict) -> Chain:
        return cls(
            hash=data["hash"],
            scheme=data["scheme"],
            public_key=data["public_key"],
            period=int(data["period"]),
            genesis_time=int(data["genesis_time"]),
            group_hash=data.get("group_hash") or "",
            beacon_id=data.get("beacon_id") or "",
            name=data.get("name") or "",
        )

    @classmethod
    def from_info(cls, info: dict, *, name: str = "") -> Chain:
        """A chain from drand's ``GET /{chain hash}/info`` JSON, its hash checked."""
        try:
            chain = cls(
                hash=str(info["hash"]).lower(),
                scheme=info.get("schemeID") or CHAINED,
                public_key=str(info["public_key"]).lower(),
                period=int(info["period"]),
                genesis_time=int(info["genesis_time"]),
                group_hash=str(info["groupHash"]).lower(),
                beacon_id=(info.get("metadata") or {}).get("beaconID") or "",
                name=name or (info.get("metadata") or {}).get("beaconID") or "",
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ChainConfigError(f"drand chain info lacks {error}") from None
        chain.check()
        return chain

    def as_json(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        """ChainConfigError unless the scheme is known and the info hashes to ``hash``."""
        if self.scheme not in SCHEMES:
            raise ChainConfigError(f"drand scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if chain_hash(self) != self.hash:
            raise ChainConfigError(
                f"drand chain {self.hash}: its info hashes to {chain_hash(self)}, not to its hash"
            )

    def round_time(self, round_number: int) -> int:
        """Unix time at which ``round_number`` is published (round 1 at genesis)."""
        return self.genesis_time + (round_number - 1) * self.period

    def first_round_at_or_after(self, unix_time: float) -> int:
        """The first round whose time is >= ``unix_time`` (round 1 if that is before genesis)."""
        return max(1, math.ceil((unix_time - self.genesis_time) / self.period) + 1)


def chain_hash(chain: Chain) -> str:
    """The chain hash as drand defines it (``chain.Info.Hash`` in drand's Go code).

    SHA-256 of: the period in seconds as a big-endian uint32, the genesis time as a
    big-endian int64, the public key's bytes, the group hash's bytes, and the beacon id's UTF-8
    bytes unless it is the default one (empty or ``default``). The scheme is not covered.
    """
    message = (
        struct.pack(">I", chain.period)
        + struct.pack(">q", chain.genesis_time)
        + bytes.fromhex(chain.public_key)
        + bytes.fromhex(chain.group_hash)
    )
    if chain.beacon_id not in ("", "default"):
        message += chain.beacon_id.encode("utf-8")
    return hashlib.sha256(message).hexdigest()


# The League of Entropy's two public chains, as their relays' /info answer them (checked by
# tests/test_draw_v3.py, which recomputes both hashes). tools/verify_draw.py ships the same.
MAINNET = Chain(
    hash="8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
    scheme=CHAINED,
    public_key=(
        "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a5699"
        "37c529eeda66c7293784a9402801af31"
    ),
    period=30,
    genesis_time=1595431050,
    group_hash="176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a",
    beacon_id="default",
    name="League of Entropy mainnet",
)
QUICKNET_CHAIN = Chain(
    hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    scheme=QUICKNET,
    public_key=(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    period=3,
    genesis_time=1692803367,
    group_hash="f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
    beacon_id="quicknet",
    name="League of Entropy quicknet",
)
BUILT_IN = {chain.hash: chain for chain in (MAINNET, QUICKNET_CHAIN)}
ALIASES = {"mainnet": MAINNET.hash, "default": MAINNET.hash, "quicknet": QUICKNET_CHAIN.hash}


def known_chains(extra_infos: list[dict] | None = None) -> dict[str, Chain]:
    """The built-in chains and those the config adds, by hash (each hash checked)."""
    chains = dict(BUILT_IN)
    for info in extra_infos or []:
        chain = Chain.from_info(info)
        if chain.hash in BUILT_IN and chain != BUILT_IN[chain.hash]:
            raise ChainConfigError(f"DRAND_CHAINS redefines the built-in chain {chain.hash}")
        chains.setdefault(chain.hash, chain)
    return chains


def configured_chain() -> Chain | None:
    """The pinned chain the settings name, or None when no beacon is configured.

    No beacon: DRAND_URLS or DRAND_CHAIN_HASH unset (a closed network). The chain must be
    built in or in DRAND_CHAINS; DRAND_PUBLIC_KEY, DRAND_SCHEME, DRAND_PERIOD_SECONDS and
    DRAND_GENESIS_TIME, when set, must agree with it (ChainConfigError otherwise).
    """
    from django.conf import settings

    if not settings.DRAND_URLS or not settings.DRAND_CHAIN_HASH:
        return None
    wanted = settings.DRAND_CHAIN_HASH.strip().lower()
    chains = known_chains(settings.DRAND_CHAINS)
    chain = chains.get(ALIASES.get(wanted, wanted))
    if chain is None:
        raise ChainConfigError(
            f"DRAND_CHAIN_HASH {wanted} is neither built in (mainnet, quicknet) nor in DRAND_CHAINS"
        )
    for setting, value in (
        ("DRAND_PUBLIC_KEY", chain.public_key),
        ("DRAND_SCHEME", chain.scheme),
        ("DRAND_PERIOD_SECONDS", chain.period),
        ("DRAND_GENESIS_TIME", chain.genesis_time),
    ):
        given = getattr(settings, setting, None)
        if given not in (None, "") and str(given).lower() != str(value):
            raise ChainConfigError(f"{setting} is {given!r}, but chain {chain.hash} has {value!r}")
    return chain


def round_message(*, scheme: str, round_number: int, previous_signature: bytes | None) -> bytes:
    """The 32-byte message a round's signature signs."""
    prefix = (previous_signature or b"") if scheme == CHAINED else b""
    return hashlib.sha256(prefix + round_number.to_bytes(8, "big")).digest()


def verify_signature(*, chain: Chain, round_number: int, beacon: dict) -> None:
    """BeaconError unless ``beacon`` is round ``round_number`` of ``chain``, correctly signed."""
    if beacon.get("round") != round_number:
        raise BeaconError(f"relay sent round {beacon.get('round')!r}, not {round_number}")
    try:
        signature = bytes.fromhex(beacon["signature"])
        previous = bytes.fromhex(beacon.get("previous_signature") or "")
        public_key = bytes.fromhex(chain.public_key)
    except (KeyError, TypeError, ValueError) as error:
        raise BeaconError(f"malformed round {round_number}: {error}") from None
    if chain.scheme == CHAINED and not previous:
        raise BeaconError(f"round {round_number} of a chained scheme lacks previous_signature")
    if hashlib.sha256(signature).hexdigest() != beacon.get("randomness"):
        raise BeaconError(f"round {round_number}: randomness is not SHA-256 of the signature")
    message = round_message(
        scheme=chain.scheme, round_number=round_number, previous_signature=previous
    )
    if not bls_verify(scheme=chain.scheme, public_key=public_key, message=message, sig=signature):
        raise BeaconError(f"round {round_number}: the signature does not verify")


def bls_verify(*, scheme: str, public_key: bytes, message: bytes, sig: bytes) -> bool:
    if scheme in (CHAINED, UNCHAINED):
        from py_ecc.bls import G2Basic  # DST BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_

        try:
            return bool(G2Basic.Verify(public_key, message, sig))
        except Exception:  # noqa: BLE001 - a malformed point is just a bad signature
            return False
    if scheme == QUICKNET:
        return _verify_g1_signature(public_key=public_key, message=message, sig=sig)
    raise BeaconError(f"unsupported drand scheme {scheme!r}")


def _verify_g1_signature(*, public_key: bytes, message: bytes, sig: bytes) -> bool:
    """e(sig, G2) == e(H(m), pk): the BLS check with the groups swapped (RFC 9380 hash to G1)."""
    from py_ecc.bls.g2_primitives import decompress_G1, decompress_G2, subgroup_check
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.optimized_bls12_381 import FQ12, G2, final_exponentiate, pairing
    from py_ecc.optimized_bls12_381 import neg as ec_neg

    try:
        if len(sig) != 48 or len(public_key) != 96:
            return False
        sig_point = decompress_G1(int.from_bytes(sig, "big"))
        pk_point = decompress_G2(
            (int.from_bytes(public_key[:48], "big"), int.from_bytes(public_key[48:], "big"))
        )
        if not subgroup_check(sig_point) or not subgroup_check(pk_point):
            return False
        hashed = hash_to_G1(message, G1_DST, hashlib.sha256)
        product = pairing(G2, sig_point, final_exponentiate=False) * pairing(
            ec_neg(pk_point), hashed, final_exponentiate=False
        )
        return final_exponentiate(product) == FQ12.one()
    except Exception:  # noqa: BLE001 - a malformed point is just a bad signature
        return False


# What a relay's answer to one round request came to.
NOT_YET, FAILED = "not_yet", "failed"


def fetch_round(*, chain: Chain, round_number: int, urls: list[str], timeout: float) -> dict:
    """Round ``round_number`` of ``chain``, verified: ``{round, randomness, signature, ...}``.

    Asks every relay at once (a silent relay costs ``timeout``, not one per relay). The first
    answer, in the order of ``urls``, that verifies under the chain's pinned key is the round,
    whatever the others said; each answer that does not is logged and counted in
    ``lottery_beacon_bad_answers_total`` and changes nothing. ``relays`` in the result lists
    every relay that gave that same valid answer. BeaconNotYet when no relay had a valid
    round (none has it yet, or all that answered lied): the caller asks again later.
    """
    with ThreadPoolExecutor(max_workers=max(1, len(urls))) as pool:
        answers = list(pool.map(lambda base: _ask(base, chain, round_number, timeout), urls))
    verified: dict | None = None
    checked: dict[str, bool] = {}  # the same body from several relays is checked once
    for base, answer in zip(urls, answers, strict=True):
        if answer in (NOT_YET, FAILED):
            continue
        body = json.dumps(answer, sort_keys=True)
        if body not in checked:
            checked[body] = _valid(chain, round_number, answer, relay=base)
        elif not checked[body]:
            _count_bad(base, round_number, "the same invalid answer as another relay")
        if checked[body] and verified is None:
            verified = answer
    if verified is None:
        raise BeaconNotYet(f"no relay gave a valid round {round_number} yet")
    same = [
        base
        for base, answer in zip(urls, answers, strict=True)
        if answer not in (NOT_YET, FAILED) and answer == verified
    ]
    return {**verified, "relays": same}


def _ask(base: str, chain: Chain, round_number: int, timeout: float) -> dict | str:
    """One relay's answer (the round's fields), NOT_YET, or FAILED (logged and counted)."""
    url = f"{base.rstrip('/')}/{chain.hash}/public/{round_number}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            body = json.loads(response.read(64 * 1024))
    except urllib.error.HTTPError as error:
        # drand relays answer 404 (or 425 Too Early) for a round still in the future.
        if error.code in (404, 425):
            return NOT_YET
        _count_bad(base, round_number, f"HTTP {error.code}", reason="http")
        return FAILED
    except (OSError, ValueError) as error:
        _count_bad(base, round_number, str(error), reason="unreachable")
        return FAILED
    if not isinstance(body, dict):
        _count_bad(base, round_number, "not a JSON object", reason="malformed")
        return FAILED
    return {
        "round": body.get("round"),
        "randomness": body.get("randomness"),
        "signature": body.get("signature"),
        "previous_signature": body.get("previous_signature") or None,
    }


def _valid(chain: Chain, round_number: int, answer: dict, *, relay: str) -> bool:
    try:
        verify_signature(chain=chain, round_number=round_number, beacon=answer)
    except BeaconError as error:
        _count_bad(relay, round_number, str(error), reason="invalid")
        return False
    return True


def _count_bad(relay: str, round_number: int, why: str, *, reason: str = "invalid") -> None:
    from lottery_site import metrics

    logger.warning("drand relay %s, round %d: answer refused: %s", relay, round_number, why)
    metrics.BEACON_BAD_ANSWERS.labels(reason).inc()
