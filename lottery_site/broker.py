"""Kombu's filesystem transport (the embedded default broker), with atomic message writes.

Kombu writes a message file in place: a worker listing the folder at that moment can take the
still-empty file and die on invalid JSON (seen under ``make run``, beat and worker racing every
few seconds). Here a message is written under a name the reader ignores, then renamed, which is
atomic on POSIX: a reader sees a whole message or none.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "lotteryfs"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"  # "<...>.<queue>.msg.part" is not read as queue <queue>
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES.setdefault(SCHEME, "lottery_site.broker:Transport")
