"""The join's transaction in plain SQL, sent to MariaDB in one round trip: a speed trick.

The join is the flash-crowd path. Its two statements are plain SQL: built through the ORM they
cost three times as much as running them (bench/join, docs/benchmarks.md, the "Floors"
section's last paragraph). And outside a caller's transaction (a request) the whole
transaction, begin, the gate UPDATE, the INSERT and the commit, goes to MariaDB as one
multi-statement batch, one round trip instead of four: join / bare view 0.262 -> 0.301
(bench/join, docs/benchmarks.md, "The join in one round trip, key prepared once, times in one
zone").

**Multi-statements, and only here.** MySQL runs a batch only on a connection opened with
``CLIENT.MULTI_STATEMENTS``, which mysqlclient sets on every connection unless told otherwise.
Ours are told otherwise (``multi_statements: False`` in settings.py), so no other query can
ever run as a batch: a stacked query is how an injection gets from reading to writing (ours are
all parameterized; this keeps it so by construction). Each thread has one more connection,
opened with the flag, used for nothing but the statements below (``batch_connection``): a
Django connection of its own with the same settings otherwise, closed when unusable or older
than DB_CONN_MAX_AGE like the others, and when its thread ends.

The INSERT must name every NOT NULL column of Entry that has no database default
(tests/test_join_sql.py checks it against the model): a column added to Entry is added here.

**The gate also keeps** an excluded entrant out (a row of ``Exclusion``, looked up by its unique
key inside the UPDATE: no statement of its own) and admits only under the entry conditions'
version the caller checked (``rules_version``): a process that checked an older version of them
is refused and checks again (events.services.entries). Neither costs a round trip.
"""

import functools
import threading
from contextlib import suppress
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction

from accounts.models import User
from events.models import Entry, Event, Exclusion

# The columns the join's INSERT writes; every other column of Entry is nullable or has a
# database default.
INSERT_COLUMNS = ("event_id", "user_id", "user_key", "created_at", "network", "risk_rank")


def admit_and_insert(
    event_pk: int,
    *,
    user: User,
    now: datetime,
    rules_version: int = 0,
    network: str = "",
    risk_rank: int | None = None,
) -> Entry | None:
    """The join's transaction: the gate UPDATE, and the INSERT only if the gate admitted.

    Returns the new entry, or None when the gate refused (nothing written: the event is not
    open, the entrant was excluded, or the conditions are no longer at ``rules_version``). A
    second join of
    the same user raises IntegrityError (the (event, user) unique constraint) and is rolled
    back, its count with it.

    Outside any transaction (a request) the transaction is its own: begin, the two statements,
    commit, as one batch on MySQL; the INSERT tests ``ROW_COUNT()``, the rows the gate UPDATE
    just matched, so the decision stays in the server, inside the transaction, where the gate's
    row lock holds it. Inside a caller's transaction (a test, a composed service) the two
    statements run one by one in a savepoint of that transaction.
    """
    at = connection.ops.adapt_datetimefield_value(now)
    admit, insert = _join_sql(connection.vendor)
    statements = [
        (admit, [at, event_pk, at, rules_version, event_pk, user.public_id]),
        (insert, [event_pk, user.pk, user.public_id, at, network, risk_rank]),
    ]
    if connection.in_atomic_block:
        with transaction.atomic():
            counts = _run_one_by_one(connection, statements)
    elif connection.vendor == "mysql":
        counts = _run_transaction_batch(batch_connection(), statements)
    else:
        counts = _run_transaction(connection, statements)
    (admitted, _, _), (inserted, entry_id, _) = counts[:2]
    if not (admitted == 1 and inserted == 1):
        return None
    entry = Entry(
        pk=entry_id,
        event_id=event_pk,
        user_id=user.pk,
        user_key=user.public_id,
        network=network,
        risk_rank=risk_rank,
    )
    entry.created_at = now
    entry._state.adding = False
    return entry


Results = list[tuple[int, int | None, tuple | None]]  # (rowcount, lastrowid, first row if any)


def _result(cursor) -> tuple[int, int | None, tuple | None]:
    row = cursor.fetchone() if cursor.description else None
    return cursor.rowcount, cursor.lastrowid, row


def _run_one_by_one(db, statements: list[tuple[str, list]]) -> Results:
    with db.cursor() as cursor:
        counts = []
        for sql, params in statements:
            cursor.execute(sql, params)
            counts.append(_result(cursor))
        return counts


def _run_transaction(db, statements: list[tuple[str, list]]) -> Results:
    """Its own transaction, statement by statement (SQLite: no batches)."""
    statements = [("BEGIN IMMEDIATE", []), *statements, ("COMMIT", [])]
    return _rolled_back_on_failure(db, lambda: _run_one_by_one(db, statements)[1:])


def _run_transaction_batch(db, statements: list[tuple[str, list]]) -> Results:
    """Its own transaction, as one batch: one round trip. The server stops at the first
    statement that fails, which raises here."""
    statements = [("START TRANSACTION", []), *statements, ("COMMIT", [])]

    def run() -> Results:
        with db.cursor() as cursor:
            cursor.execute(
                ";\n".join(sql for sql, _ in statements), [p for _, ps in statements for p in ps]
            )
            counts = [_result(cursor)]
            with db.wrap_database_errors:
                while cursor.nextset():
                    counts.append(_result(cursor))
        return counts[1:]

    return _rolled_back_on_failure(db, run)


def _rolled_back_on_failure(db, run) -> Results:
    try:
        return run()
    except BaseException:
        with suppress(DatabaseError), db.cursor() as cursor:
            cursor.execute("ROLLBACK")  # a lost connection has nothing left to roll back
        raise


class _ThreadConnection:
    """This thread's batch connection, closed when the thread ends (a server that runs each
    request on a thread of its own, as Django's does in tests, would otherwise leave one
    connection open per request until the garbage collector found it)."""

    def __init__(self, db) -> None:
        self.db = db

    def __del__(self) -> None:
        raw = self.db.connection  # the driver's: Django's close() is for the owning thread
        if raw is not None:
            with suppress(Exception):
                raw.close()


_local = threading.local()


def batch_connection():
    """This thread's connection that may send batches (the module docstring says why)."""
    default = connections[DEFAULT_DB_ALIAS]
    held = getattr(_local, "held", None)
    if held is None or held.db.settings_dict["NAME"] != default.settings_dict["NAME"]:
        options = {**default.settings_dict["OPTIONS"], "multi_statements": True}
        settings = {**default.settings_dict, "OPTIONS": options}
        # Another database (tests switch to theirs): the connection to the old one closes with
        # its holder.
        held = _local.held = _ThreadConnection(type(default)(settings, alias=DEFAULT_DB_ALIAS))
    held.db.close_if_unusable_or_obsolete()
    return held.db


@functools.cache
def _join_sql(vendor: str) -> tuple[str, str]:
    event, entry = Event._meta.db_table, Entry._meta.db_table
    excluded = Exclusion._meta.db_table
    # "status + 0", not "status": MariaDB must reach the row through its primary key. Through
    # the (status, lock_at) index the join would lock that index entry first, then wait for the
    # row held by the lock job (or a cancel), which waits for the entry: a deadlock, and a 500.
    # entry_seq counts the join in the same UPDATE, at no cost of its own (Event.entry_seq).
    # The join reaching a count target closes entries now (``lock_at``). lock_at is assigned
    # first, so it reads the count before the increment on every database (MySQL applies SET
    # clauses left to right, others all at once).
    admit = (
        f"UPDATE {event} SET lock_at = CASE "  # noqa: S608
        "WHEN participant_count + 1 >= target_participants THEN %s ELSE lock_at END, "
        "participant_count = participant_count + 1, entry_seq = entry_seq + 1 "
        f"WHERE id = %s AND status + 0 = {Event.Status.INIT} AND lock_at > %s "
        "AND (target_participants IS NULL OR participant_count < target_participants) "
        "AND rules_version = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {excluded} WHERE event_id = %s AND user_key = %s)"
    )
    # Inserts only if the UPDATE just before it, in the same transaction, admitted the entrant.
    admitted = "WHERE changes() = 1" if vendor == "sqlite" else "FROM DUAL WHERE ROW_COUNT() = 1"
    insert = (
        f"INSERT INTO {entry} ({', '.join(INSERT_COLUMNS)}) "  # noqa: S608
        f"SELECT %s, %s, %s, %s, %s, %s {admitted}"
    )
    return admit, insert
