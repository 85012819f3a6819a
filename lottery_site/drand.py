"""Client of the drand public randomness beacon (League of Entropy): round arithmetic, fetch, verify.

A drand chain publishes a round every ``period`` seconds from ``genesis_time``; round r's
``randomness`` is SHA-256 of its BLS signature, which anyone checks against the chain's public
key. Nobody (us included) can know a round before its time, which is why a draw mixes in a round
named in advance whose time falls after the lock (docs/fairness.md).

Supported schemes, as drand names them:

- ``pedersen-bls-chained``: signature on G2 (96 bytes) of SHA-256(previous_signature || u64be(r)),
  public key on G1 (48 bytes);
- ``pedersen-bls-unchained``: the same curve groups, message SHA-256(u64be(r));
- ``bls-unchained-g1-rfc9380`` (quicknet): signature on G1 (48 bytes) of SHA-256(u64be(r)),
  public key on G2 (96 bytes).

Network calls go to every configured relay, with a short timeout: a round is used only when the
relays that answer agree on it and its signature verifies. Never call this inside a database
transaction. The BLS check is py_ecc (pure Python: a few seconds per round on a loaded machine,
paid once per draw, never by a request).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)

CHAINED = "pedersen-bls-chained"
UNCHAINED = "pedersen-bls-unchained"
QUICKNET = "bls-unchained-g1-rfc9380"
SCHEMES = (CHAINED, UNCHAINED, QUICKNET)
G2_DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"
G1_DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"


class BeaconError(Exception):
    """A round was refused (bad signature, wrong round, relays disagree) or none could be read."""


class BeaconNotYet(BeaconError):
    """The round is not out yet (or no relay has it yet): try again later."""


@dataclass(frozen=True)
class Chain:
    """What identifies a drand chain; stored with each event so a later config change is moot."""

    hash: str
    scheme: str
    public_key: str
    period: int
    genesis_time: int

    @classmethod
    def from_json(cls, data: dict) -> Chain:
        return cls(
            hash=data["hash"],
            scheme=data["scheme"],
            public_key=data["public_key"],
            period=int(data["period"]),
            genesis_time=int(data["genesis_time"]),
        )

    def as_json(self) -> dict:
        return asdict(self)

    def round_time(self, round_number: int) -> int:
        """Unix time at which ``round_number`` is published (round 1 at genesis)."""
        return self.genesis_time + (round_number - 1) * self.period

    def first_round_at_or_after(self, unix_time: float) -> int:
        """The first round whose time is >= ``unix_time`` (round 1 if that is before genesis)."""
        return max(1, math.ceil((unix_time - self.genesis_time) / self.period) + 1)


def configured_chain() -> Chain | None:
    """The chain in the settings, or None when no beacon is configured (a closed network)."""
    from django.conf import settings

    if not settings.DRAND_URLS or not settings.DRAND_CHAIN_HASH or not settings.DRAND_PUBLIC_KEY:
        return None
    if settings.DRAND_SCHEME not in SCHEMES:
        raise ValueError(f"DRAND_SCHEME must be one of {SCHEMES}, got {settings.DRAND_SCHEME!r}")
    return Chain(
        hash=settings.DRAND_CHAIN_HASH.lower(),
        scheme=settings.DRAND_SCHEME,
        public_key=settings.DRAND_PUBLIC_KEY.lower(),
        period=settings.DRAND_PERIOD_SECONDS,
        genesis_time=settings.DRAND_GENESIS_TIME,
    )


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


def fetch_round(*, chain: Chain, round_number: int, urls: list[str], timeout: float) -> dict:
    """Round ``round_number`` from the relays, verified: ``{round, randomness, signature, ...}``.

    Asks every relay. Relays that fail or do not have the round yet are skipped; the round is
    refused (BeaconError) if two relays that answered disagree, or if it does not verify.
    BeaconNotYet when no relay has it yet.
    """
    answers: dict[str, dict] = {}
    errors: list[str] = []
    not_yet = 0
    for base in urls:
        url = f"{base.rstrip('/')}/{chain.hash}/public/{round_number}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                body = json.loads(response.read(64 * 1024))
        except urllib.error.HTTPError as error:
            # drand relays answer 404 (or 425 Too Early) for a round still in the future.
            if error.code in (404, 425):
                not_yet += 1
            else:
                errors.append(f"{base}: HTTP {error.code}")
            continue
        except (OSError, ValueError) as error:
            errors.append(f"{base}: {error}")
            continue
        if not isinstance(body, dict):
            errors.append(f"{base}: not a JSON object")
            continue
        answers[base] = {
            "round": body.get("round"),
            "randomness": body.get("randomness"),
            "signature": body.get("signature"),
            "previous_signature": body.get("previous_signature") or None,
        }
    if errors:
        logger.warning("drand round %d: %s", round_number, "; ".join(errors))
    distinct = {json.dumps(answer, sort_keys=True) for answer in answers.values()}
    if len(distinct) > 1:
        raise BeaconError(f"relays disagree on round {round_number}: {sorted(answers)}")
    if not answers:
        if not_yet:
            raise BeaconNotYet(f"round {round_number} is not out yet")
        raise BeaconError(f"no relay answered for round {round_number}: {'; '.join(errors)}")
    beacon = next(iter(answers.values()))
    verify_signature(chain=chain, round_number=round_number, beacon=beacon)
    return {**beacon, "relays": sorted(answers)}
