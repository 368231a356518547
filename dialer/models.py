"""The dialer's nouns: row states, rates, campaign settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from dialer.errors import ConfigError


class RowState(StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    DIALING = "DIALING"
    DISPATCHED = "DISPATCHED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    RETRY_WAIT = "RETRY_WAIT"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


# Rows the campaign still has to dial; a running campaign with none left is DONE.
ACTIVE_STATES = (RowState.PENDING, RowState.QUEUED, RowState.DIALING, RowState.RETRY_WAIT)
TERMINAL_STATES = frozenset(
    {RowState.DISPATCHED, RowState.FAILED, RowState.UNKNOWN, RowState.CANCELLED, RowState.REJECTED}
)


class CampaignStatus(StrEnum):
    UPLOADING = "UPLOADING"  # rows still being stored; invisible to every command
    READY = "READY"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"
    DONE = "DONE"


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|m|min|h|hour)\s*$", re.IGNORECASE)
_PER = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}


def parse_rate(text: str) -> float:
    """'2/s' -> 2.0 calls per second; '30/m' -> 0.5."""
    match = _RATE.match(text)
    if not match or float(match[1]) <= 0:
        raise ConfigError(f"rate must look like 2/s or 30/m, not {text!r}")
    return float(match[1]) / _PER[match[2].lower()]


def format_rate(rate_per_s: float) -> str:
    return f"{rate_per_s:g}/s" if rate_per_s >= 1 else f"{rate_per_s * 60:g}/m"


# With any recycle rule: the first call and two more (VICIdial's and Genesys' usual budget).
DEFAULT_MAX_CONTACTS = 3


@dataclass(frozen=True)
class CampaignSettings:
    """What `dialer upload` decides about a campaign beyond its rows."""

    name: str
    instance_id: str
    pool: tuple[str, ...] = ()
    additional_broker: str | None = None
    timeout_seconds: int = 30
    rate_per_s: float = 1.0
    broker_rates: dict[str, float] = field(default_factory=dict)
    max_attempts: int = 3
    # Carrier rules (SIP 473/477/478): when, and how often, a number may be called.
    windows: tuple[str, ...] = ("09:00-21:00",)
    timezone: str = "Asia/Shanghai"
    callee_daily_cap: int = 3  # across every campaign in this Redis namespace; 0 = off
    callee_monthly_cap: int = 5
    broker_daily_cap: int = 0
    pair_guard_s: float = 60.0  # the same caller+callee pair, whatever campaign asks
    outcomes: bool = True  # fetch each call's record for its outcome
    # How long after an attempt its call record is looked for: an UNKNOWN row still not in
    # the records then stays UNKNOWN with the reason; a dispatched call's outcome is given up.
    reconcile_horizon_s: float = 6 * 3600.0
    # Callers are people: one is busy from the moment a call is queued for them until its
    # record says it ended, plus wrap-up; a row without a caller goes to the pool's agent
    # who has been free longest.
    agents: tuple[str, ...] = ()  # the pool of callers (--caller / --callers)
    caller_concurrency: int = 1
    wrap_up_s: float = 10.0
    caller_max_hold_s: float = 900.0  # a call whose end never shows frees its caller then
    caller_pacing: bool = True  # False: paced by brokers only (the old way, for comparison)
    # The contact strategy (dialer.strategy). An agent's leg that rang out is no contact: the
    # row goes to another pool agent at once, or waits this long for its own agent (who is
    # offered no other row meanwhile); after max_agent_misses such misses the row ends.
    max_agent_misses: int = 3
    agent_miss_wait_s: float = 30.0
    # Outcome -> delays (s) before the next contact, counted from the call's release; the
    # last delay repeats. max_contacts counts customer-leg calls, the first included
    # (0: DEFAULT_MAX_CONTACTS with any recycle rule, else 1; see contacts_allowed).
    recycle: dict[str, list[float]] = field(default_factory=dict)
    max_contacts: int = 0
    # The campaign's schedule, epoch ms (0: none): nothing is dialled before start_at_ms (a
    # started campaign waits for it); from end_at_ms no call begins, calls in progress
    # finish, and rows still waiting end with Schedule.Ended.
    start_at_ms: int = 0
    end_at_ms: int = 0
    # Agents at work (dialer.agents). With agents_sign_in only agents READY on their own
    # screen are rung (otherwise an agent with no presence is presumed present); after
    # agent_missed_max rings in a row not answered an agent goes on break. A signed-in agent
    # is held after a call until they save its disposition, or wrap_up_max_s after it ends
    # (then it gets AUTO and they go on break). A personal callback not taken within
    # callback_grace_s of its time goes to anyone. dispositions: code -> action, see
    # dialer.agents.dispositions.
    agents_sign_in: bool = False
    agent_missed_max: int = 2
    wrap_up_max_s: float = 300.0
    callback_grace_s: float = 900.0
    agent_notes: str = ""
    dispositions: dict[str, str] = field(default_factory=dict)

    def rate_for(self, broker: str) -> float:
        return self.broker_rates.get(broker, self.rate_per_s)

    @property
    def waits_on_records(self) -> bool:
        """Paced agents wait on call records to be free again, unless they sign in: then each
        frees themselves with the call's disposition, and records are needed for outcomes
        only (looked up at the records budget's pace, not the agents')."""
        return self.caller_pacing and not self.agents_sign_in

    @property
    def contacts_allowed(self) -> int:
        return self.max_contacts or (DEFAULT_MAX_CONTACTS if self.recycle else 1)


@dataclass(frozen=True)
class Timing:
    """Engine knobs; defaults suit production, tests shorten the leases."""

    depth: int = 2  # rows queued or dialing per broker at once
    lookahead_ms: int = 400  # queue a row this long before its broker's next slot
    queued_lease_ms: int = 120_000  # a queued message not started by then is re-queued
    # a dialing row silent this long is UNKNOWN; Settings().timing() gives the same (tested)
    dialing_lease_ms: int = 73_050
    max_qps: float | None = None  # account-wide cap on calls per second (DIALER_MAX_QPS)
    cdr_margin_s: float = 5.0  # first look for a dispatched call's record this long after it
    reconcile_wait_s: float = 120.0  # first look for an UNKNOWN row's call this long after it
    # Call-record lookups (records.poller): an instance is polled at most every records_poll_s,
    # spending at most records_budget requests per call placed, and at least every
    # records_max_lag_s while a lookup is due.
    records_poll_s: float = 2.0
    records_budget: float = 0.08
    records_max_lag_s: float = 30.0
    # a paced caller waits on their call's record: first looked up this soon, and at least
    # every records_max_lag_s after
    caller_lookup_ms: int = 2_000
    # Worker health (worker.monitor): a heartbeat every heartbeat_s; "alive" means one at most
    # alive_window_ms old; an unhealthy worker pauses the campaigns once no healthy one has
    # been alive for no_healthy_grace_s; a worker whose calls waited stall_s while it took
    # none exits for its supervisor. Tests shorten them (DIALER_HEARTBEAT_S ...).
    heartbeat_s: float = 5.0
    alive_window_ms: int = 30_000
    no_healthy_grace_s: float = 15.0
    stall_s: float = 20.0
    # Replicas that must hold a call's claim before the call leaves (None: as many as the
    # primary reports; 0: none, no WAIT sent), and how long to wait for them.
    min_replicas: int | None = None
    replica_wait_ms: int = 1_000
