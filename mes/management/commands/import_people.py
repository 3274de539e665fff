from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mes.models import User
from mes.people_import import COLUMNS, ImportRefused, people_import

PEOPLE_DESK_PERMISSIONS = ("mes.add_user", "mes.change_user")


class Command(BaseCommand):
    help = (
        "Import a plant's people from a CSV file (columns: " + ", ".join(COLUMNS) + "; sites as codes "
        "separated by ';' or *). Every row is checked first; one bad row refuses the whole file with "
        "line numbers and reasons, and nothing is imported. Importing the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8, comma-separated, with a header row)")
        parser.add_argument("--by", required=True, metavar="USERNAME", help="who imports (in the history)")
        parser.add_argument("--reason", help='why, in the history (default "Imported from <file name>")')
        parser.add_argument("--dry-run", action="store_true", help="check the file and say what it would do")

    def handle(self, *args, file: str, by: str, reason: str | None, dry_run: bool, **options):
        importer = User.objects.filter(username=by, is_active=True).first()
        if importer is None:
            raise CommandError(f"--by: no active person has the username {by}.")
        if not importer.has_perms(PEOPLE_DESK_PERMISSIONS):
            raise CommandError(f"--by: {by} may not manage people (an administrator or a supervisor may).")
        path = Path(file)
        try:
            text = path.read_bytes().decode("utf-8-sig")  # a BOM, as spreadsheets write, is no column
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CommandError(
                f"{file}: not UTF-8 text; save it from the spreadsheet as CSV UTF-8."
            ) from None
        try:
            result = people_import(
                text=text, by=importer, reason=reason or f"Imported from {path.name}", dry_run=dry_run
            )
        except ImportRefused as refused:
            for problem in refused.problems:
                self.stderr.write(problem)
            raise CommandError(refused.message) from None
        verb = ("Would create", "would change", "would leave") if dry_run else ("Created", "changed", "left")
        self.stdout.write(
            f"{verb[0]} {len(result.created)}, {verb[1]} {len(result.changed)}, "
            f"{verb[2]} {len(result.unchanged)} unchanged."
        )
        for username, fields in result.changed.items():
            self.stdout.write(f"  {username}: {', '.join(fields)}")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
