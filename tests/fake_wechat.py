"""A fake WeChat server on loopback, for tests and benchmarks that need a real socket.

Unit tests fake WeChat with ``responses``; this one is for things that talk over HTTP to a
server in another thread or process (schemathesis through a live server, benchmarks). It answers
like the real API: JSON with ``errcode`` on failure.

Besides login it issues stable access tokens, accepts subscribe messages and draws mini-program
codes (``getwxacodeunlimit``: a real PNG, made with Pillow), counting the calls
(``fake.state.calls``) so a test can check how often the processes it started asked for a token.
``fake.state.stable_token_errcodes``, ``fake.state.send_errcodes`` and
``fake.state.code_errcodes`` are answered, one per call and in order, before the fake goes back
to succeeding; so are the whole answers in ``fake.state.session_answers`` (jscode2session).

``add_unlimited_code(responses_mock)`` registers the same code-drawing answer with ``responses``
for tests that fake WeChat in-process.

Open data: ``encrypt_open_data(...)`` encrypts a payload as WeChat does for the client
(AES-128-CBC, PKCS#7, the user's session_key), ``group_data(...)`` the one of
``wx.getGroupEnterInfo``. The fake's login hands out ``session_key_for(code)``: WeChat's shape,
the same for the same code, so a client in another process that knows its code (the SDK's
flow test) can make the group data WeChat would give it. Risk: ``getuserriskrank`` answers ``fake.state.risk_ranks[openid]``
(0 for anyone else), ``fake.state.risk_errcodes`` first, one per call; every request it got is
in ``fake.state.risk_requests``.

Content security: ``msg_sec_check`` judges a text by the words in ``RISKY_WORDS`` /
``REVIEW_WORDS`` (like WeChat, with ``result.suggest``); ``media_check_async`` answers a
``trace_id`` and remembers the picture, and ``media_check_callback(...)`` builds the signed
(plain or encrypted) request WeChat would then push to our callback URL.
``add_content_checks(responses_mock)`` registers both with ``responses``.
"""

import base64
import hashlib
import io
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# What WeChat checks of a getwxacodeunlimit request: a scene of at most 32 visible characters
# from its list, a page without a leading slash or a query.
_SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


def wxacode_png(scene: str, width: int = 430) -> bytes:
    """A real PNG standing in for a mini-program code: a disc with a pattern drawn from ``scene``."""
    # Imported here: the login part of this fake is standard library only, so a check that runs
    # on the machine's bare python3 (.ci/production_install.py) can serve it.
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, width), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, width - 8, width - 8), outline="black", width=6)
    digest = hashlib.sha256(scene.encode()).digest()
    cell = width // 12
    for i, byte in enumerate(digest):
        x, y = 2 + i % 8, 2 + i // 8
        if byte & 1:
            draw.rectangle((x * cell, y * cell, (x + 1) * cell, (y + 1) * cell), fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def check_code_request(body: dict) -> int:
    """0 when ``body`` is a getwxacodeunlimit request WeChat would accept, else its errcode."""
    scene, page = body.get("scene"), body.get("page", "")
    if not isinstance(scene, str) or not _SCENE.match(scene):
        return 40097  # invalid args
    if not isinstance(page, str) or page.startswith("/") or "?" in page:
        return 41030  # invalid page
    if body.get("env_version", "release") not in {"release", "trial", "develop"}:
        return 40097
    return 0


def add_unlimited_code(mock, *, base="https://wechat.test", errcode: int | None = None) -> None:
    """``responses``: getwxacodeunlimit answers a real PNG (or ``errcode`` as JSON)."""

    def answer(request):
        if errcode is not None:
            return 200, {"Content-Type": "application/json"}, json.dumps(_error(errcode))
        body = json.loads(request.body)
        refused = check_code_request(body)
        if refused:
            return 200, {"Content-Type": "application/json"}, json.dumps(_error(refused))
        return 200, {"Content-Type": "image/jpeg"}, wxacode_png(body["scene"])

    mock.add_callback("POST", f"{base}/wxa/getwxacodeunlimit", callback=answer)


def encrypt_open_data(payload: dict, *, session_key: str, iv: bytes | None = None) -> dict:
    """``{encrypted_data, iv}`` as a WeChat client gets them: AES-128-CBC of the payload's JSON
    with PKCS#7 padding, the key the base64-decoded session_key, a random IV."""
    import os

    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    vector = iv or os.urandom(16)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(payload).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(vector)).encryptor()
    ciphertext = encryptor.update(plain) + encryptor.finalize()
    return {
        "encrypted_data": base64.b64encode(ciphertext).decode(),
        "iv": base64.b64encode(vector).decode(),
    }


def group_data(
    opengid: str, *, session_key: str, appid: str | None = "wx-test-app", chat_type: int = 3
) -> dict:
    """What ``wx.getGroupEnterInfo`` gives a member of group ``opengid`` (``appid=None``: no
    watermark, as the chat-tool mode's data has been seen)."""
    payload: dict = {"opengid": opengid, "chat_type": chat_type}
    if appid is not None:
        payload["watermark"] = {"appid": appid, "timestamp": int(time.time())}
    return encrypt_open_data(payload, session_key=session_key)


def session_key_for(code: str) -> str:
    """The session_key the fake's jscode2session answers for ``code``: 16 bytes, base64."""
    return base64.b64encode(hashlib.sha256(f"session:{code}".encode()).digest()[:16]).decode()


def new_session_key() -> str:
    """A session_key of WeChat's shape: 16 random bytes, base64."""
    import os

    return base64.b64encode(os.urandom(16)).decode()


# What the fake's msg_sec_check finds risky, or worth a human look.
RISKY_WORDS = ("赌博", "诈骗", "risky")
REVIEW_WORDS = ("review",)


def msg_sec_check_answer(body: dict) -> dict:
    """WeChat's answer to a msg_sec_check v2 request."""
    if body.get("version") != 2 or body.get("scene") not in (1, 2, 3, 4) or not body.get("openid"):
        return _error(40003 if not body.get("openid") else 40097)
    content = body.get("content") or ""
    if any(word in content for word in RISKY_WORDS):
        suggest, label = "risky", 20001
    elif any(word in content for word in REVIEW_WORDS):
        suggest, label = "review", 21000
    else:
        suggest, label = "pass", 100
    return {
        "errcode": 0,
        "errmsg": "ok",
        "trace_id": uuid.uuid4().hex,
        "result": {"suggest": suggest, "label": label},
        "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}],
    }


def media_check_answer(body: dict) -> dict:
    if body.get("media_type") != 2 or body.get("version") != 2 or not body.get("openid"):
        return _error(40097)
    if not str(body.get("media_url", "")).startswith(("http://", "https://")):
        return _error(40097)
    return {"errcode": 0, "errmsg": "ok", "trace_id": f"trace-{uuid.uuid4().hex}"}


def media_check_message(trace_id: str, suggest: str, *, appid: str = "wx-test-app") -> dict:
    """The event WeChat pushes once it has judged a picture."""
    return {
        "ToUserName": "gh_fake",
        "FromUserName": "fake-openid",
        "CreateTime": 1764600000,
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": appid,
        "trace_id": trace_id,
        "version": 2,
        "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest}],
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": 20002 if suggest == "risky" else 100},
    }


def media_check_callback(
    message: dict, *, token: str, encrypt=None, timestamp=None, nonce=None
) -> tuple[dict, bytes]:
    """(query, body) of WeChat's push of ``message``: signed with ``token``; in safe mode
    (``encrypt``: a function str -> base64 ciphertext) the body carries only ``Encrypt``.
    Like WeChat's, each push is stamped now (``timestamp``, seconds) with a fresh ``nonce``."""
    from wechat.security import signature

    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = str(secrets.randbelow(10**10)) if nonce is None else nonce
    if encrypt is None:
        query = {
            "signature": signature(token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        return query, json.dumps(message).encode()
    encrypted = encrypt(json.dumps(message))
    query = {
        "signature": signature(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": signature(token, timestamp, nonce, encrypted),
    }
    body = {"ToUserName": message["ToUserName"], "Encrypt": encrypted}
    return query, json.dumps(body).encode()


def add_content_checks(mock, *, base="https://wechat.test", media_traces: list | None = None):
    """``responses``: msg_sec_check and media_check_async as the fakes above answer them;
    ``media_traces`` collects (trace_id, request body) of each picture submitted."""

    def text(request):
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(msg_sec_check_answer(json.loads(request.body))),
        )

    def media(request):
        body = json.loads(request.body)
        answer = media_check_answer(body)
        if media_traces is not None and "trace_id" in answer:
            media_traces.append((answer["trace_id"], body))
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    mock.add_callback("POST", f"{base}/wxa/msg_sec_check", callback=text)
    mock.add_callback("POST", f"{base}/wxa/media_check_async", callback=media)


@dataclass
class FakeWeChatState:
    expires_in: int = 7200
    stable_token_errcodes: list[int] = field(default_factory=list)
    send_errcodes: list[int] = field(default_factory=list)
    code_errcodes: list[int] = field(default_factory=list)
    # jscode2session answers these, one per call and in order, before answering normally.
    session_answers: list[dict] = field(default_factory=list)
    codes: list[dict] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    # getuserriskrank: openid -> rank; errcodes answered first, one per call.
    risk_ranks: dict[str, int] = field(default_factory=dict)
    risk_errcodes: list[int] = field(default_factory=list)
    risk_requests: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    media: list[tuple[str, dict]] = field(default_factory=list)
    token: str | None = None
    _issued: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stable_token(self, body: dict) -> dict:
        with self._lock:
            self.calls["stable_token"] += 1
            if self.stable_token_errcodes:
                return _error(self.stable_token_errcodes.pop(0))
            if not body.get("appid") or not body.get("secret"):
                return _error(41002)
            if self.token is None or body.get("force_refresh") is True:
                self._issued += 1
                self.token = f"fake-access-token-{self._issued}"
            return {"access_token": self.token, "expires_in": self.expires_in}

    def subscribe_send(self, access_token: str, body: dict) -> dict:
        with self._lock:
            self.calls["subscribe_send"] += 1
            if self.token is None or access_token != self.token:
                return _error(40001)
            if self.send_errcodes:
                return _error(self.send_errcodes.pop(0))
            if not body.get("touser") or not body.get("template_id") or not body.get("data"):
                return _error(47003)
            self.sent.append(body)
            return {"errcode": 0, "errmsg": "ok", "msgid": len(self.sent)}

    def content_check(self, path: str, access_token: str, body: dict) -> dict:
        with self._lock:
            self.calls[path.rsplit("/", 1)[-1]] += 1
            if self.token is None or access_token != self.token:
                return _error(40001)
        if path.endswith("msg_sec_check"):
            return msg_sec_check_answer(body)
        answer = media_check_answer(body)
        if "trace_id" in answer:
            with self._lock:
                self.media.append((answer["trace_id"], body))
        return answer

    def risk_rank(self, access_token: str, body: dict) -> dict:
        with self._lock:
            self.calls["getuserriskrank"] += 1
            self.risk_requests.append(body)
            if self.token is None or access_token != self.token:
                return _error(40001)
            if self.risk_errcodes:
                return _error(self.risk_errcodes.pop(0))
            if not body.get("appid") or not body.get("openid") or not body.get("client_ip"):
                return _error(40003)
            if body.get("scene") not in (0, 1, 2):
                return _error(40097)
            rank = self.risk_ranks.get(body["openid"], 0)
        return {"errcode": 0, "errmsg": "getuserriskrank succ", "risk_rank": rank, "unoin_id": 1}

    def unlimited_code(self, access_token: str, body: dict) -> bytes | dict:
        with self._lock:
            self.calls["getwxacodeunlimit"] += 1
            if self.token is None or access_token != self.token:
                return _error(40001)
            if self.code_errcodes:
                return _error(self.code_errcodes.pop(0))
            refused = check_code_request(body)
            if refused:
                return _error(refused)
            self.codes.append(body)
        return wxacode_png(body["scene"])


def _error(errcode: int) -> dict:
    return {"errcode": errcode, "errmsg": f"fake error {errcode}"}


class FakeWeChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def _reply(self, payload: dict | bytes) -> None:
        # WeChat answers a code's picture with HTTP 200 and the image itself, errors as JSON.
        is_image = isinstance(payload, bytes)
        body = payload if is_image else json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg" if is_image else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/sns/jscode2session":
            state: FakeWeChatState = self.server.state
            with state._lock:
                state.calls["jscode2session"] += 1
                answer = state.session_answers.pop(0) if state.session_answers else None
            if answer is not None:
                return self._reply(answer)
            code = query.get("js_code", [""])[0]
            if not code:
                return self._reply({"errcode": 40029, "errmsg": "invalid code"})
            openid = "fake-" + hashlib.sha256(code.encode()).hexdigest()[:24]
            return self._reply({"openid": openid, "session_key": session_key_for(code)})
        return self._reply({"errcode": 40001, "errmsg": "unknown path"})

    def do_POST(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._reply(_error(47001))  # data format error
        state: FakeWeChatState = self.server.state
        if url.path == "/cgi-bin/stable_token":
            return self._reply(state.stable_token(body))
        if url.path == "/cgi-bin/message/subscribe/send":
            return self._reply(state.subscribe_send(query.get("access_token", [""])[0], body))
        if url.path in ("/wxa/msg_sec_check", "/wxa/media_check_async"):
            token = query.get("access_token", [""])[0]
            return self._reply(state.content_check(url.path, token, body))
        if url.path == "/wxa/getwxacodeunlimit":
            return self._reply(state.unlimited_code(query.get("access_token", [""])[0], body))
        if url.path == "/wxa/getuserriskrank":
            return self._reply(state.risk_rank(query.get("access_token", [""])[0], body))
        return self._reply({"errcode": 40001, "errmsg": "unknown path"})


class FakeWeChat:
    def __init__(self, handler=FakeWeChatHandler):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.state = FakeWeChatState()
        self.server.state = self.state
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeWeChat":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
