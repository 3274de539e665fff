from django.core.management.base import BaseCommand

from mes import demo
from mes.models import Site


class Command(BaseCommand):
    help = "Seed the demo plant: sites, lines, workstations, shifts, users of every role and history."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when the database has no plant yet; always print the logins.",
        )

    def handle(self, *args, if_empty=False, verbosity=1, **options):
        if if_empty and Site.objects.exists():
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
