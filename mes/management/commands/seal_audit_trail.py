import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from mes import seal


class Command(BaseCommand):
    help = (
        "Seal every history row no seal covers yet into the audit trail's hash chain; with --every, "
        "keep sealing at that interval (the embedded mode's stand-in for Celery beat)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=float, default=0, metavar="SECONDS", help="seal again every SECONDS until stopped"
        )

    def handle(self, *args, every: float = 0, **options):
        self._seal_once()
        while every > 0:
            time.sleep(every)
            close_old_connections()
            try:
                self._seal_once()
            except Exception as exc:  # a locked database or a restart: the next round seals it
                self.stderr.write(f"sealing failed, trying again in {every:g} s: {exc}")

    def _seal_once(self) -> None:
        seals = seal.seal_audit_trail(trigger=seal.Trigger.COMMAND)
        if not seals:
            self.stdout.write("Nothing new to seal.")
            return
        rows = sum(s.row_count for s in seals)
        self.stdout.write(
            self.style.SUCCESS(
                f"Sealed {rows} history rows in {len(seals)} seal(s), up to seal {seals[-1].number} "
                f"(hash {seals[-1].hash})."
            ),
        )
