"""`manage.py ingest_mqtt`: subscribe to the machines' MQTT topics and record what they report."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from integration.mqtt.ingestor import Ingestor
from workorders.live import broadcast


class Command(BaseCommand):
    help = "Subscribe to mes/<site>/<line>/<workstation>/state|count|alarm and record the messages."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="mqtt://host:port (default: MQTT_URL)")
        parser.add_argument("--client-id", default="mes-ingest")
        parser.add_argument("--stats-every", type=float, default=30.0, help="seconds between stats lines")

    def handle(self, *args, url=None, client_id="mes-ingest", stats_every=30.0, **options):
        url = url or settings.MQTT_URL
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        broadcast.start_publisher_thread()  # machine counts don't wait for the dashboards' deltas
        ingestor = Ingestor(url, client_id=client_id).start()
        self.stdout.write(f"ingesting MQTT from {url} (Ctrl-C stops)")
        self.stdout.flush()
        while not stop.wait(stats_every):
            self.stdout.write(f"stats {dict(sorted(ingestor.stats.items()))}")
            self.stdout.flush()
        ingestor.stop()
        broadcast.stop_publisher_thread()  # the last counts' deltas leave before the process ends
        self.stdout.write(f"stopped; stats {dict(sorted(ingestor.stats.items()))}")
