"""Backup and restore as docs/operations.md says to do it: a drawn event survives, verifiably,
and so do its pictures.

`manage.py backup` (what deploy/systemd/lottery-backup.service runs) writes the dump and the
pictures' archive; they are restored with the runbook's commands into a fresh database and a
fresh folder, and then `manage.py verify_draw` runs against the restored copy in its own
process; every table has the same rows (count and CHECKSUM TABLE) as the original, and every
picture the restored database names is there, byte for byte.
"""

import os
import shutil
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.utils import timezone

from accounts import services as account_services
from draws import services as draw_services
from events.models import Event
from events.services.entries import entry_join
from events.services.events import event_create
from lottery_site.management.commands.backup import DUMP_OPTIONS
from notifications import selectors
from notifications import services as notification_services
from tests.factories import UserFactory
from tests.pictures import jpeg_with_gps, picture

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parent.parent


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
    """An event drawn with a cover picture and a prize picture, both the creator's uploads."""
    start = timezone.now() - timedelta(hours=2)
    creator = UserFactory(nickname="备份发起人")
    cover, prize_picture = (
        account_services.upload_create(owner=creator, purpose=purpose, data=data, now=start)
        for purpose, data in [("cover", jpeg_with_gps((1600, 900))), ("prize", picture("PNG"))]
    )
    event = event_create(
        creator=creator,
        title="备份之后还能验证的抽奖 🎁",
        draw_at=start + timedelta(hours=1),
        prizes=[
            {"name": "一等奖", "quantity": 2, "image": prize_picture.public_id},
            {"name": "二等奖", "quantity": 5},
        ],
        cover=cover.public_id,
        now=start,
    )
    for user in UserFactory.create_batch(40):
        entry_join(event=event, user=user, now=start)
    event.refresh_from_db()
    assert draw_services.event_lock(event_id=event.pk, now=event.lock_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    event.refresh_from_db()
    return event


def database_url(name: str) -> str:
    db = connection.settings_dict
    return (
        f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 3306}/{name}"
    )


def manage(*args: str, database: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in its own process, as the units run it, on ``database``."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k != "MEDIA_S3_BUCKET"},
            "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
            "DATABASE_URL": database_url(database),
            **env,
        },
    )


@pytest.fixture
def media_root(tmp_path, settings):
    """The "media" storage in a folder of this test's own."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/media/"},
        },
    }
    return root


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored"
    yield name
    run_sql(f"DROP DATABASE IF EXISTS `{name}`")


def test_a_backup_restored_into_a_fresh_database_and_folder_verifies_and_lost_nothing(
    tmp_path, media_root, restored_name
):
    event = drawn_event()
    # The drawn event's log row is the notifications' outbox: fan it out, so the inbox and
    # delivery tables hold rows too.
    for log_id in selectors.outbox_pending():
        notification_services.outbox_fan_out(log_id=log_id, now=timezone.now())
    original = connection.settings_dict["NAME"]

    backups = tmp_path / "backups"
    backups.mkdir()
    made = manage("backup", str(backups), database=original, MEDIA_ROOT=str(media_root))
    assert made.returncode == 0, made.stdout + made.stderr
    [dump] = backups.glob("lottery-*.sql.gz")
    [pictures] = backups.glob("lottery-*-media.tar")
    assert pictures.name == dump.name.replace(".sql.gz", "-media.tar")  # one stamp
    for backup in (dump, pictures):
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # the seeds: the owner's only
    assert not list(backups.glob("*.partial"))

    # The runbook's restore: a fresh database, then the pictures into a fresh folder.
    run_sql(
        f"DROP DATABASE IF EXISTS `{restored_name}`; CREATE DATABASE `{restored_name}` "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    unzip = subprocess.Popen(["gunzip", "-c", str(dump)], stdout=subprocess.PIPE)
    subprocess.run(
        [tool("mariadb", "mysql"), *client_args(), restored_name], check=True, stdin=unzip.stdout
    )
    assert unzip.wait() == 0
    restored_media = tmp_path / "restored-media"
    restored_media.mkdir()
    subprocess.run(["tar", "-C", str(restored_media), "-xf", str(pictures)], check=True)

    before, after = table_fingerprints(original), table_fingerprints(restored_name)
    assert after == before
    assert before["events_entry"][0] == 40 and before["accounts_user"][0] >= 41

    verified = manage("verify_draw", event.public_id, database=restored_name)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{event.public_id}: OK, winners confirmed" in verified.stdout

    # Every picture the restored database names is back, byte for byte: the cover among them.
    named = run_sql("SELECT file FROM accounts_upload", restored_name).split()
    assert event.cover.file in named and len(named) == 2
    for name in named:
        assert (restored_media / name).read_bytes() == (media_root / name).read_bytes(), name
    restored = FileSystemStorage(location=restored_media)
    assert restored.open(event.cover.file).read()[:3] == b"\xff\xd8\xff"  # a JPEG


def test_with_pictures_in_a_bucket_the_backup_is_the_dump_and_says_so(tmp_path):
    made = manage(
        "backup",
        str(tmp_path),
        database=connection.settings_dict["NAME"],
        MEDIA_S3_BUCKET="lottery-pictures",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "bucket 'lottery-pictures', which is their backup" in made.stdout
    assert [p.name.endswith(".sql.gz") for p in tmp_path.iterdir()] == [True]


def test_backups_older_than_keep_days_are_removed_and_others_kept(tmp_path, media_root):
    old_stamp = (timezone.now() - timedelta(days=15)).strftime("%Y%m%dT%H%M%SZ")
    recent_stamp = (timezone.now() - timedelta(days=13)).strftime("%Y%m%dT%H%M%SZ")
    kept = [f"lottery-{recent_stamp}.sql.gz", f"lottery-{recent_stamp}-media.tar", "notes.txt"]
    removed = [f"lottery-{old_stamp}.sql.gz", f"lottery-{old_stamp}-media.tar"]
    backups = tmp_path / "backups"
    backups.mkdir()
    for name in kept + removed:
        (backups / name).write_bytes(b"")

    made = manage(
        "backup",
        str(backups),
        "--keep-days",
        "14",
        database=connection.settings_dict["NAME"],
        MEDIA_ROOT=str(media_root),
    )
    assert made.returncode == 0, made.stdout + made.stderr
    names = {p.name for p in backups.iterdir()}
    assert set(kept) <= names and not set(removed) & names
    assert len(names) == len(kept) + 2  # and today's two


def test_backup_into_a_missing_directory_says_how_to_create_it(tmp_path):
    made = manage("backup", str(tmp_path / "nowhere"), database=connection.settings_dict["NAME"])
    assert made.returncode != 0
    assert "does not exist" in made.stderr and "lottery.tmpfiles" in made.stderr


def test_the_runbook_shows_the_dump_options_the_backup_uses():
    runbook = (REPO / "docs" / "operations.md").read_text()
    section = runbook[runbook.index("## Backup and restore") :]
    for option in DUMP_OPTIONS:
        assert option in section, option
