from django.core.management.base import BaseCommand

from workorders import services


class Command(BaseCommand):
    help = "Recompute operation and order counters, statuses and downtime from the production ledger."

    def add_arguments(self, parser):
        parser.add_argument(
            "--work-order",
            type=int,
            action="append",
            dest="work_order_ids",
            help="Only this order (by id); repeat for several. Default: every order.",
        )

    def handle(self, *args, work_order_ids=None, **options):
        rebuilt = services.rebuild_projections(work_order_ids=work_order_ids)
        self.stdout.write(
            self.style.SUCCESS(f"Rebuilt the projections of {rebuilt} work orders from the ledger.")
        )
