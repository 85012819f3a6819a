"""The live websocket, plus the reference bench/live.py compares it with: a plain Channels
broadcast (every socket a member of one group, the payload sent through the channel layer to
each), the textbook way to push one message to many sockets."""

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path

from live.routing import websocket_urlpatterns as live_patterns

PLAIN_GROUP = "bench.plain"


class PlainBroadcastConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(PLAIN_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(PLAIN_GROUP, self.channel_name)

    async def bench_message(self, event):
        await self.send(text_data=event["text"])


websocket_urlpatterns = [
    *live_patterns,
    path("ws/bench/plain/", PlainBroadcastConsumer.as_asgi()),
]
