"""`manage.py fake_erp [--port 8001]`: serve the fake ERP until interrupted (see integration.fake_erp)."""

from django.core.management.base import BaseCommand

from integration.fake_erp import make_server


class Command(BaseCommand):
    requires_system_checks = []
    help = "Serve the fake ERP (accepts JSON and B2MML messages, applies each key once, injects faults)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--seed", type=int, default=None, help="Seed of the fault dice, for repeatable runs."
        )

    def handle(self, *args, host, port, seed, **options):
        server = make_server(host, port, seed)
        self.stdout.write(f"Fake ERP listening on http://{host}:{port}/ (JSON: /messages, B2MML: /b2mml)")
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
