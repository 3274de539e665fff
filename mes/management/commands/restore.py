from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mes import backup


class Command(BaseCommand):
    help = (
        "Load a backup made by `manage.py backup` into the empty database DATABASE_URL names, then verify "
        "the audit trail over the restored history. A database with any table is refused, untouched; a "
        "backup whose sealed history was changed fails the restore and leaves the database empty."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the backup file")
        parser.add_argument(
            "--keep-broken",
            action="store_true",
            help="when the audit trail does not verify, keep the restored rows for inspection (the command still fails)",
        )

    def handle(self, *args, file, keep_broken=False, **options):
        try:
            restored = backup.restore(file, keep_broken=keep_broken)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        verification = restored.verification
        if not verification.ok:
            self.stderr.write(self.style.ERROR("Audit trail BROKEN in the restored database:"))
            self.stderr.write(str(verification.problem))
            left = (
                "kept for inspection: do not run the plant on it" if restored.kept_broken else "emptied again"
            )
            raise CommandError(
                f"restore refused: the audit trail fails at seal {verification.problem.seal}; database {left}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {restored.tables} tables from {file}; audit trail OK: {verification.seals} seals over "
                f"{verification.rows} history rows."
            )
        )
