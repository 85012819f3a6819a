"""``manage.py backup DIRECTORY``: the database and the uploaded pictures, as the runbook says.

docs/operations.md, "Backup and restore". Run daily by deploy/systemd/lottery-backup.timer. It
writes, with one UTC stamp:

- ``lottery-<stamp>.sql.gz``: ``mariadb-dump`` of the database with one consistent snapshot,
  taken while the service runs, checked to have ended with ``-- Dump completed``;
- ``lottery-<stamp>-media.tar``: the folder of uploaded pictures, taken *after* the dump, so every
  picture the dump refers to is in it (a later one is merely unused); with pictures in a bucket
  (MEDIA_S3_BUCKET) there is none: the bucket is their backup.

Each file appears under its final name only once complete, readable by its owner only (the dump
holds every undrawn event's secret seed). ``--keep-days`` removes older backups of this kind.
"""

import gzip
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lottery_site.media import media_storage

# The runbook's options: one InnoDB snapshot without locks (the API keeps going), rows streamed,
# binary seeds and digests exact.
DUMP_OPTIONS = [
    "--single-transaction",
    "--quick",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--default-character-set=utf8mb4",
]
STAMP = "%Y%m%dT%H%M%SZ"
PREFIX = "lottery-"
CHUNK = 1 << 20


class Command(BaseCommand):
    help = "Back up the database (mariadb-dump) and the uploaded pictures into DIRECTORY."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="e.g. /var/backups/lottery")
        parser.add_argument(
            "--keep-days",
            type=int,
            default=0,
            help="remove this command's backups older than this many days (0: keep all)",
        )

    def handle(self, *args, directory: Path, keep_days: int, **options):
        if not directory.is_dir():
            raise CommandError(
                f"{directory} does not exist. Create it for the service's user, e.g. with "
                "deploy/systemd/lottery.tmpfiles (docs/operations.md, 'Installing a machine')."
            )
        now = timezone.now()
        stamp = now.strftime(STAMP)
        dump = directory / f"{PREFIX}{stamp}.sql.gz"
        write_atomically(dump, lambda out: dump_database(out))
        self.stdout.write(f"database: {dump} ({dump.stat().st_size} bytes)")

        storage = media_storage()
        if isinstance(storage, FileSystemStorage):
            pictures = directory / f"{PREFIX}{stamp}-media.tar"
            write_atomically(pictures, lambda out: archive_folder(Path(storage.location), out))
            self.stdout.write(f"pictures: {pictures} ({pictures.stat().st_size} bytes)")
        else:
            self.stdout.write(
                f"pictures: in the bucket {settings.MEDIA_S3_BUCKET!r}, which is their backup "
                "(keep its versioning on): nothing to copy here"
            )
        for old in expired(directory, now=now, keep_days=keep_days):
            old.unlink()
            self.stdout.write(f"removed {old} (older than {keep_days} days)")


def write_atomically(path: Path, write) -> None:
    """``write(binary file)`` into ``path``.partial (owner-only), then rename it to ``path``."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def dump_database(out) -> None:
    """mariadb-dump of the default database, gzipped into ``out``; fails unless it completed."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.mysql":
        raise CommandError("backup dumps MariaDB/MySQL only (DATABASE_URL=mysql://...)")
    client = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    if client is None:
        raise CommandError("mariadb-dump is not installed (Debian: apt-get install mariadb-client)")
    # The password goes in a file only we can read, never on a command line others can list.
    with tempfile.NamedTemporaryFile("w", prefix="lottery-dump-", suffix=".cnf") as options:
        options.write(client_options(database))
        options.flush()
        command = [client, f"--defaults-extra-file={options.name}", *DUMP_OPTIONS]
        dumper = subprocess.Popen([*command, database["NAME"]], stdout=subprocess.PIPE)  # noqa: S603
        tail = b""
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as compressed:
            while chunk := dumper.stdout.read(CHUNK):
                compressed.write(chunk)
                tail = (tail + chunk)[-256:]
        if dumper.wait() != 0:
            raise CommandError(f"mariadb-dump failed with exit status {dumper.returncode}")
    if b"-- Dump completed" not in tail:
        raise CommandError("the dump did not end with '-- Dump completed'")


def client_options(database: dict) -> str:
    lines = ["[client]", f"user={database['USER']}", f"host={database['HOST'] or '127.0.0.1'}"]
    if database["PORT"]:
        lines.append(f"port={database['PORT']}")
    if database["PASSWORD"]:
        lines.append(f"password={database['PASSWORD']}")
    return "\n".join(lines) + "\n"


def archive_folder(folder: Path, out) -> None:
    """Every file under ``folder`` into an uncompressed tar (pictures are compressed already),
    with names relative to it: ``tar -C MEDIA_ROOT -xf`` puts them back."""
    with tarfile.open(fileobj=out, mode="w|") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)


def expired(directory: Path, *, now: datetime, keep_days: int) -> list[Path]:
    """This command's backups in ``directory`` stamped more than ``keep_days`` before ``now``."""
    if keep_days <= 0:
        return []
    cutoff = now - timedelta(days=keep_days)
    found = []
    for path in directory.glob(f"{PREFIX}*"):
        if not path.name.endswith((".sql.gz", "-media.tar")):
            continue
        try:
            stamped = datetime.strptime(path.name[len(PREFIX) :][:16], STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue
        if stamped < cutoff:
            found.append(path)
    return found
