"""Write a trace report of a serial or lot, for scripts and auditors at a terminal.

    manage.py export_trace SN-00042 --direction backward --format pdf --output sn42.pdf

It reads as a plant-wide system user: every site's records are included. The content hash goes
to standard error, so it can be noted beside the file.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from mes.errors import MesError
from traceability.reports.registry import build_trace


class _System:
    """Who the command reads as: every site, named 'system' in the report."""

    is_superuser = True
    all_sites = True
    printed_name = "system (manage.py export_trace)"


class Command(BaseCommand):
    help = "Export the trace of a serial or lot as PDF, CSV, JSON or EPCIS 2.0 JSON-LD."

    def add_arguments(self, parser):
        parser.add_argument("code", help="The serial or lot number.")
        parser.add_argument("--direction", choices=["backward", "forward"], default="backward")
        parser.add_argument("--format", choices=["pdf", "csv", "json", "epcis"], default="pdf", dest="fmt")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, code, direction, fmt, output=None, **options):
        try:
            built = build_trace(code=code, direction=direction, fmt=fmt, user=_System())
        except MesError as exc:
            raise CommandError(exc.message) from None
        if output:
            with open(output, "wb") as f:
                f.write(built.content)
            self.stderr.write(f"wrote {output} ({len(built.content)} bytes) sha256 {built.content_hash}")
        else:
            sys.stdout.buffer.write(built.content)
            sys.stdout.flush()
            self.stderr.write(f"sha256 {built.content_hash}")
