"""The embedded default broker: a reader never sees a half-written message.

Kombu's own filesystem transport writes message files in place; once, under ``make run``, a
worker took a file beat had created but not yet filled and died on invalid JSON. The race is
too narrow to force here, so this shows the replacement delivering every message whole while
the writer is busy; its atomicity comes from the rename (lottery_site/broker.py).
"""

import threading

from kombu import Connection

from lottery_site import broker

MESSAGES = 200
# Large enough that writing one takes a while: a reader that can see a file being written will.
PADDING = "x" * 400_000


def test_worker_reading_while_beat_writes_gets_every_message_whole(tmp_path):
    broker.register()
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    received: list[int] = []

    def produce():
        with Connection(f"{broker.SCHEME}://", transport_options=options) as conn:
            queue = conn.SimpleQueue("race")
            for number in range(MESSAGES):
                queue.put({"n": number, "padding": PADDING})
            queue.close()

    producer = threading.Thread(target=produce)
    with Connection(f"{broker.SCHEME}://", transport_options=options) as conn:
        queue = conn.SimpleQueue("race")
        producer.start()
        while len(received) < MESSAGES:
            message = queue.get(timeout=10)  # a torn file would raise a JSON error here
            received.append(message.payload["n"])
            message.ack()
        queue.close()
    producer.join()
    assert sorted(received) == list(range(MESSAGES))
