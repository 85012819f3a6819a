"""A fake WeChat server on loopback, for tests and benchmarks that need a real socket.

Unit tests fake WeChat with ``responses``; this one is for things that talk over HTTP to a
server in another thread or process (schemathesis through a live server, benchmarks). It answers
like the real API: JSON with ``errcode`` on failure.

Besides login it issues stable access tokens, accepts subscribe messages and draws mini-program
codes (``getwxacodeunlimit``: a real PNG, made with Pillow), counting the calls
(``fake.state.calls``) so a test can check how often the processes it started asked for a token.
``fake.state.stable_token_errcodes``, ``fake.state.send_errcodes`` and
``fake.state.code_errcodes`` are answered, one per call and in order, before the fake goes back
to succeeding.

``add_unlimited_code(responses_mock)`` registers the same code-drawing answer with ``responses``
for tests that fake WeChat in-process.
"""

import hashlib
import io
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from PIL import Image, ImageDraw

# What WeChat checks of a getwxacodeunlimit request: a scene of at most 32 visible characters
# from its list, a page without a leading slash or a query.
_SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


def wxacode_png(scene: str, width: int = 430) -> bytes:
    """A real PNG standing in for a mini-program code: a disc with a pattern drawn from ``scene``."""
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


@dataclass
class FakeWeChatState:
    expires_in: int = 7200
    stable_token_errcodes: list[int] = field(default_factory=list)
    send_errcodes: list[int] = field(default_factory=list)
    code_errcodes: list[int] = field(default_factory=list)
    codes: list[dict] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    sent: list[dict] = field(default_factory=list)
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
            code = query.get("js_code", [""])[0]
            if not code:
                return self._reply({"errcode": 40029, "errmsg": "invalid code"})
            openid = "fake-" + hashlib.sha256(code.encode()).hexdigest()[:24]
            return self._reply({"openid": openid, "session_key": "fake-session-key"})
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
        if url.path == "/wxa/getwxacodeunlimit":
            return self._reply(state.unlimited_code(query.get("access_token", [""])[0], body))
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
