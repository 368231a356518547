"""place_one: everything that happens to one queued row in a worker."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from dialer.calendar import Calendar
from dialer.ccc.client import CccClient
from dialer.engine import Campaign, Caps, Engine, Job, Outcome, Refusal, with_redis_retry
from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    CccError,
    PermanentCallError,
    TransientCallError,
)
from dialer.phones import mask_number

log = logging.getLogger(__name__)
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 60.0
MAX_SLOT_WAIT_S = 60.0


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
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] | None = None,
) -> str:
    """Wait for the row's slot, claim it, call and record it. Returns what happened, for
    logs and tests: an Outcome value, or the Refusal's name when the row was not dialled.

    A message whose row is not where it expects (stale token, paused campaign) does nothing
    beyond giving the row back; a call is only sent after the row is recorded DIALING."""
    wait_s = (job.slot_ms - engine.now_ms()) / 1000.0
    if wait_s > 0:
        sleep(min(wait_s, MAX_SLOT_WAIT_S))
    settings = campaign.settings
    caps = Caps.for_campaign(settings, Calendar.of(settings.windows, settings.timezone),
                             (clock or engine.clock)())  # fmt: skip
    while True:
        begun = with_redis_retry(lambda: engine.begin_dial(job, caps))
        if begun.refused is not Refusal.TOO_SOON:
            break
        sleep(begun.wait_ms / 1000.0)
    if begun.refused is not None:
        return begun.refused.name.lower()
    attempt = begun.attempt

    entry = job.entry
    outcome, patch, delay, reason = Outcome.DISPATCHED, {}, 0, ""
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
                outcome, delay = Outcome.RETRY_WAIT, backoff_ms(attempt)
            else:
                outcome = Outcome.FAILED
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
    return outcome.value


def _error_patch(exc: CccError) -> dict[str, Any]:
    return {
        "error_code": exc.code,
        "error_message": exc.message[:500],
        "http_status": exc.http_status,
        "request_id": exc.request_id,
    }
