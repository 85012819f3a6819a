"""Lua scripts in Redis, and one command sent the short way: the one seam for both.

A script is sent by its SHA-1 (``EVALSHA``); a Redis that does not know it (restarted,
``SCRIPT FLUSH``) answers NOSCRIPT, and the script is then sent whole once (``EVAL``, which
also stores it for the next ``EVALSHA``). Callers wrap the call in ``redis_breaker.call``.
"""

import hashlib

from redis.exceptions import NoScriptError, ResponseError


class Script:
    """A Lua script, run with ``script(client, keys, args)``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis's own name

    def __call__(self, client, keys: list, args: list):
        try:
            return command(client, "EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return command(client, "EVAL", self.source, len(keys), *keys, *args)


def command(client, *args):
    """One command on one of the client's pooled connections, its reply read at once.

    For the scripts (``Script``). redis-py's own call path (retries, observability hooks, pool
    bookkeeping) costs about as much CPU as the round trip itself: 75-80 µs a GET here against
    43-46 this way (bench/join, docs/benchmarks-archive.md, "The detail of an open event from a
    Redis mirror", measured for the mirror, since removed). The reply is Redis's own (bytes,
    no decoding). A connection that failed is closed before it
    goes back to the pool; the error is raised for the breaker.
    """
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    except ResponseError:
        raise  # an error reply (NOSCRIPT among them): the connection is fine
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)
