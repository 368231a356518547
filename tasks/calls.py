"""place_call (one row) and the feeder and call-record threads every worker runs."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

from dialer.ccc.client import CccClient
from dialer.dialing import place_one
from dialer.engine import Campaign, Engine, Job, open_engine
from dialer.errors import CampaignNotFound
from dialer.feeder import Feeder
from dialer.records import RecordsPoller
from dialer.settings import Settings

log = logging.getLogger(__name__)
TASK = "dialer.place_call"


class WorkerContext:
    """Per-process objects: one Redis pool, one HTTP session, the campaign settings cache,
    and the background threads."""

    def __init__(self, settings: Settings) -> None:
        # A thread woken for its slot waits for the GIL up to the switch interval (5 ms by
        # default) before its request leaves; that delay is pacing jitter. 1 ms keeps it
        # well inside the pacing margin.
        sys.setswitchinterval(0.001)
        self.settings = settings
        self.engine: Engine = open_engine(settings)
        self.ccc = CccClient.from_settings(settings)
        self._campaigns: dict[str, Campaign] = {}
        self._lock = threading.Lock()
        self._stops: list[threading.Event] = []

    def campaign(self, cid: str) -> Campaign:
        # Settings are fixed at upload; status changes are checked inside the row scripts,
        # so a cached copy costs no correctness and saves a round trip per call.
        with self._lock:
            if cid not in self._campaigns:
                self._campaigns[cid] = self.engine.store.campaign(cid)
            return self._campaigns[cid]

    def start_threads(self, enqueue: Any) -> None:
        """The feeder and the call-record poller; per campaign, leases pick one leader."""
        with self._lock:
            if self._stops or not self.settings.run_feeder:
                return
            feeder = Feeder(self.engine, enqueue, retention_days=self.settings.retention_days)
            _thread, feeder_stop = feeder.start_thread()
            records_stop = RecordsPoller(
                self.engine, self.ccc, qps=self.settings.records_qps,
                max_qps=self.settings.max_qps,
            ).start_thread()  # fmt: skip
            self._stops += [feeder_stop, records_stop]
        log.info("feeder and call-record poller started")

    def stop_threads(self) -> None:
        with self._lock:
            while self._stops:
                self._stops.pop().set()


def context(app: Celery) -> WorkerContext:
    """The app's per-process context, built on first use (by a task or a worker starting)."""
    make: Any = getattr(app, "dialer_context", None)
    if make is None:
        raise RuntimeError("the app was not made by tasks.app.make_app")
    return make()


def enqueue(app: Celery, jobs: list[Job]) -> None:
    """Publish one feeder tick's rows in one Redis pipeline (a round trip per row was the
    feeder's main cost). argsrepr keeps the packed row, phone numbers and all, out of
    Celery's logs."""
    task = app.tasks[TASK]
    with app.producer_or_acquire() as producer, producer.batch():
        for job in jobs:
            task.apply_async(
                args=(job.campaign_id, job.broker, job.packed, job.token, job.slot_ms, job.agent),
                task_id=f"{job.campaign_id}:{job.row}:{job.token}",
                producer=producer,
                argsrepr=f"(campaign {job.campaign_id}, row {job.row})",
                kwargsrepr="{}",
            )


def register(app: Celery, settings: Settings) -> None:
    """Give `app` the place_call task, its per-process context (built on first use), and the
    background threads of a worker started for it."""
    lazy: list[WorkerContext] = []
    lock = threading.Lock()

    def ctx() -> WorkerContext:
        with lock:
            if not lazy:
                lazy.append(WorkerContext(settings))
            return lazy[0]

    app.dialer_context = ctx  # type: ignore[attr-defined]

    @app.task(name=TASK)
    def place_call(campaign_id: str, broker: str, packed: str, token: str,
                   slot_ms: int = 0, agent: str = "") -> str:  # fmt: skip
        c = ctx()
        job = Job(campaign_id, broker, packed, token, slot_ms, agent)
        try:
            campaign = c.campaign(campaign_id)
        except CampaignNotFound:  # deleted (`dialer delete`, retention) after it was queued
            log.info("campaign %s no longer exists: row %s not dialled", campaign_id, job.row)
            return "no_campaign"
        return place_one(c.engine, c.ccc, campaign, job,
                         enqueue=lambda jobs: enqueue(app, jobs))  # fmt: skip

    def started(sender: Any = None, **_: object) -> None:
        if getattr(sender, "app", None) is app:
            start_threads(app)

    def stopping(sender: Any = None, **_: object) -> None:
        if lazy:
            lazy[0].stop_threads()

    worker_ready.connect(started, weak=False)
    worker_shutting_down.connect(stopping, weak=False)


def start_threads(app: Celery) -> None:
    context(app).start_threads(lambda jobs: enqueue(app, jobs))


def stop_threads(app: Celery) -> None:
    context(app).stop_threads()
