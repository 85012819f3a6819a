"""The live websocket: ``/ws/live/<event public id>/[?after=<seq>][&screen=<token>]``.

Who may connect: anyone (the frames are public: masked names, public ids, digests), a big
screen with its link's token (``screen=``: closed with 4403 the moment the link is revoked),
a mini-program user with ``Authorization: Bearer <access token>`` (wx.connectSocket's
``header``). A bad or revoked credential is told why by the close code, after the handshake:
4401 bad access token, 4403 screen link invalid or revoked, 4404 no such live event. The
socket only listens; "ping" is answered "pong" (a keep-alive through proxies that drop idle
connections). Every frame is ``{seq, type, at, data}`` (docs/live.md); the first is a
``snapshot`` unless ``after`` asks to replay from a message the client already has.
"""

from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import CachedUserJWTAuthentication
from live import hub as hubs
from live import selectors
from lottery_site import metrics
from lottery_site.errors import ApplicationError

CLOSE_TOKEN_INVALID = 4401
CLOSE_SCREEN_REVOKED = 4403
CLOSE_NOT_FOUND = 4404


class Refused(Exception):
    def __init__(self, code: int):
        self.code = code


def authorize(event_id: str, *, screen: str | None, bearer: bytes | None) -> tuple[int, str | None]:
    """(live event id, screen link id or None) for a socket, or Refused with its close code."""
    try:
        live = selectors.live_get(public_id=event_id)
    except ApplicationError:
        raise Refused(CLOSE_NOT_FOUND) from None
    screen_id = None
    if screen is not None:
        link = selectors.screen_for_token(screen)
        if link is None or link.live_id != live.pk:
            raise Refused(CLOSE_SCREEN_REVOKED)
        screen_id = link.public_id
    if bearer is not None:
        auth = CachedUserJWTAuthentication()
        try:
            user = auth.get_user(auth.get_validated_token(bearer))
        except AuthenticationFailed:
            raise Refused(CLOSE_TOKEN_INVALID) from None
        except Exception:  # noqa: BLE001 - simplejwt raises its own InvalidToken too
            raise Refused(CLOSE_TOKEN_INVALID) from None
        if not user.is_active:
            raise Refused(CLOSE_TOKEN_INVALID)
    return live.pk, screen_id


class LiveConsumer(AsyncWebsocketConsumer):
    hub = None
    screen_id: str | None = None
    last_seq = 0

    async def connect(self) -> None:
        await self.accept()
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            live_id, self.screen_id = await sync_to_async(authorize)(
                self.scope["url_route"]["kwargs"]["event_id"],
                screen=(params.get("screen") or [None])[0],
                bearer=_bearer(self.scope),
            )
        except Refused as refused:
            await self.close(code=refused.code)
            return
        metrics.LIVE_SOCKETS.inc()
        self.hub = await hubs.hub_for(live_id)
        await self.hub.attach(self, _after(params))

    async def disconnect(self, code) -> None:
        if self.hub is not None:
            metrics.LIVE_SOCKETS.dec()
            hub, self.hub = self.hub, None
            await hub.detach(self)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if text_data == "ping":
            await self.send(text_data="pong")


def _after(params: dict) -> int | None:
    value = (params.get("after") or [""])[0]
    return int(value) if value.isdigit() and len(value) < 19 else None


def _bearer(scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.partition(b" ")
            return token.strip() if kind.lower() == b"bearer" and token.strip() else b"-"
    return None
