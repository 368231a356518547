"""The dispatcher: a thread every worker process runs. It reads the outbox (a consumer group:
each event to one dispatcher; one that died leaves its events to be claimed by another),
fans each event out to the endpoints whose filter matches, and hands due deliveries to the
`publish` callback (Celery tasks on their own queue; see tasks/webhooks.py). It never touches
a call: a slow or dead receiver only makes deliveries wait."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from dialer.engine.events import Delivery, EventStore, OutboxEvent, WebhookEndpoint
from dialer.errors import DialerError
from dialer.settings import Settings
from dialer.webhooks.body import event_body
from dialer.webhooks.endpoints import global_endpoint, matches

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        events: EventStore,
        settings: Settings,
        publish: Callable[[list[Delivery]], None],
        *,
        consumer: str | None = None,
        batch: int = 200,
        block_ms: int = 200,
        claim_idle_ms: int = 30_000,
    ) -> None:
        self.events = events
        self.publish = publish
        self.consumer = consumer or uuid.uuid4().hex
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.lease_ms = int(settings.webhook_lease_s * 1000)
        self.global_endpoint = global_endpoint(settings)
        # A campaign's endpoints are fixed at upload.
        self._endpoints: dict[str, list[WebhookEndpoint]] = {}

    def endpoints(self, cid: str) -> list[WebhookEndpoint]:
        if cid not in self._endpoints:
            self._endpoints[cid] = self.events.endpoints(cid)
        found = list(self._endpoints[cid])
        return [*found, self.global_endpoint] if self.global_endpoint else found

    def fan_out(self, event: OutboxEvent) -> int:
        wanted = [e.id for e in self.endpoints(event.campaign) if matches(e, event.type)]
        body = event_body(self.events, event) if wanted else b""
        return self.events.fan_out(event, body, wanted)

    def tick(self) -> tuple[int, int]:
        """(events fanned out, deliveries published) in one round."""
        read = self.events.read(
            self.consumer,
            count=self.batch,
            block_ms=self.block_ms,
            claim_idle_ms=self.claim_idle_ms,
        )
        for event in read:
            self.fan_out(event)
        due = self.events.claim_due(limit=self.batch, lease_ms=self.lease_ms)
        if due:
            self.publish(due)
        return len(read), len(due)

    def run(self, stop: threading.Event) -> None:
        self.events.ensure_group()
        while not stop.is_set():
            try:
                self.tick()
            except DialerError as exc:  # Redis away: the outbox and the due set wait for us
                log.warning("webhook dispatcher: %s", exc)
                stop.wait(1.0)
            except Exception:
                log.exception("webhook dispatcher: unexpected error")
                stop.wait(1.0)

    def start_thread(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(
            target=self.run, args=(stop,), name="webhook-dispatcher", daemon=True
        ).start()
        return stop
