"""place_one: everything that happens to one queued row in a worker."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from dialer.calendar import Calendar
from dialer.ccc.client import CccClient
from dialer.engine import Backoff, Campaign, Caps, Engine, Job, Outcome, Refusal, with_redis_retry
from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    CccError,
    PermanentCallError,
    TransientCallError,
)
from dialer.phones import mask_number

log = logging.getLogger(__name__)
BACKOFF_BASE_MS = 2_000  # a transient failure waits 2 s, 4 s, 8 s ... (the upper half, at random)
BACKOFF_CAP_MS = 60_000
MAX_SLOT_WAIT_S = 60.0


def place_one(
    engine: Engine,
    client: CccClient,
    campaign: Campaign,
    job: Job,
    *,
    enqueue: Callable[[list[Job]], None] = lambda jobs: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] | None = None,
) -> str:
    """Wait for the row's slot, claim it, call and record it; hand the rows fed into its
    place to `enqueue`. Returns what happened, for logs and tests: an Outcome value, or the
    Refusal's name when the row was not dialled.

    A message whose row is not where it expects (stale token, paused campaign) does nothing
    beyond giving the row back; a call is only sent after the row is recorded DIALING."""
    settings = campaign.settings
    calendar = Calendar.of(settings.windows, settings.timezone)
    caps = Caps.for_campaign(settings, calendar, (clock or engine.clock)())
    # Wait for the slot FEED reserved, and for the broker's previous call to be an interval
    # old (one GET): BEGIN_DIAL would refuse sooner, and every refusal is a round trip more.
    wait_ms = job.slot_ms - engine.now_ms()
    if wait_ms > 0:
        sleep(min(wait_ms / 1000.0, MAX_SLOT_WAIT_S))
    interval = engine.store.interval_ms(settings, job.broker)
    max_hold = settings.caller_max_hold_s if settings.caller_pacing else 0.0
    early_ms = engine.ms_until_broker_free(job.broker, interval)
    if 0 < early_ms <= interval:
        sleep(early_ms / 1000.0)
    while True:
        begun = with_redis_retry(
            lambda: engine.begin_dial(job, caps, interval, caller_max_hold_s=max_hold)
        )
        if begun.refused is not Refusal.TOO_SOON:
            break
        sleep(begun.wait_ms / 1000.0)
    if begun.refused is not None:
        return begun.refused.name.lower()

    entry = job.entry
    outcome, patch, reason = Outcome.DISPATCHED, {}, ""
    try:
        result = client.start_back2back_call(
            instance_id=settings.instance_id,
            caller=job.caller,
            callee=entry.callee,
            broker=entry.broker,
            additional_broker=entry.additional_broker or None,
            timeout_seconds=entry.timeout_seconds,
            tags=entry.tags or None,
        )
        patch = {
            "job_id": result.job_id,
            "request_id": result.request_id,
            "http_status": result.http_status_code or 200,
            "error_code": "",
            "error_message": "",
        }
    except CccError as exc:
        patch = _error_patch(exc)
        if isinstance(exc, TransientCallError):
            # Waits its backoff, or FAILED once the campaign's attempts are used up.
            outcome = Outcome.RETRY_WAIT
            patch["retry_code"] = exc.code
        elif isinstance(exc, PermanentCallError):
            outcome = Outcome.FAILED
        elif isinstance(exc, BrokerUnavailable):
            outcome, reason = Outcome.BROKER_DOWN, exc.code
        elif isinstance(exc, CampaignFatal):
            outcome, reason = Outcome.CAMPAIGN_FATAL, f"{exc.code}: {exc.message}"[:300]
        else:
            # OutcomeUnknown, or a class this code doesn't know: the request may have left,
            # so never retry it blindly.
            outcome = Outcome.UNKNOWN
        if outcome in (Outcome.RETRY_WAIT, Outcome.BROKER_DOWN, Outcome.CAMPAIGN_FATAL):
            # Kept after a later success, so the report can count retries by their reason.
            patch["retry_code"] = exc.code
        log.warning(
            "row %s callee %s: %s %s -> %s",
            job.row, mask_number(entry.callee), exc.code, exc.message[:120], outcome,
        )  # fmt: skip
    retry = Backoff(BACKOFF_BASE_MS, BACKOFF_CAP_MS, 0.5 + 0.5 * random.random())
    window_open = calendar.is_open((clock or engine.clock)())
    final, fed = with_redis_retry(
        lambda: engine.finish(
            job,
            begun,
            outcome,
            patch,
            caps,
            settings=settings,
            retry=retry,
            window_open=window_open,
            reason=reason,
        )
    )
    if fed:
        enqueue(fed)
    return (final or outcome).value


def _error_patch(exc: CccError) -> dict[str, Any]:
    return {
        "error_code": exc.code,
        "error_message": exc.message[:500],
        "http_status": exc.http_status,
        "request_id": exc.request_id,
    }
