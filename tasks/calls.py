"""place_call (one row) and the background threads every worker runs: the feeder, the
call-record poller and the monitor (heartbeat, CCC probes, watchdog)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

from dialer.agents import open_agents
from dialer.ccc.client import CccClient
from dialer.engine import Campaign, Engine, Job, open_engine
from dialer.errors import CampaignNotFound, CccError, StoreError, WorkerFatal
from dialer.records.poller import RecordsPoller
from dialer.settings import Settings
from dialer.worker.dialing import place_one
from dialer.worker.failover import Journal
from dialer.worker.feeder import Feeder
from dialer.worker.monitor import Breaker, Identity, Monitor, WorkerHealth

log = logging.getLogger(__name__)
TASK = "dialer.place_call"
EXIT_STALLED = 70  # EX_SOFTWARE: a supervisor restarts the worker


class WorkerContext:
    """Per-process objects: one Redis pool, one HTTP session, the campaign settings cache,
    this worker's health, and the background threads."""

    def __init__(self, settings: Settings, queue: str) -> None:
        # A thread woken for its slot waits for the GIL up to the switch interval (5 ms by
        # default) before its request leaves; that delay is pacing jitter. 1 ms keeps it
        # well inside the pacing margin.
        sys.setswitchinterval(0.001)
        self.settings = settings
        self.queue = queue
        self.engine: Engine = open_engine(settings)
        self.agents = open_agents(settings)
        self.health = WorkerHealth()
        self.breaker = Breaker(self.engine, settings.ccc_endpoint)
        self.ccc = CccClient.from_settings(settings)
        self.ccc.on_error = self._ccc_error
        self.consumer: Any = None  # Celery's consumer, once the worker is ready
        self._campaigns: dict[str, Campaign] = {}
        self._lock = threading.Lock()
        self._stops: list[threading.Event] = []
        self._records_stop: threading.Event | None = None
        self.health.on_change(self._health_changed)
        self.journal = Journal()
        self.feeder: Feeder | None = None

    def campaign(self, cid: str) -> Campaign:
        # Settings are fixed at upload; status changes are checked inside the row scripts,
        # so a cached copy costs no correctness and saves a round trip per call.
        with self._lock:
            if cid not in self._campaigns:
                self._campaigns[cid] = self.engine.store.campaign(cid)
            return self._campaigns[cid]

    def place(self, job: Job, enqueue: Any) -> str:
        try:
            campaign = self.campaign(job.campaign_id)
        except CampaignNotFound:  # deleted (`dialer delete`, retention) after it was queued
            log.info("campaign %s no longer exists: row %s not dialled", job.campaign_id, job.row)
            return "no_campaign"
        with self.health.task():
            try:
                return place_one(
                    self.engine,
                    self.ccc,
                    campaign,
                    job,
                    enqueue=enqueue,
                    breaker=self.breaker,
                    health=self.health,
                    journal=self.journal,
                )
            except StoreError as exc:
                # Redis went away under the task (a failover, the demo stopping): the row is
                # left as it is, and its lease sweeps it back (QUEUED) or UNKNOWN (DIALING),
                # never dialled twice. A warning, not a traceback.
                log.warning(
                    "row %s of %s left to the lease sweep: %s", job.row, job.campaign_id, exc
                )
                return "redis_unavailable"

    def start_threads(
        self, enqueue: Any, *, name: str, consumer: Any = None, concurrency: int = 0
    ) -> None:
        """The monitor, and (unless DIALER_FEEDER=0) the feeder and the call-record poller;
        per campaign, leases pick one leader. With Celery's `consumer`, the worker stops
        consuming while it is unhealthy, and the monitor's watchdog ends the process if it
        stops consuming while calls wait for it."""
        with self._lock:
            if self._stops:
                return
            self.consumer = consumer
            self.health.concurrency = concurrency
            monitor = Monitor(
                self.engine,
                self.ccc,
                self.health,
                self.breaker,
                Identity(name=name, queues=(self.queue,)),
                probe_instance=self.settings.instance_id or "ccc-probe",
                consuming=lambda: self.consumer is not None and self.health.healthy,
                backlog=lambda: self.engine.health.celery_backlog(self.queue),
                on_stall=lambda: os._exit(EXIT_STALLED),
                on_failover=self.repair,
            )
            self._stops.append(monitor.stop)
        # Before any call: a worker whose key or clock CCC refuses takes none.
        monitor.check_credentials()
        monitor.start_thread()
        if self.settings.run_feeder:
            feeder = Feeder(
                self.engine,
                enqueue,
                breaker=self.breaker,
                retention_days=self.settings.retention_days,
            )
            _thread, feeder_stop = feeder.start_thread()
            upkeep = self.agents.upkeep()
            upkeep.start_thread()
            with self._lock:
                self._stops.extend((feeder_stop, upkeep.stop))
                self.feeder = feeder
        self._records(self.health.healthy)
        log.info(
            "worker %s: monitor%s started",
            name,
            ", feeder and call-record poller" if self.settings.run_feeder else "",
        )

    def repair(self) -> None:
        """Redis failed over (the monitor noticed): see dialer.worker.failover."""
        with self._lock:
            self._campaigns.clear()
            feeder = self.feeder
        if feeder is not None:
            feeder.forget()
        restored = self.journal.replay()
        log.warning("failover repaired: %d finished call(s) written again", restored)

    def _records(self, run: bool) -> None:
        """The call-record poller runs only while CCC accepts this worker's key: lookups
        with a refused key would use up the lookups' tries."""
        with self._lock:
            if run and self._records_stop is None and self.settings.run_feeder and self._stops:
                self._records_stop = RecordsPoller(
                    self.engine,
                    self.ccc,
                    qps=self.settings.records_qps,
                    max_qps=self.settings.max_qps,
                    on_agent_break=self.agents.missed_rings,
                ).start_thread()
            elif not run and self._records_stop is not None:
                self._records_stop.set()
                self._records_stop = None

    def _ccc_error(self, exc: CccError) -> None:
        if isinstance(exc, WorkerFatal):
            self.health.rejected(exc)

    def _health_changed(self, healthy: bool) -> None:
        consumer = self.consumer
        if consumer is not None:
            change = consumer.add_task_queue if healthy else consumer.cancel_task_queue
            consumer.call_soon(change, self.queue)
        self._records(healthy)

    def stop_threads(self) -> None:
        with self._lock:
            while self._stops:
                self._stops.pop().set()
        self._records(False)


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
                lazy.append(WorkerContext(settings, app.conf.task_default_queue))
            return lazy[0]

    app.dialer_context = ctx

    @app.task(name=TASK)
    def place_call(
        campaign_id: str, broker: str, packed: str, token: str, slot_ms: int = 0, agent: str = ""
    ) -> str:
        job = Job(campaign_id, broker, packed, token, slot_ms, agent)
        return ctx().place(job, lambda jobs: enqueue(app, jobs))

    calls_queue = app.conf.task_default_queue

    def started(sender: Any = None, **_: object) -> None:
        if getattr(sender, "app", None) is app:
            if calls_queue not in sender.app.amqp.queues.consume_from:
                # Started with -Q for webhook deliveries only: it takes no call, so it leads
                # no feeder and its watchdog must not wait for calls it never takes.
                log.info("worker %s takes no calls: no feeder, poller or monitor", sender.hostname)
                return
            controller = getattr(sender, "controller", None)
            context(app).start_threads(
                lambda jobs: enqueue(app, jobs),
                name=str(sender.hostname),
                consumer=sender,
                concurrency=int(getattr(controller, "concurrency", 0) or 0),
            )

    def stopping(sender: Any = None, **_: object) -> None:
        if lazy:
            lazy[0].stop_threads()

    worker_ready.connect(started, weak=False)
    worker_shutting_down.connect(stopping, weak=False)


def start_threads(app: Celery, *, name: str, concurrency: int = 0) -> None:
    """The background threads of a worker not started by `celery worker` (dialer run)."""
    context(app).start_threads(lambda jobs: enqueue(app, jobs), name=name, concurrency=concurrency)


def stop_threads(app: Celery) -> None:
    context(app).stop_threads()
