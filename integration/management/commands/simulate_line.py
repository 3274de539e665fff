"""`manage.py simulate_line`: machine traffic for the demo lines (see `integration.mqtt.simulator`)."""

from __future__ import annotations

import random
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration.mqtt.simulator import LineSimulator, NoStations
from mes.demo import DEMO_SITE


class Command(BaseCommand):
    help = "Publish realistic machine traffic for the demo lines (or feed the services in embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("--via", choices=["auto", "mqtt", "direct"], default="auto")
        parser.add_argument("--url", default=None)
        parser.add_argument("--site", default=settings.MES_DEFAULT_SITE or DEMO_SITE)
        parser.add_argument("--speed", type=float, default=1.0, help="time factor: 10 runs ten times faster")
        parser.add_argument(
            "--seconds", type=float, default=0.0, help="stop after this long (0: run until stopped)"
        )
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, via="auto", url=None, site="", speed=1.0, seconds=0.0, seed=None, **options):
        random.seed(seed)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        simulator = LineSimulator(site=site, via=via, url=url, speed=speed, say=say)
        try:
            simulator.run(stop, seconds)
        except NoStations as exc:
            raise CommandError(str(exc)) from None
