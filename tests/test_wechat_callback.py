"""The WeChat callback (message push) under hostile input, replays and stale pushes (issue #20,
item 7).

Whatever arrives at ``/api/v1/wechat/callback`` is answered in the envelope: a push that is not
WeChat's shape is a 400, a wrong signature, a stale timestamp, a replayed nonce or plain mode
while an AES key is set a 403, and none of them changes a picture or remembers a nonce. WeChat
is played by the test (``tests.fake_wechat.media_check_callback`` signs as it does); our
database is real.
"""

import base64
import json
import secrets
import struct
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Upload, WeChatPush
from accounts.services import upload_create
from tests.factories import UserFactory
from tests.fake_wechat import media_check_callback, media_check_message
from tests.pictures import picture
from wechat.security import encrypt, signature

pytestmark = pytest.mark.django_db

CALLBACK = "/api/v1/wechat/callback"
TOKEN = "callback-token-for-tests"
APP_ID = "wx-test-app"
TRACE_ID = "trace-under-test"


@pytest.fixture
def safe_mode(settings):
    """The production set-up: a token and an EncodingAESKey, so only safe mode is taken."""
    settings.WECHAT_CALLBACK_TOKEN = TOKEN
    settings.WECHAT_CALLBACK_AES_KEY = base64.b64encode(secrets.token_bytes(32)).decode()[:43]
    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_CALLBACK_MAX_SKEW_SECONDS = 300
    return settings


@pytest.fixture
def plain_mode(safe_mode):
    safe_mode.WECHAT_CALLBACK_AES_KEY = ""
    return safe_mode


@pytest.fixture
def pending():
    """A cover waiting for WeChat's verdict: a push that got through would change it."""
    owner = UserFactory()
    upload = upload_create(owner=owner, purpose="cover", data=picture(), now=timezone.now())
    Upload.objects.filter(pk=upload.pk).update(trace_id=TRACE_ID, moderation="pending")
    return upload


def post(query: dict, body: bytes | str, *, content_type="application/json"):
    url = f"{CALLBACK}?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else CALLBACK
    return APIClient().generic("POST", url, body, content_type=content_type)


def stamp(**overrides) -> dict:
    return {"timestamp": str(int(time.time())), "nonce": str(secrets.randbelow(10**10))} | overrides


def safe_query(encrypted, **overrides) -> dict:
    """The query of a safe-mode push whose ``msg_signature`` really covers ``encrypted``."""
    query = stamp(**overrides)
    parts = (TOKEN, query["timestamp"], query["nonce"])
    query |= {"encrypt_type": "aes", "signature": signature(*parts)}
    if isinstance(encrypted, str):
        query["msg_signature"] = signature(*parts, encrypted)
    return query


def signed_safe_push(encrypted, **overrides):
    body = json.dumps({"ToUserName": "gh_fake", "Encrypt": encrypted})
    return post(safe_query(encrypted, **overrides), body)


def signed_plain_push(message: dict | bytes, **overrides):
    query = stamp(**overrides)
    query["signature"] = signature(TOKEN, query["timestamp"], query["nonce"])
    body = message if isinstance(message, bytes) else json.dumps(message)
    return post(query, body)


def aes(plain: bytes) -> str:
    """Encrypt raw bytes with our key as WeChat would, without the framing ``encrypt`` adds."""
    from django.conf import settings

    key = base64.b64decode(settings.WECHAT_CALLBACK_AES_KEY + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def framed(message: bytes, *, appid: bytes = APP_ID.encode(), length: int | None = None) -> bytes:
    plain = secrets.token_bytes(16) + struct.pack(">I", len(message) if length is None else length)
    plain += message + appid
    pad = 32 - len(plain) % 32
    return plain + bytes([pad]) * pad


def verdict(suggest="risky", **overrides) -> dict:
    return media_check_message(TRACE_ID, suggest) | overrides


def nothing_changed(pending) -> bool:
    pending.refresh_from_db()
    return pending.moderation == Upload.Moderation.PENDING and not WeChatPush.objects.exists()


def refused(response, status: int, code: int) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and body["code"] == code
        and set(body) == {"code", "msg", "data"}
        and response["Content-Type"].startswith("application/json")
    )


# --- malformed pushes: a 400 (or a 403 when unsigned), never a 500 ------------------------------

# Body shapes sent with encrypt_type=aes and no signature at all: each is refused for its shape
# before any signature is looked at.
UNSIGNED_SAFE_BODIES = {
    "empty object": b"{}",
    "no body": b"",
    "Encrypt null": b'{"Encrypt": null}',
    "Encrypt a number": b'{"Encrypt": 12345}',
    "Encrypt a float": b'{"Encrypt": 1.5}',
    "Encrypt a list": b'{"Encrypt": ["QUJD"]}',
    "Encrypt an object": b'{"Encrypt": {"a": 1}}',
    "Encrypt true": b'{"Encrypt": true}',
    "Encrypt empty": b'{"Encrypt": ""}',
    "Encrypt not base64": b'{"Encrypt": "not base64!"}',
    "Encrypt in Chinese": '{"Encrypt": "密文"}'.encode(),
    "Encrypt a lone surrogate": b'{"Encrypt": "\\ud800"}',
    "not JSON": b"Encrypt=abc",
    "XML": b"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[QUJD]]></Encrypt></xml>",
    "a JSON list": b'[{"Encrypt": "QUJD"}]',
    "a JSON string": b'"QUJD"',
    "JSON null": b"null",
    "not UTF-8": b'{"Encrypt": "\xff\xfe"}',
    "nested too deep": b'{"Encrypt": ' + b"[" * 200 + b"]" * 200 + b"}",
    "a huge number": b'{"Encrypt": 1' + b"0" * 400 + b"}",
    "NaN": b'{"Encrypt": NaN}',
}


@pytest.mark.parametrize("body", UNSIGNED_SAFE_BODIES.values(), ids=UNSIGNED_SAFE_BODIES.keys())
def test_unsigned_malformed_safe_mode_push_is_a_400_and_changes_nothing(safe_mode, pending, body):
    response = post({"encrypt_type": "aes"} | stamp(), body)

    assert refused(response, 400, 40000), response.content
    assert nothing_changed(pending)


@pytest.mark.parametrize("body", UNSIGNED_SAFE_BODIES.values(), ids=UNSIGNED_SAFE_BODIES.keys())
def test_malformed_push_without_a_timestamp_or_nonce_is_a_400_too(safe_mode, pending, body):
    response = post({"encrypt_type": "aes"}, body)

    assert refused(response, 400, 40000), response.content
    assert nothing_changed(pending)


QUERY_SHAPES = {
    "no timestamp": {"timestamp": None},
    "timestamp not a number": {"timestamp": "yesterday"},
    "timestamp negative": {"timestamp": "-1"},
    "timestamp in full-width digits": {"timestamp": "１７６４６０００００"},
    "timestamp too long": {"timestamp": "1" * 40},
    "no nonce": {"nonce": None},
    "empty nonce": {"nonce": ""},
    "nonce with a space": {"nonce": "a%20b"},
    "nonce too long": {"nonce": "9" * 65},
    "nonce in Chinese": {"nonce": "随机"},
}


@pytest.mark.parametrize("change", QUERY_SHAPES.values(), ids=QUERY_SHAPES.keys())
def test_push_with_a_malformed_timestamp_or_nonce_is_a_400_naming_it(safe_mode, pending, change):
    encrypted = encrypt(json.dumps(verdict()))
    query = {k: v for k, v in safe_query(encrypted).items() if k not in change}
    query |= {k: v for k, v in change.items() if v is not None}

    response = post(query, json.dumps({"Encrypt": encrypted}))

    assert refused(response, 400, 40000), response.content
    assert set(response.json()["data"]) <= {"timestamp", "nonce"}
    assert nothing_changed(pending)


SIGNATURES = {
    "missing": None,
    "empty": "",
    "wrong": "0" * 40,
    "in Chinese": "签名",
    "upper-case hex of the right one": "UPPER",
    "far too long": "a" * 3000,
}


@pytest.mark.parametrize("sig", SIGNATURES.values(), ids=SIGNATURES.keys())
def test_safe_mode_push_without_the_right_msg_signature_is_a_403(safe_mode, pending, sig):
    encrypted = encrypt(json.dumps(verdict()))
    query = safe_query(encrypted)
    if sig == "UPPER":
        sig = query["msg_signature"].upper()
    if sig is None:
        del query["msg_signature"]
    else:
        query["msg_signature"] = sig

    response = post(query, json.dumps({"Encrypt": encrypted}))

    assert refused(response, 403, 40311), response.content
    assert nothing_changed(pending)


# Ciphertexts signed correctly (msg_signature covers them) that are not what WeChat makes, each
# made from a good one (its base64 and its bytes).
CIPHERTEXTS = {
    "not whole blocks": lambda good, raw: base64.b64encode(raw[:-1]).decode(),
    "truncated by a block": lambda good, raw: base64.b64encode(raw[:-16]).decode(),
    "one block": lambda good, raw: base64.b64encode(raw[:16]).decode(),
    "base64 cut short": lambda good, raw: good.rstrip("=") if "=" in good else good[:-2],
    "base64 of three bytes": lambda good, raw: "QUJD",
    # CBC: a bit flipped in the next-to-last block flips the same bit of the padding byte.
    "padding byte flipped": lambda good, raw: base64.b64encode(
        raw[:-17] + bytes([raw[-17] ^ 1]) + raw[-16:]
    ).decode(),
    "padding byte zero": lambda good, raw: aes(framed(b"{}")[:-1] + b"\x00"),
    "padding beyond the block": lambda good, raw: aes(b"\x21" * 64),
    "padding bytes disagree": lambda good, raw: aes(b"\x00" * 62 + b"\x01\x02"),
    "shorter than its header": lambda good, raw: aes(b"\x10" * 32),
    "length beyond the end": lambda good, raw: aes(framed(b"{}", length=10**6)),
    "message not UTF-8": lambda good, raw: aes(framed(b"\xff\xfe\xfd")),
    "message not JSON": lambda good, raw: aes(framed(b"hello")),
    "message a JSON list": lambda good, raw: aes(framed(b"[]")),
    "message nested too deep": lambda good, raw: aes(framed(b"[" * 300 + b"]" * 300)),
}


@pytest.mark.parametrize("make", CIPHERTEXTS.values(), ids=CIPHERTEXTS.keys())
def test_signed_push_that_does_not_decrypt_is_a_400_and_changes_nothing(safe_mode, pending, make):
    good = encrypt(json.dumps(verdict()))

    response = signed_safe_push(make(good, base64.b64decode(good)))

    assert refused(response, 400, 40000), response.content
    assert response.json()["data"] == {"Encrypt": ["不是微信推送的消息"]}
    assert nothing_changed(pending)


@pytest.mark.parametrize("appid", [b"wx-someone-else", b"", b"\xff\xfe", APP_ID.encode() + b"x"])
def test_signed_push_for_another_app_is_a_403(safe_mode, pending, appid):
    response = signed_safe_push(aes(framed(json.dumps(verdict()).encode(), appid=appid)))

    assert refused(response, 403, 40311), response.content
    assert nothing_changed(pending)


# Media check events whose fields are not what WeChat sends.
BAD_VERDICTS = {
    "result a list": {"result": [{"suggest": "risky"}]},
    "result a string": {"result": "risky"},
    "result null": {"result": None},
    "result missing": {"result": {}},
    "suggest unknown": {"result": {"suggest": "maybe"}},
    "suggest a list": {"result": {"suggest": ["risky"]}},
    "trace_id a list": {"trace_id": [TRACE_ID]},
    "trace_id a number": {"trace_id": 42},
    "trace_id an object": {"trace_id": {"id": TRACE_ID}},
    "trace_id empty": {"trace_id": ""},
    "trace_id too long": {"trace_id": "t" * 65},
    "trace_id with a newline": {"trace_id": TRACE_ID + "\n"},
}


@pytest.mark.parametrize("change", BAD_VERDICTS.values(), ids=BAD_VERDICTS.keys())
def test_signed_media_verdict_of_the_wrong_shape_is_a_400_in_safe_mode(safe_mode, pending, change):
    response = signed_safe_push(encrypt(json.dumps(verdict(**change))))

    assert refused(response, 400, 40000), response.content
    assert nothing_changed(pending)


@pytest.mark.parametrize("change", BAD_VERDICTS.values(), ids=BAD_VERDICTS.keys())
def test_signed_media_verdict_of_the_wrong_shape_is_a_400_in_plain_mode(
    plain_mode, pending, change
):
    response = signed_plain_push(verdict(**change))

    assert refused(response, 400, 40000), response.content
    assert nothing_changed(pending)


PLAIN_BODIES = {
    "not JSON": b"hello",
    "XML": b"<xml><Event>wxa_media_check</Event></xml>",
    "a JSON list": b"[]",
    "not UTF-8": b"\xff\xfe",
    "Encrypt without a key": b'{"Encrypt": 5}',
}


@pytest.mark.parametrize("body", PLAIN_BODIES.values(), ids=PLAIN_BODIES.keys())
def test_signed_plain_push_that_is_not_a_json_message_is_a_400(plain_mode, pending, body):
    assert refused(signed_plain_push(body), 400, 40000)
    assert nothing_changed(pending)


def test_a_body_over_the_api_limit_is_a_413_before_anything_is_read(safe_mode, pending, settings):
    encrypted = "A" * (settings.API_MAX_BODY_BYTES + 1)

    response = signed_safe_push(encrypted)

    assert refused(response, 413, 41300)
    assert nothing_changed(pending)


def test_a_large_body_within_the_limit_is_judged_like_any_other(safe_mode, pending):
    message = verdict() | {"padding": "x" * 40_000}

    response = signed_safe_push(encrypt(json.dumps(message)))

    assert response.status_code == 200, response.content
    pending.refresh_from_db()
    assert pending.moderation == Upload.Moderation.REJECTED


def test_url_check_refuses_a_signature_in_chinese_or_a_malformed_stamp_in_the_envelope(safe_mode):
    api = APIClient()
    good = stamp()
    chinese = api.get(CALLBACK, good | {"signature": "签名", "echostr": "e"})
    no_nonce = api.get(CALLBACK, {"timestamp": good["timestamp"], "signature": "0" * 40})

    assert refused(chinese, 403, 40311)
    assert refused(no_nonce, 400, 40000)


# --- replays, stale pushes and plain mode ---------------------------------------------------


def test_fresh_safe_mode_push_is_applied_once_and_its_nonce_remembered(safe_mode, pending):
    query, body = media_check_callback(verdict(), token=TOKEN, encrypt=encrypt)

    first = post(query, body)

    assert first.status_code == 200 and first.content == b"success"
    pending.refresh_from_db()
    assert pending.moderation == Upload.Moderation.REJECTED
    [remembered] = WeChatPush.objects.all()
    assert (remembered.timestamp, remembered.nonce) == (int(query["timestamp"]), query["nonce"])
    assert remembered.expires_at.timestamp() == int(query["timestamp"]) + 300


def test_the_same_push_again_is_refused_as_a_replay(safe_mode, pending):
    query, body = media_check_callback(verdict("pass"), token=TOKEN, encrypt=encrypt)
    assert post(query, body).status_code == 200

    again = post(query, body)

    assert refused(again, 403, 40313)
    assert WeChatPush.objects.count() == 1


def test_a_replay_with_another_ciphertext_under_the_same_nonce_is_refused(safe_mode, pending):
    # Only who holds the token can sign a new ciphertext: this is WeChat itself, or a leak.
    query, body = media_check_callback(verdict("pass"), token=TOKEN, encrypt=encrypt)
    assert post(query, body).status_code == 200
    stamp_again = {"timestamp": query["timestamp"], "nonce": query["nonce"]}

    second = signed_safe_push(encrypt(json.dumps(verdict("risky"))), **stamp_again)

    assert refused(second, 403, 40313)
    pending.refresh_from_db()
    assert pending.moderation == Upload.Moderation.PASSED


@pytest.mark.parametrize("offset", [-301, 301, -86400, 10**9])
def test_push_stamped_outside_the_window_is_refused_as_stale(safe_mode, pending, offset):
    now = int(time.time())
    query, body = media_check_callback(
        verdict(), token=TOKEN, encrypt=encrypt, timestamp=str(now + offset)
    )

    with time_machine.travel(now, tick=False):
        response = post(query, body)

    assert refused(response, 403, 40312)
    assert nothing_changed(pending)


@pytest.mark.parametrize("offset", [-300, 300])
def test_push_stamped_at_the_edge_of_the_window_is_taken(safe_mode, pending, offset):
    now = int(time.time())
    query, body = media_check_callback(
        verdict(), token=TOKEN, encrypt=encrypt, timestamp=str(now + offset)
    )

    with time_machine.travel(now, tick=False):
        response = post(query, body)

    assert response.status_code == 200, response.content


def test_the_window_is_a_setting(safe_mode, pending):
    safe_mode.WECHAT_CALLBACK_MAX_SKEW_SECONDS = 30
    now = int(time.time())
    query, body = media_check_callback(
        verdict(), token=TOKEN, encrypt=encrypt, timestamp=str(now - 31)
    )

    with time_machine.travel(now, tick=False):
        assert refused(post(query, body), 403, 40312)


def test_a_replay_after_the_window_is_refused_as_stale_and_old_nonces_are_dropped(
    safe_mode, pending
):
    query, body = media_check_callback(verdict("pass"), token=TOKEN, encrypt=encrypt)
    assert post(query, body).status_code == 200

    with time_machine.travel(timezone.now() + timedelta(seconds=301), tick=False):
        replay = post(query, body)
        fresh = post(*media_check_callback(verdict("pass"), token=TOKEN, encrypt=encrypt))

    assert refused(replay, 403, 40312)
    assert fresh.status_code == 200
    # Only the fresh push is remembered: the first one's window has passed.
    assert WeChatPush.objects.count() == 1


def test_plain_push_is_refused_while_an_aes_key_is_set_even_when_signed(safe_mode, pending):
    response = signed_plain_push(verdict())

    assert refused(response, 403, 40314)
    assert nothing_changed(pending)


def test_plain_push_is_taken_without_a_key_and_cannot_be_replayed(plain_mode, pending):
    query, body = media_check_callback(verdict(), token=TOKEN)

    first = post(query, body)
    again = post(query, body)

    assert first.status_code == 200 and first.content == b"success"
    assert refused(again, 403, 40313)
    pending.refresh_from_db()
    assert pending.moderation == Upload.Moderation.REJECTED


def test_stale_plain_push_is_refused(plain_mode, pending):
    query, body = media_check_callback(
        verdict(), token=TOKEN, timestamp=str(int(time.time()) - 3600)
    )

    assert refused(post(query, body), 403, 40312)
    assert nothing_changed(pending)


def test_a_push_we_failed_to_apply_is_taken_when_wechat_retries_it(safe_mode, pending, monkeypatch):
    from accounts import services

    real = services.upload_moderate

    def broken(**kwargs):
        raise RuntimeError("storage down")

    query, body = media_check_callback(verdict(), token=TOKEN, encrypt=encrypt)
    monkeypatch.setattr(services, "upload_moderate", broken)
    failed = post(query, body)
    monkeypatch.setattr(services, "upload_moderate", real)
    retried = post(query, body)

    assert refused(failed, 500, 50000)
    assert retried.status_code == 200
    pending.refresh_from_db()
    assert pending.moderation == Upload.Moderation.REJECTED


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_push_racing_are_taken_once(safe_mode):
    owner = UserFactory()
    upload = upload_create(owner=owner, purpose="cover", data=picture(), now=timezone.now())
    Upload.objects.filter(pk=upload.pk).update(trace_id=TRACE_ID, moderation="pending")
    query, body = media_check_callback(verdict(), token=TOKEN, encrypt=encrypt)
    start = threading.Barrier(4)
    statuses = []

    def send():
        from django.db import connection

        start.wait()
        try:
            statuses.append(post(query, body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 403, 403, 403]
    assert WeChatPush.objects.count() == 1


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"WECHAT_CALLBACK_AES_KEY": "too-short"},
        {"WECHAT_CALLBACK_AES_KEY": "a" * 42 + "!"},
        {"WECHAT_CALLBACK_AES_KEY": "a" * 44},
        {"WECHAT_CALLBACK_MAX_SKEW_SECONDS": "0"},
    ],
    ids=["key too short", "key not base64", "key too long", "no window"],
)
def test_the_service_refuses_to_start_with_a_callback_setting_that_cannot_work(env):
    from tests.test_settings import run_manage

    result = run_manage("check", DJANGO_DEBUG="1", **env)

    assert result.returncode != 0
    assert next(iter(env)) in result.stderr
