"""Subscribe to the machines' topics and turn their messages into production service calls.

paho's network thread only queues messages; one worker thread takes them in small batches,
applies them (consecutive counts of one workstation become one service call) and only then
acknowledges them to the broker (QoS 1, manual acks): a message that was not applied is
delivered again after a reconnect, and the services' idempotency makes that count once.
A malformed payload or an unknown workstation is logged and counted, never raised; a database
outage retries the batch; a broker restart is met by paho's reconnect and a new subscription.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from itertools import groupby

import paho.mqtt.client as mqtt
from django.db import DatabaseError, close_old_connections

from integration.mqtt.payloads import (
    AlarmMessage,
    BadMessage,
    CountMessage,
    StateMessage,
    Topic,
    broker_address,
    parse_payload,
    parse_topic,
)
from mes import metrics
from mes.errors import MesError
from mes.models import Workstation
from workorders.services.andon import andon_raise, andon_resolve_machine
from workorders.services.machine import (
    CountSample,
    machine_counts_record,
    machine_key,
    machine_state_record,
    machine_user,
)

logger = logging.getLogger("integration.mqtt")

SUBSCRIPTION = "mes/+/+/+/+"
UNKNOWN_TTL = 30.0  # seconds an unknown workstation is remembered as unknown


class Ingestor:
    def __init__(
        self, url: str, *, client_id: str = "mes-ingest", batch_max: int = 500, batch_wait: float = 0.05
    ):
        self.host, self.port, username, password = broker_address(url)
        self.batch_max, self.batch_wait = batch_max, batch_wait
        self.stats: Counter[str] = Counter()
        self.connected = threading.Event()
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._stations: dict[tuple[str, str, str], tuple[int | None, float]] = {}
        self._user = None
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,  # the broker keeps our subscription and QoS 1 messages while we are away
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)

    # --- paho callbacks (network thread) -------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.stats["connect_refused"] += 1
            logger.warning("MQTT broker refused the connection: %s", reason_code)
            return
        self.stats["connects"] += 1
        client.subscribe(SUBSCRIPTION, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        # Ready only once the broker has confirmed the subscription.
        self.connected.set()
        logger.info("MQTT connected to %s:%s, subscribed to %s", self.host, self.port, SUBSCRIPTION)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self.stats["disconnects"] += 1
        if self._stop.is_set():  # our own disconnect at a stop: nothing to reconnect
            logger.info("MQTT disconnected (%s)", reason_code)
        else:
            logger.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        self.stats["received"] += 1
        self._queue.put(message)

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Ingestor:
        self.client.connect_async(self.host, self.port, keepalive=10)
        self.client.loop_start()
        self._worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._worker.join(10)
        self.client.disconnect()
        self.client.loop_stop()

    # --- the worker -----------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + self.batch_wait
            while len(batch) < self.batch_max:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            while not self._stop.is_set():
                try:
                    self.process(batch)
                    break
                except DatabaseError:
                    self.stats["database_retries"] += 1
                    logger.exception("database error while applying MQTT messages; retrying the batch")
                    close_old_connections()
                    time.sleep(1)
            for message in batch:
                if message.qos > 0:
                    self.client.ack(message.mid, message.qos)
            close_old_connections()

    def station(self, topic: Topic) -> int | None:
        found = self._stations.get(topic.station_key)
        if found is not None and (found[0] is not None or time.monotonic() - found[1] < UNKNOWN_TTL):
            return found[0]
        pk = (
            Workstation.objects.filter(
                line__site__code=topic.site, line__code=topic.line, code=topic.workstation, active=True
            )
            .values_list("pk", flat=True)
            .first()
        )
        self._stations[topic.station_key] = (pk, time.monotonic())
        return pk

    def user(self):
        if self._user is None:
            self._user = machine_user()
        return self._user

    def process(self, batch: list) -> None:
        """Apply a batch of MQTT messages; raises only DatabaseError (the batch is then retried,
        which the services' idempotency makes safe)."""
        parsed: list[tuple[int, object]] = []
        for raw in batch:
            try:
                topic = parse_topic(raw.topic)
                message = parse_payload(topic.metric, raw.payload)
            except BadMessage as exc:
                self.stats["malformed"] += 1
                self.stats[f"malformed.{exc.reason}"] += 1
                metrics.MQTT_MESSAGES.labels(outcome="refused").inc()
                logger.warning("MQTT message on %s ignored: %s", raw.topic, exc)
                continue
            pk = self.station(topic)
            if pk is None:
                self.stats["unknown_workstation"] += 1
                metrics.MQTT_MESSAGES.labels(outcome="refused").inc()
                logger.warning("MQTT message for an unknown workstation ignored: %s", raw.topic)
                continue
            parsed.append((pk, message))
        by_station: dict[int, list] = {}
        for pk, message in parsed:
            by_station.setdefault(pk, []).append(message)
        if not by_station:
            return
        stations = Workstation.objects.select_related("line").in_bulk(list(by_station))
        for pk, messages in by_station.items():
            workstation = stations[pk]
            # Consecutive counts become one call; states and alarms keep their place between them.
            for is_count, run in groupby(messages, key=lambda m: isinstance(m, CountMessage)):
                run = list(run)
                try:
                    if is_count:
                        self._counts(workstation, run)
                    else:
                        for message in run:
                            self._other(workstation, message)
                except MesError as exc:
                    self.stats["refused"] += 1
                    metrics.MQTT_MESSAGES.labels(outcome="refused").inc(len(run))
                    logger.warning("MQTT message at %s refused: %s", workstation, exc)

    def _counts(self, workstation, messages: list[CountMessage]) -> None:
        samples = [CountSample(m.id, m.good, m.scrap, m.scrap_reason) for m in messages]
        result = machine_counts_record(workstation=workstation, samples=samples, user=self.user())
        self.stats["counts_applied"] += result.applied
        self.stats["duplicates"] += result.duplicates
        metrics.MQTT_MESSAGES.labels(outcome="recorded").inc(result.applied)
        metrics.MQTT_MESSAGES.labels(outcome="duplicate").inc(result.duplicates)
        self.stats["counter_resets"] += result.resets
        if result.unassigned:
            self.stats["counts_unassigned"] += int(result.unassigned)

    def _other(self, workstation, message) -> None:
        if isinstance(message, StateMessage):
            machine_state_record(
                workstation=workstation,
                state=message.state,
                message_id=message.id,
                user=self.user(),
                reason=message.reason,
            )
            self.stats["states_applied"] += 1
            metrics.MQTT_MESSAGES.labels(outcome="recorded").inc()
        elif isinstance(message, AlarmMessage):
            if message.active:
                andon_raise(
                    workstation=workstation,
                    user=self.user(),
                    kind=message.kind,
                    key=machine_key(workstation, "alarm", message.id),
                    note=message.text,
                    source="machine",
                )
            else:
                andon_resolve_machine(workstation=workstation, kind=message.kind, user=self.user())
            self.stats["alarms_applied"] += 1
            metrics.MQTT_MESSAGES.labels(outcome="recorded").inc()
