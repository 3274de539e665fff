from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection

from mes import demo
from mes.models import Site

# What the migrations wrote stays: the roles (groups and their permissions), the content types
# they point at and the migration record itself.
KEPT_TABLES = {
    "auth_group",
    "auth_group_permissions",
    "auth_permission",
    "django_content_type",
    "django_migrations",
}


class Command(BaseCommand):
    help = "Seed the demo plant: sites, lines, workstations, shifts, users of every role and history."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when the database has no plant yet; always print the logins.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=(
                "Start the demo plant over: delete every row, then seed. Refused on a database "
                "that holds a site the demo does not have."
            ),
        )

    def handle(self, *args, if_empty=False, reset=False, verbosity=1, **options):
        if reset:
            self._reset()
        if if_empty and not reset and Site.objects.exists():
            self.stdout.write("The database already holds a plant; not seeding.")
        else:
            for name, seeder in demo.seeders():
                self.stdout.write(f"Seeding {name}...")
                seeder(lambda msg: self.stdout.write(f"  + {msg}") if verbosity > 1 else None)
            self.stdout.write(self.style.SUCCESS("Demo plant ready."))
        self.stdout.write(
            "\nDemo logins (desk: username / password; tablet: badge / PIN; the sites they see):"
        )
        for login in demo.DEMO_LOGINS:
            tablet = f"badge {login.badge} / PIN {login.pin}" if login.badge else ""
            sites = "every site" if login.plant_wide else login.site
            self.stdout.write(
                f"  {login.role:<10} {login.username:<11} / {login.password:<16}   {tablet:<24} {sites}"
            )

    def _reset(self) -> None:
        """Empty every table but the roles the migrations made (TRUNCATE on PostgreSQL, which the
        append-only triggers of the ledger, signatures and seals leave alone: they guard a live
        plant's rows against UPDATE and DELETE), so the seeders start from nothing. A plant's own
        data is never wiped by a demo command: a site the demo does not have refuses the reset
        before anything is deleted."""
        foreign = sorted(Site.objects.exclude(code__in=demo.SITES).values_list("code", flat=True))
        if foreign:
            raise CommandError(
                f"Not resetting: this database holds sites the demo does not have ({', '.join(foreign)}). "
                "--reset only starts a demo plant over."
            )
        self.stdout.write("Deleting the demo plant's data...")
        tables = [
            t
            for t in connection.introspection.django_table_names(include_views=False)
            if t not in KEPT_TABLES
        ]
        if connection.vendor == "postgresql":
            # TRUNCATE refuses a table with deferred constraint checks still pending in this
            # transaction (rows written earlier in it, as when a caller wraps the reset): check them now.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables, reset_sequences=True))
