"""place_one: everything that happens to one queued row in a worker."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from dialer.calendar import Calendar
from dialer.ccc.client import CccClient
from dialer.engine import Caps, Engine, Job, with_redis_retry
from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    CccError,
    PermanentCallError,
    TransientCallError,
)
from dialer.pacing import interval_ms
from dialer.phones import mask_number
from dialer.store import Campaign

log = logging.getLogger(__name__)
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 60.0
TOO_SOON = -4
_REFUSED = {
    -1: "stale", -2: "not-running", -3: "no-slot", -5: "callee-monthly-cap", -6: "callee-daily-cap",
    -7: "pair-guard", -8: "broker-daily-cap",
}  # fmt: skip


def backoff_ms(attempt: int, rng: random.Random | None = None) -> int:
    """Exponential backoff with full jitter on the upper half: 2 s, 4 s, 8 s ... capped."""
    base = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    return int(1000 * base * (0.5 + 0.5 * (rng or random).random()))


def place_one(
    engine: Engine,
    client: CccClient,
    campaign: Campaign,
    job: Job,
    *,
    max_qps: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> str:
    """Pace, claim, call and record one row. Returns what happened, for logs and tests.

    A message whose row is not where it expects (stale token, paused campaign) does nothing
    beyond giving the row back; a call is only sent after the row is recorded DIALING."""
    timing = engine.timing
    interval = interval_ms(campaign, job.broker, timing.pace_margin_ms)
    account = 1000.0 / max_qps * 1.02 if max_qps else 0.0  # the same 2 % jitter margin
    max_wait = int(max(interval, account) * (timing.depth + 1) + timing.lookahead_ms + 1000)
    wait = with_redis_retry(lambda: engine.reserve(job, interval, account, max_wait))
    if wait < 0:
        return _REFUSED.get(wait, "skipped")
    if wait:
        sleep(wait / 1000.0)
    settings = campaign.settings
    caps = Caps.for_campaign(settings, Calendar.of(settings.windows, settings.timezone), clock())
    while True:
        attempt, wait = with_redis_retry(lambda: engine.begin_dial(job, interval, caps, account))
        if attempt != TOO_SOON:
            break
        sleep(wait / 1000.0)
    if attempt < 0:
        return _REFUSED.get(attempt, "skipped")

    entry = job.entry
    outcome, patch, delay, reason = "DISPATCHED", {}, 0, ""
    try:
        result = client.start_back2back_call(
            instance_id=campaign.settings.instance_id,
            caller=entry.caller,
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
            if attempt < campaign.settings.max_attempts:
                outcome, delay = "RETRY_WAIT", backoff_ms(attempt)
            else:
                outcome = "FAILED"
        elif isinstance(exc, PermanentCallError):
            outcome = "FAILED"
        elif isinstance(exc, BrokerUnavailable):
            outcome, reason = "BROKER_DOWN", exc.code
        elif isinstance(exc, CampaignFatal):
            outcome, reason = "CAMPAIGN_FATAL", f"{exc.code}: {exc.message}"[:300]
        else:
            # OutcomeUnknown, or a class this code doesn't know: the request may have left,
            # so never retry it blindly.
            outcome = "UNKNOWN"
        if outcome in ("RETRY_WAIT", "BROKER_DOWN", "CAMPAIGN_FATAL"):
            # Kept after a later success, so the report can count retries by their reason.
            patch["retry_code"] = exc.code
        log.warning(
            "row %s callee %s: %s %s -> %s",
            job.row, mask_number(entry.callee), exc.code, exc.message[:120], outcome,
        )  # fmt: skip
    with_redis_retry(
        lambda: engine.finish(
            job,
            outcome,
            patch,
            caps,
            retry_delay_ms=delay,
            reason=reason,
            records=settings.outcomes,
        )
    )
    return outcome


def _error_patch(exc: CccError) -> dict[str, Any]:
    return {
        "error_code": exc.code,
        "error_message": exc.message[:500],
        "http_status": exc.http_status,
        "request_id": exc.request_id,
    }
