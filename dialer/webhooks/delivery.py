"""Delivery attempts: POST each event's body, signed, to its endpoint, and record what came
back. Runs beside the calls, never in their place: the Celery task only hands its batch of
deliveries to this process's pool of delivery threads (see tasks/webhooks.py)."""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from dialer.engine.events import GLOBAL, Delivery, EndpointState, EventStore, WebhookEndpoint
from dialer.errors import StoreError
from dialer.settings import Settings
from dialer.webhooks import policy, signing
from dialer.webhooks.endpoints import global_endpoint

log = logging.getLogger(__name__)
BUSY_DELAY_MS = 1000
THREADS = 16  # per process: 16 receivers answering in 50 ms take 320 deliveries/s
QUEUED_PER_THREAD = 4  # deliveries taken beyond the threads, waiting for one


def pooled_session(connections: int) -> requests.Session:
    """One session per process, its connection pool as large as the delivery threads (the
    default keeps 10 per host: more threads to one receiver would reconnect every time).
    No retries of its own: a failed attempt is retried with backoff (WEBHOOK_ATTEMPT)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=16, pool_maxsize=connections, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def describe(exc: requests.RequestException) -> str:
    """An error text for the delivery log: the kind of failure, never the URL (its query may
    carry a token) nor anything of the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


class Deliverer:
    def __init__(
        self,
        events: EventStore,
        settings: Settings,
        *,
        threads: int = THREADS,
        session: requests.Session | None = None,
    ) -> None:
        self.events = events
        self.settings = settings
        self.retry = policy.retry_policy(settings)
        self.timeout = (settings.webhook_connect_timeout_s, settings.webhook_read_timeout_s)
        self.session = session or pooled_session(threads)
        self.global_endpoint = global_endpoint(settings)
        self._endpoints: dict[tuple[str, str], WebhookEndpoint | None] = {}
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook")
        self._room = threading.BoundedSemaphore(threads * QUEUED_PER_THREAD)

    def submit(self, ds: list[Delivery]) -> int:
        """Deliver in the background, each on its own thread; returns how many were taken.
        Those this process has no room for (its threads all wait on slow receivers) are due
        again shortly."""
        taken = 0
        while taken < len(ds) and self._room.acquire(blocking=False):
            taken += 1
        if taken < len(ds):
            self.events.postpone(ds[taken:], delay_ms=BUSY_DELAY_MS)
        if not taken:
            return 0
        mine = ds[:taken]
        try:
            prepared = self.events.prepare(mine)
        except BaseException:  # Redis away: the lease brings these deliveries back
            for _ in mine:
                self._room.release()
            raise
        for d, (body, state) in zip(mine, prepared, strict=True):
            self._pool.submit(self._run, d, body, state)
        return taken

    def _run(self, d: Delivery, body: bytes | None, state: EndpointState) -> None:
        try:
            self.deliver(d, body, state)
        except StoreError as exc:  # Redis away: the lease brings the delivery back
            log.warning("webhook delivery %s: Redis unavailable (%s)", d.event_id, exc)
        except Exception:  # the lease brings the delivery back
            log.exception("webhook delivery %s to endpoint %s failed", d.event_id, d.endpoint)
        finally:
            self._room.release()

    def endpoint(self, d: Delivery) -> WebhookEndpoint | None:
        if d.endpoint == GLOBAL:
            return self.global_endpoint
        key = (d.campaign, d.endpoint)
        if key not in self._endpoints:
            found = [e for e in self.events.endpoints(d.campaign) if e.id == d.endpoint]
            self._endpoints[key] = found[0] if found else None
        return self._endpoints[key]

    def deliver(self, d: Delivery, body: bytes | None, state: EndpointState) -> str:
        """One attempt of the event's `body` (None: no longer kept) to an endpoint in `state`;
        returns the delivery's state after it."""
        endpoint = self.endpoint(d)
        if endpoint is None or state.disabled or body is None:
            why = "endpoint disabled" if state.disabled else "endpoint or event no longer kept"
            return self._record(d, policy.HELD, 0, 0, why)
        timestamp = int(time.time())  # the receiver checks it against its own clock
        headers = signing.headers(endpoint.secrets, d.event_id, timestamp, body)
        headers.update({"content-type": "application/json", "user-agent": "b2b-dialer"})
        started = time.perf_counter()
        try:
            resp = self.session.post(
                endpoint.url,
                data=body,
                headers=headers,
                stream=True,
                timeout=self.timeout,
                allow_redirects=False,
            )
            status = resp.status_code
            resp.close()  # the answer's body is not read: a receiver may send anything
        except requests.RequestException as exc:
            latency = int((time.perf_counter() - started) * 1000)
            return self._record(d, policy.FAIL, 0, latency, describe(exc))
        latency = int((time.perf_counter() - started) * 1000)
        act = policy.act_for(status)
        return self._record(d, act, status, latency, "" if act == policy.OK else f"HTTP {status}")

    def _record(self, d: Delivery, act: str, status: int, latency_ms: int, error: str) -> str:
        state, disabled = self.events.record_attempt(
            d,
            act=act,
            status=status,
            latency_ms=latency_ms,
            error=error,
            jitter=random.random(),
            retry=self.retry,
        )
        if disabled:
            endpoint = self.endpoint(d)
            host = urlsplit(endpoint.url).hostname if endpoint else "?"
            log.warning(
                "webhook endpoint %s (%s) of campaign %s disabled: %s",
                d.endpoint,
                host,
                d.campaign,
                "410 Gone"
                if act == policy.GONE
                else f"{self.retry.max_failures} failures in a row",
            )
        if state == "given_up":
            log.warning(
                "webhook delivery %s to endpoint %s of campaign %s given up after %s days",
                d.event_id,
                d.endpoint,
                d.campaign,
                self.retry.max_age_ms / 86_400_000,
            )
        return state

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
