"""place_call (one row) and the feeder thread every worker runs."""

from __future__ import annotations

import functools
import logging
import sys
import threading

import redis
from celery.signals import worker_ready, worker_shutting_down

from dialer.ccc.client import CccClient
from dialer.dialing import place_one
from dialer.engine import Engine, Job
from dialer.feeder import Feeder
from dialer.keys import Keys
from dialer.records import RecordsPoller
from dialer.runtime import redis_url
from dialer.settings import Settings
from dialer.store import Campaign, CampaignStore
from tasks.app import app

log = logging.getLogger(__name__)


class WorkerContext:
    """Per-process objects: one Redis pool, one HTTP session, the campaign settings cache."""

    def __init__(self, settings: Settings) -> None:
        # A thread woken for its slot waits for the GIL up to the switch interval (5 ms by
        # default) before its request leaves; that delay is pacing jitter. 1 ms keeps it
        # well inside the pacing margin.
        sys.setswitchinterval(0.001)
        self.settings = settings
        client = redis.Redis.from_url(redis_url(settings), health_check_interval=10)
        self.engine = Engine(CampaignStore(client, Keys(settings.namespace)), settings.timing())
        self.ccc = CccClient.from_settings(settings)
        self._campaigns: dict[str, Campaign] = {}
        self._lock = threading.Lock()

    def campaign(self, cid: str) -> Campaign:
        # Settings are fixed at upload; status changes are checked inside the row scripts,
        # so a cached copy costs no correctness and saves a round trip per call.
        with self._lock:
            if cid not in self._campaigns:
                self._campaigns[cid] = self.engine.store.campaign(cid)
            return self._campaigns[cid]


@functools.cache
def context() -> WorkerContext:
    return WorkerContext(app.dialer_settings)  # type: ignore[attr-defined]


@app.task(name="dialer.place_call")
def place_call(campaign_id: str, broker: str, packed: str, token: str) -> str:
    ctx = context()
    job = Job(campaign_id, broker, packed, token)
    return place_one(
        ctx.engine, ctx.ccc, ctx.campaign(campaign_id), job, max_qps=ctx.settings.max_qps
    )


def enqueue(jobs: list[Job]) -> None:
    """Publish one feeder tick's rows in one Redis pipeline (a round trip per row was the
    feeder's main cost). argsrepr keeps the packed row, phone numbers and all, out of
    Celery's logs."""
    with app.producer_or_acquire() as producer, producer.batch():
        for job in jobs:
            place_call.apply_async(
                args=(job.campaign_id, job.broker, job.packed, job.token),
                task_id=f"{job.campaign_id}:{job.row}:{job.token}",
                producer=producer,
                argsrepr=f"(campaign {job.campaign_id}, row {job.row})",
                kwargsrepr="{}",
            )


_feeder_stop: threading.Event | None = None
_stops: list[threading.Event] = []


@worker_ready.connect
def start_feeder(**_: object) -> None:
    """Every worker process runs one feeder thread; leases pick one leader per campaign."""
    global _feeder_stop
    if _feeder_stop is not None or not context().settings.run_feeder:
        return
    ctx = context()
    _thread, _feeder_stop = Feeder(ctx.engine, enqueue).start_thread()
    records_stop = RecordsPoller(
        ctx.engine, ctx.ccc, qps=ctx.settings.records_qps, max_qps=ctx.settings.max_qps
    ).start_thread()
    _stops.append(records_stop)
    log.info("feeder and call-record poller started")


@worker_shutting_down.connect
def stop_feeder(**_: object) -> None:
    global _feeder_stop
    if _feeder_stop is not None:
        _feeder_stop.set()
        _feeder_stop = None
    while _stops:
        _stops.pop().set()
