from django.core.management.base import BaseCommand, CommandError

from mes import seal


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain and recompute every seal from the history rows it covers, "
        "then check the records sealed by their own signature (a released production record). "
        "Exits non-zero at the first broken seal of the chain, naming it and its rows, or when a "
        "sealed record no longer matches what was signed."
    )

    def handle(self, *args, verbosity=1, **options):
        result = seal.seal_verify()
        if not result.ok:
            self.stderr.write(self.style.ERROR("Audit trail BROKEN:"))
            self.stderr.write(str(result.problem))
            raise CommandError(f"audit trail verification failed at seal {result.problem.seal}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit trail OK: {result.seals} seals, {result.rows} history rows in "
                f"{len(result.tables)} tables; last seal hash {result.last_hash}."
            )
        )
        if verbosity > 1:
            for table, count in sorted(result.tables.items()):
                self.stdout.write(f"  {table}: {count} rows sealed")
        if result.unsealed:
            self.stdout.write(
                f"{sum(result.unsealed.values())} newer history rows are not sealed yet "
                "(the next seal covers them): "
                + ", ".join(f"{t} {n}" for t, n in sorted(result.unsealed.items()))
            )
        if result.broken_seals:
            self.stderr.write(self.style.ERROR(f"{len(result.broken_seals)} sealed records BROKEN:"))
            for broken in result.broken_seals:
                self.stderr.write(f"  broken seal: {broken}")
            raise CommandError(f"{len(result.broken_seals)} sealed records no longer match what was signed")
