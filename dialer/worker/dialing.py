"""place_one: everything that happens to one queued row in a worker."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from dialer.calendar import Calendar
from dialer.ccc.client import CccClient
from dialer.engine import (
    AttemptEnd,
    Backoff,
    Begun,
    Campaign,
    Caps,
    DialEntry,
    Engine,
    Job,
    Refusal,
    with_redis_retry,
)
from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    CccError,
    CccUnreachable,
    NotPlaced,
    OutcomeUnknown,
    PermanentCallError,
    StoreUnavailable,
    TransientCallError,
    WorkerFatal,
)
from dialer.phones import mask_number
from dialer.worker.failover import Journal
from dialer.worker.monitor import Breaker, WorkerHealth

log = logging.getLogger(__name__)
BACKOFF_BASE_MS = 2_000  # a transient failure waits 2 s, 4 s, 8 s ... (the upper half, at random)
BACKOFF_CAP_MS = 60_000
MAX_SLOT_WAIT_S = 60.0
# Why a claimed row went back undialled (each is a reason code of dialer.i18n.meanings).
REPLICATION_LAG = "Redis.ReplicationLag"
REPLICATION_LAG_TEXT = "Redis replicas did not acknowledge the call's claim in time"


def place_one(
    engine: Engine,
    client: CccClient,
    campaign: Campaign,
    job: Job,
    *,
    enqueue: Callable[[list[Job]], None] = lambda jobs: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] | None = None,
    breaker: Breaker | None = None,
    health: WorkerHealth | None = None,
    journal: Journal | None = None,
) -> str:
    """Wait for the row's slot, claim it, call and record it; hand the rows fed into its
    place to `enqueue`. Returns what happened, for logs and tests: an AttemptEnd value, or the
    Refusal's name when the row was not dialled.

    A message whose row is not where it expects (stale token, paused campaign) does nothing
    beyond giving the row back; a call is only sent after the row is recorded DIALING. While
    CCC is unreachable (`breaker` open) or this worker is unhealthy, the row goes back to
    its queue undialled. `journal` keeps the row's FINISH, to be written again if Redis fails
    over before its replicas have it (dialer.worker.failover)."""
    settings = campaign.settings
    instance = settings.instance_id

    def held_back() -> str | None:
        if health is not None and not health.healthy:
            return "worker_unhealthy"
        if breaker is not None and breaker.is_open(instance):
            return "ccc_unreachable"
        return None

    def hold(why: str) -> str:
        with_redis_retry(lambda: engine.give_back(job, settings))
        return why

    if (why := held_back()) is not None:
        return hold(why)
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
    if (why := held_back()) is not None:
        return hold(why)

    def not_placed(code: str, message: str) -> bool:
        """Hand the row back as certainly not placed, as a transient refusal: it waits its
        backoff, nothing counted against it. False if it was not DIALING with our token."""
        patch = {"error_code": code, "error_message": message}
        final, fed = engine.finish(
            job,
            Begun(),
            AttemptEnd.NOT_PLACED,
            patch,
            caps,
            settings=settings,
            retry=Backoff(BACKOFF_BASE_MS, BACKOFF_CAP_MS, 0.5 + 0.5 * random.random()),
            window_open=calendar.is_open((clock or engine.clock)()) and held_back() is None,
        )
        if fed:
            enqueue(fed)
        return final is not None

    while True:
        # A claim whose reply was lost is sent again and finds its row moved on (STALE): the
        # row is swept UNKNOWN and looked up in the call records, never dialled blindly. It
        # is not handed back here: a second delivery of the same message (a failover loses
        # the broker's pop too) may hold the row with the same token, its call under way.
        begun = with_redis_retry(
            lambda: engine.begin_dial(job, caps, interval, caller_max_hold_s=max_hold)
        )
        if begun.refused is not Refusal.TOO_SOON:
            break
        sleep(begun.wait_ms / 1000.0)
    if begun.refused is not None:
        return begun.refused.name.lower()
    if begun.unreplicated:
        log.warning(
            "row %s not dialled: %d Redis replica(s) did not acknowledge its claim within %d ms",
            job.row,
            begun.replicas,
            engine.timing.replica_wait_ms,
        )
        try:
            not_placed(REPLICATION_LAG, REPLICATION_LAG_TEXT)
        except StoreUnavailable:
            # Not tried again: past a failover the same message, delivered twice, may hold
            # the row by now with its call under way. Left as it is, the row is swept back
            # (QUEUED) or UNKNOWN (DIALING), never dialled twice.
            log.warning("row %s: Redis went away; its claim is left to the sweep", job.row)
        return AttemptEnd.NOT_PLACED.value

    entry = job.entry
    outcome, patch, reason = AttemptEnd.DISPATCHED, {}, ""
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
        outcome, patch, reason = _classify(exc, entry, instance)
        if isinstance(exc, CccUnreachable) and breaker is not None:
            breaker.failed(instance, exc.code)
        elif isinstance(exc, WorkerFatal) and health is not None:
            health.rejected(exc)
        log.warning(
            "row %s callee %s: %s %s -> %s",
            job.row,
            mask_number(entry.callee),
            exc.code,
            exc.message[:120],
            outcome,
        )
        answered = not isinstance(exc, CccUnreachable | OutcomeUnknown)
    else:
        answered = True
    if answered and breaker is not None:
        breaker.answered(instance)
    retry = Backoff(BACKOFF_BASE_MS, BACKOFF_CAP_MS, 0.5 + 0.5 * random.random())
    # The place this row leaves is filled at once only while dialling can go on.
    window_open = calendar.is_open((clock or engine.clock)()) and held_back() is None

    def record() -> AttemptEnd | None:
        final, fed = engine.finish(
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
        if fed:
            enqueue(fed)
        return final

    final = with_redis_retry(record)
    if journal is not None:
        journal.add(record)
    return (final or outcome).value


def _classify(
    exc: CccError, entry: DialEntry, instance: str
) -> tuple[AttemptEnd, dict[str, Any], str]:
    """(what FINISH is told, the result patch, the pause reason) for a CCC error."""
    if isinstance(exc, NotPlaced | WorkerFatal):
        # Refused before anything was placed, for no reason of the row's: it waits again,
        # untouched and without using an attempt.
        return AttemptEnd.NOT_PLACED, {}, ""
    patch = _error_patch(exc)
    if isinstance(exc, TransientCallError):
        # Waits its backoff, or FAILED once the campaign's attempts are used up. The code
        # is kept after a later success, so the report can count retries by their reason.
        return AttemptEnd.RETRY_WAIT, {**patch, "retry_code": exc.code}, ""
    if isinstance(exc, PermanentCallError):
        return AttemptEnd.FAILED, patch, ""
    if isinstance(exc, BrokerUnavailable):
        extra = entry.additional_broker
        if extra and extra in exc.params and entry.broker not in exc.params:
            # The additional broker is the campaign's (or the sheet's), not this broker's.
            reason = (
                f"{exc.code}: the additional broker {mask_number(extra)} is not a "
                f"number of instance {instance}; add it to the instance, then resume"
            )
            return AttemptEnd.CAMPAIGN_FATAL, {**patch, "retry_code": exc.code}, reason
        return AttemptEnd.BROKER_DOWN, {**patch, "retry_code": exc.code}, exc.code
    if isinstance(exc, CampaignFatal):
        reason = f"{exc.code}: {exc.message}"[:300]
        return AttemptEnd.CAMPAIGN_FATAL, {**patch, "retry_code": exc.code}, reason
    # OutcomeUnknown, or a class this code doesn't know: the request may have left, so never
    # retry it blindly.
    return AttemptEnd.UNKNOWN, patch, ""


def _error_patch(exc: CccError) -> dict[str, Any]:
    return {
        "error_code": exc.code,
        "error_message": exc.message[:500],
        "http_status": exc.http_status,
        "request_id": exc.request_id,
    }
