from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mes import backup


class Command(BaseCommand):
    help = (
        "Write the whole database to one file (PostgreSQL: pg_dump's custom format; SQLite: an online "
        "copy). Restore it with `manage.py restore FILE` into an empty database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            help="the backup file to write (default: var/backups/mes-<UTC time>.dump); never overwritten",
        )

    def handle(self, *args, output=None, **options):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = output or Path(settings.VAR_DIR) / "backups" / f"mes-{stamp}.dump"
        try:
            written = backup.backup(path)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        size_mb = written.stat().st_size / 1e6
        self.stdout.write(self.style.SUCCESS(f"Backup written: {written} ({size_mb:.1f} MB)"))
