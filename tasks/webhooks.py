"""deliver_webhooks, on its own queue, and the dispatcher thread every worker process runs.

Each task carries a batch of due deliveries (one message for up to BATCH of them: a message
costs a worker more than a delivery does). It only hands them to the process's delivery
threads and returns, so a receiver that hangs for its whole read timeout never holds a worker
thread a call needs. What makes delivery at-least-once is the due set's lease
(dialer.engine.events), not this message: a delivery whose worker died is claimed and
published again when its lease runs out."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

from dialer.engine import connect
from dialer.engine.events import Delivery, EventStore
from dialer.engine.keys import Keys
from dialer.settings import Settings
from dialer.webhooks.delivery import Deliverer
from dialer.webhooks.dispatcher import Dispatcher

log = logging.getLogger(__name__)
TASK = "dialer.deliver_webhooks"
BATCH = 16


def webhooks_queue(settings: Settings) -> str:
    return f"{settings.namespace}.webhooks"


class WebhookContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events = EventStore(connect(settings), Keys(settings.namespace))
        self.deliverer = Deliverer(self.events, settings)
        self._stop: threading.Event | None = None
        self._lock = threading.Lock()

    def start(self, publish: Any) -> None:
        with self._lock:
            if self._stop is None:
                self._stop = Dispatcher(self.events, self.settings, publish).start_thread()

    def stop(self) -> None:
        with self._lock:
            if self._stop is not None:
                self._stop.set()
                self._stop = None


def publish(app: Celery, deliveries: list[Delivery]) -> None:
    task = app.tasks[TASK]
    with app.producer_or_acquire() as producer, producer.batch():
        for start in range(0, len(deliveries), BATCH):
            members = [d.member for d in deliveries[start : start + BATCH]]
            task.apply_async(args=(members,), producer=producer)


def register(app: Celery, settings: Settings) -> None:
    lazy: list[WebhookContext] = []
    lock = threading.Lock()

    def ctx() -> WebhookContext:
        with lock:
            if not lazy:
                lazy.append(WebhookContext(settings))
            return lazy[0]

    app.webhook_context = ctx

    @app.task(name=TASK, queue=webhooks_queue(settings))
    def deliver_webhooks(members: list[str]) -> int:
        return ctx().deliverer.submit([Delivery.of(m) for m in members])

    def started(sender: Any = None, **_: object) -> None:
        if getattr(sender, "app", None) is app:
            start_dispatcher(app)

    def stopping(sender: Any = None, **_: object) -> None:
        if lazy:
            lazy[0].stop()

    worker_ready.connect(started, weak=False)
    worker_shutting_down.connect(stopping, weak=False)


def start_dispatcher(app: Celery) -> None:
    app.webhook_context().start(lambda ds: publish(app, ds))


def stop_dispatcher(app: Celery) -> None:
    app.webhook_context().stop()
