"""Backup and restore as docs/operations.md says to do it: a drawn event survives, verifiably.

The dump is taken with the runbook's `mariadb-dump --single-transaction` options, loaded into a
fresh database, and then `manage.py verify_draw` runs against the restored copy in its own
process; every table has the same rows (count and CHECKSUM TABLE) as the original.
"""

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from draws import services as draw_services
from events import services as event_services
from events.models import Event
from notifications import selectors
from notifications import services as notification_services
from tests.factories import UserFactory

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parent.parent

# The options of the runbook's procedure (docs/operations.md, "Backup and restore").
DUMP_OPTIONS = [
    "--single-transaction",  # one consistent InnoDB snapshot, no table locks: the API keeps going
    "--quick",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",  # seeds and digests are binary columns
    "--default-character-set=utf8mb4",
]


def client_args() -> list[str]:
    db = connection.settings_dict
    args = [f"--host={db['HOST'] or '127.0.0.1'}", f"--port={db['PORT'] or 3306}"]
    args.append(f"--user={db['USER']}")
    if db["PASSWORD"]:
        args.append(f"--password={db['PASSWORD']}")
    return args


def tool(*names: str) -> str:
    found = next((shutil.which(name) for name in names if shutil.which(name)), None)
    assert found, f"none of {names} installed (Debian: mariadb-client)"
    return found


def run_sql(sql: str, database: str = "") -> str:
    command = [tool("mariadb", "mysql"), *client_args(), "--batch", "--skip-column-names"]
    return subprocess.run(
        [*command, "-e", sql, *([database] if database else [])],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def table_fingerprints(database: str) -> dict[str, tuple[int, str]]:
    """{table: (row count, CHECKSUM TABLE)} for every table of ``database``."""
    tables = run_sql("SHOW TABLES", database).split()
    # Table names come from SHOW TABLES, not from input.
    count_sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM `{t}`" for t in tables)  # noqa: S608
    counts = run_sql(count_sql, database)
    checksums = run_sql("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables), database)
    count_of = dict(line.split("\t") for line in counts.splitlines())
    checksum_of = {
        line.split("\t")[0].split(".", 1)[1]: line.split("\t")[1] for line in checksums.splitlines()
    }
    return {table: (int(count_of[table]), checksum_of[table]) for table in tables}


def drawn_event() -> Event:
    start = timezone.now() - timedelta(hours=2)
    event = event_services.event_create(
        creator=UserFactory(nickname="备份发起人"),
        title="备份之后还能验证的抽奖 🎁",
        draw_at=start + timedelta(hours=1),
        prizes=[{"name": "一等奖", "quantity": 2}, {"name": "二等奖", "quantity": 5}],
        now=start,
    )
    for user in UserFactory.create_batch(40):
        event_services.entry_join(event=event, user=user, now=start)
    event.refresh_from_db()
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    return event


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored"
    yield name
    run_sql(f"DROP DATABASE IF EXISTS `{name}`")


def test_a_dump_restored_into_a_fresh_database_still_verifies_and_lost_nothing(
    tmp_path, restored_name
):
    event = drawn_event()
    # The drawn event's log row is the notifications' outbox: fan it out, so the inbox and
    # delivery tables hold rows too.
    for log_id in selectors.outbox_pending():
        notification_services.outbox_fan_out(log_id=log_id, now=timezone.now())
    original = connection.settings_dict["NAME"]

    dump = tmp_path / "lottery.sql"
    with dump.open("wb") as out:
        subprocess.run(
            [tool("mariadb-dump", "mysqldump"), *client_args(), *DUMP_OPTIONS, original],
            check=True,
            stdout=out,
        )
    run_sql(
        f"DROP DATABASE IF EXISTS `{restored_name}`; CREATE DATABASE `{restored_name}` "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    with dump.open("rb") as source:
        subprocess.run(
            [tool("mariadb", "mysql"), *client_args(), restored_name], check=True, stdin=source
        )

    before, after = table_fingerprints(original), table_fingerprints(restored_name)
    assert after == before
    assert before["events_entry"][0] == 40 and before["accounts_user"][0] >= 41

    db = connection.settings_dict
    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_draw", event.public_id],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
            "DATABASE_URL": (
                f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}"
                f":{db['PORT'] or 3306}/{restored_name}"
            ),
        },
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{event.public_id}: OK, winners confirmed" in verified.stdout
