"""GET /metrics in Prometheus text format, read from Redis at scrape time. It needs a token
(or a session) of a role allowed metrics unless DIALER_METRICS_OPEN=1 (dialer.web.access)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from dialer.web.backend import Backend, MetricsSnapshot

router = APIRouter(tags=["metrics"])


class DialerCollector(Collector):
    """Campaign gauges and call counters. Counters are per campaign, exported while the
    campaign is RUNNING or PAUSED; they only grow while it is."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.snapshot: MetricsSnapshot | None = None

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        snap = self.snapshot or self.backend.metrics()
        up = GaugeMetricFamily("dialer_redis_up", "1 when the console reaches Redis")
        up.add_metric([], 1.0 if snap.redis_up else 0.0)
        yield up
        campaigns = GaugeMetricFamily("dialer_campaigns", "Campaigns by status", labels=["status"])
        for status in ("READY", "RUNNING", "PAUSED", "CANCELLED", "DONE"):
            campaigns.add_metric([status], snap.campaigns.get(status, 0))
        yield campaigns
        rows = GaugeMetricFamily(
            "dialer_campaign_rows",
            "Rows by state of each running or paused campaign",
            labels=["campaign", "name", "state"],
        )
        for (cid, name), counts in snap.rows.items():
            for state, n in sorted(counts.items()):
                rows.add_metric([cid, name, state], n)
        yield rows
        placed = CounterMetricFamily(
            "dialer_calls_placed",
            "Calls CCC accepted (DISPATCHED), by campaign and broker",
            labels=["campaign", "broker"],
        )
        for (cid, broker), n in sorted(snap.placed.items()):
            placed.add_metric([cid, broker], n)
        yield placed
        failed = CounterMetricFamily(
            "dialer_calls_failed",
            "Rows FAILED, by campaign and error code",
            labels=["campaign", "code"],
        )
        for (cid, code), n in sorted(snap.failed.items()):
            failed.add_metric([cid, code], n)
        yield failed
        workers = GaugeMetricFamily(
            "dialer_workers_alive", "Worker processes of this namespace seen in the last 30 s"
        )
        workers.add_metric([], snap.workers)
        yield workers
        disabled = GaugeMetricFamily(
            "dialer_webhook_endpoint_disabled",
            "1 for each webhook endpoint disabled (410 Gone, or failures in a row)",
            labels=["campaign", "endpoint", "reason"],
        )
        for cid, eid, why in snap.webhooks_disabled:
            disabled.add_metric([cid, eid, why], 1)
        yield disabled
        backlog = GaugeMetricFamily(
            "dialer_webhook_backlog",
            "Events not yet fanned out (outbox) and deliveries waiting or under way (due)",
            labels=["where"],
        )
        for where, n in sorted(snap.webhook_backlog.items()):
            backlog.add_metric([where], n)
        yield backlog


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    collector = DialerCollector(backend)
    # Redis reads block: gather them off the event loop, render after.
    collector.snapshot = await run_in_threadpool(backend.metrics)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
