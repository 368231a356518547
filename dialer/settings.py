"""Runtime settings. `Settings.from_env()` is the only reader of os.environ in the library."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, overload

from dialer.errors import ConfigError
from dialer.models import Timing

DEFAULT_ENDPOINT = "https://ccc.cn-shanghai.aliyuncs.com"


@dataclass(frozen=True)
class Credentials:
    """An AccessKey pair. The secret is kept out of repr() so it never lands in a log."""

    access_key_id: str
    access_key_secret: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    data_home: str | None = None  # XDG_DATA_HOME: where the embedded redis-server keeps data
    namespace: str = "dialer"
    ccc_endpoint: str = DEFAULT_ENDPOINT
    credentials: Credentials | None = None
    instance_id: str | None = None
    signature_version: str = "v3"
    connect_timeout_s: float = 3.05
    read_timeout_s: float = 10.0
    max_qps: float | None = None
    # Engine timing: production defaults; tests shorten leases to see crash recovery quickly.
    visibility_timeout_s: float = 3600.0
    queued_lease_s: float = 120.0
    dialing_lease_s: float | None = None  # default: connect + read timeout + 60 s
    pace_margin_ms: float = 10.0
    feeder_depth: int = 2
    run_feeder: bool = True  # DIALER_FEEDER=0: this worker only places calls
    cdr_margin_s: float = 5.0
    reconcile_wait_s: float = 120.0
    records_qps: float = 10.0  # call-record requests per second per worker process, at most
    records_poll_s: float = 2.0
    records_budget: float = 0.08  # call-record requests per call placed
    records_max_lag_s: float = 30.0
    caller_lookup_s: float = 2.0  # first record lookup of a paced caller's call
    retention_days: float | None = None  # DONE/CANCELLED campaigns are deleted after this
    # A call leaves once this many replicas hold its claim (None: as many as the primary
    # reports; 0: never wait), waiting at most redis_wait_timeout_s (docs/operations-redis.md).
    redis_min_replicas: int | None = None
    redis_wait_timeout_s: float = 1.0
    audit_retention_days: float = 365.0  # audit entries older than this are trimmed
    # Worker health (see Timing); production defaults, tests shorten them.
    heartbeat_s: float = 5.0
    alive_window_s: float = 30.0
    no_healthy_grace_s: float = 15.0
    stall_s: float = 20.0
    # Webhooks (docs/webhooks.md): the global endpoint, its secrets (kept out of repr), and
    # delivery: timeouts, backoff (tests shorten it), when to give up and to disable.
    webhook_url: str | None = None
    webhook_events: str = ""  # patterns, comma-separated (empty: every event)
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_secret_previous: str | None = field(default=None, repr=False)
    webhook_connect_timeout_s: float = 5.0
    webhook_read_timeout_s: float = 15.0
    webhook_backoff_base_s: float = 5.0
    webhook_backoff_cap_s: float = 6 * 3600.0
    webhook_max_age_s: float = 3 * 86400.0
    webhook_max_failures: float = 20  # failures in a row that disable an endpoint, once ...
    webhook_disable_after_s: float = 86400.0  # ... it has been failing for this long
    webhook_lease_s: float = 60.0  # a claimed delivery not reported by then is due again
    # The circuit breaker: this many failures in a row of one endpoint pause it (its
    # deliveries wait, one probe at a time, every probe_s doubling up to probe_cap_s).
    webhook_breaker_failures: float = 5
    webhook_breaker_probe_s: float = 2.0
    webhook_breaker_probe_cap_s: float = 30.0
    # Agents at work (docs/agents.md): a screen silent this long goes OFFLINE; the break
    # reasons an agent picks from (the system adds its own); the zone of agents' "today".
    agent_silent_s: float = 60.0
    break_reasons: tuple[str, ...] = ("lunch", "meeting", "training", "personal")
    agents_timezone: str = "Asia/Shanghai"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        ak_id = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID")
        ak_secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        credentials = Credentials(ak_id, ak_secret) if ak_id and ak_secret else None
        signature = env.get("CCC_SIGNATURE_VERSION", cls.signature_version).lower()
        if signature not in ("v1", "v3"):
            raise ConfigError(f"CCC_SIGNATURE_VERSION must be v1 or v3, not {signature!r}")
        # Each number's default is the field's own: written once, above.
        numbers = {name: _float(env, var, _DEFAULTS[name]) for name, var in NUMBER_VARS.items()}
        return cls(
            redis_url=env.get("DIALER_REDIS_URL") or None,
            data_home=env.get("XDG_DATA_HOME") or None,
            namespace=env.get("DIALER_NAMESPACE", cls.namespace),
            ccc_endpoint=env.get("CCC_ENDPOINT", cls.ccc_endpoint),
            credentials=credentials,
            instance_id=env.get("CCC_INSTANCE_ID") or None,
            signature_version=signature,
            feeder_depth=int(_float(env, "DIALER_FEEDER_DEPTH", cls.feeder_depth)),
            run_feeder=env.get("DIALER_FEEDER", "1") != "0",
            retention_days=_retention_days(env),
            webhook_url=env.get("DIALER_WEBHOOK_URL") or None,
            webhook_events=env.get("DIALER_WEBHOOK_EVENTS", ""),
            webhook_secret=env.get("DIALER_WEBHOOK_SECRET") or None,
            webhook_secret_previous=env.get("DIALER_WEBHOOK_SECRET_PREVIOUS") or None,
            redis_min_replicas=_count(env, "DIALER_REDIS_MIN_REPLICAS"),
            break_reasons=_words(env, "DIALER_BREAK_REASONS", cls.break_reasons),
            agents_timezone=env.get("DIALER_AGENTS_TIMEZONE", cls.agents_timezone),
            **numbers,
        )

    def timing(self) -> Timing:
        dialing = self.dialing_lease_s or (self.connect_timeout_s + self.read_timeout_s + 60.0)
        return Timing(
            depth=self.feeder_depth,
            queued_lease_ms=int(self.queued_lease_s * 1000),
            dialing_lease_ms=int(dialing * 1000),
            max_qps=self.max_qps,
            cdr_margin_s=self.cdr_margin_s,
            reconcile_wait_s=self.reconcile_wait_s,
            records_poll_s=self.records_poll_s,
            records_budget=self.records_budget,
            records_max_lag_s=self.records_max_lag_s,
            caller_lookup_ms=int(self.caller_lookup_s * 1000),
            heartbeat_s=self.heartbeat_s,
            alive_window_ms=int(self.alive_window_s * 1000),
            no_healthy_grace_s=self.no_healthy_grace_s,
            stall_s=self.stall_s,
            min_replicas=self.redis_min_replicas,
            replica_wait_ms=max(1, int(self.redis_wait_timeout_s * 1000)),
        )

    def require_credentials(self) -> Credentials:
        if self.credentials is None:
            raise ConfigError(
                "no CCC credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
            )
        return self.credentials


# Settings given as a positive number, by the environment variable that sets them.
NUMBER_VARS = {
    "connect_timeout_s": "CCC_CONNECT_TIMEOUT_S",
    "read_timeout_s": "CCC_READ_TIMEOUT_S",
    "max_qps": "DIALER_MAX_QPS",
    "visibility_timeout_s": "DIALER_VISIBILITY_TIMEOUT_S",
    "queued_lease_s": "DIALER_QUEUED_LEASE_S",
    "dialing_lease_s": "DIALER_DIALING_LEASE_S",
    "pace_margin_ms": "DIALER_PACE_MARGIN_MS",
    "cdr_margin_s": "DIALER_CDR_MARGIN_S",
    "reconcile_wait_s": "DIALER_RECONCILE_WAIT_S",
    "records_qps": "DIALER_RECORDS_QPS",
    "records_poll_s": "DIALER_RECORDS_POLL_S",
    "records_budget": "DIALER_RECORDS_BUDGET",
    "records_max_lag_s": "DIALER_RECORDS_MAX_LAG_S",
    "caller_lookup_s": "DIALER_CALLER_LOOKUP_S",
    "redis_wait_timeout_s": "DIALER_REDIS_WAIT_TIMEOUT_S",
    "audit_retention_days": "DIALER_AUDIT_RETENTION_DAYS",
    "heartbeat_s": "DIALER_HEARTBEAT_S",
    "alive_window_s": "DIALER_ALIVE_WINDOW_S",
    "no_healthy_grace_s": "DIALER_NO_HEALTHY_GRACE_S",
    "stall_s": "DIALER_STALL_S",
    "webhook_connect_timeout_s": "DIALER_WEBHOOK_CONNECT_TIMEOUT_S",
    "webhook_read_timeout_s": "DIALER_WEBHOOK_READ_TIMEOUT_S",
    "webhook_backoff_base_s": "DIALER_WEBHOOK_BACKOFF_BASE_S",
    "webhook_backoff_cap_s": "DIALER_WEBHOOK_BACKOFF_CAP_S",
    "webhook_max_age_s": "DIALER_WEBHOOK_MAX_AGE_S",
    "webhook_max_failures": "DIALER_WEBHOOK_MAX_FAILURES",
    "webhook_disable_after_s": "DIALER_WEBHOOK_DISABLE_AFTER_S",
    "webhook_lease_s": "DIALER_WEBHOOK_LEASE_S",
    "webhook_breaker_failures": "DIALER_WEBHOOK_BREAKER_FAILURES",
    "webhook_breaker_probe_s": "DIALER_WEBHOOK_BREAKER_PROBE_S",
    "webhook_breaker_probe_cap_s": "DIALER_WEBHOOK_BREAKER_PROBE_CAP_S",
    "agent_silent_s": "DIALER_AGENT_SILENT_S",
}
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Settings)}


def _words(env: Mapping[str, str], var: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of short words (break reasons)."""
    raw = env.get(var)
    if raw is None:
        return default
    words = tuple(dict.fromkeys(w.strip() for w in raw.split(",") if w.strip()))
    bad = [w for w in words if len(w) > 32 or not w.replace("_", "").replace("-", "").isalnum()]
    if bad or not words:
        raise ConfigError(f"{var} must be short words separated by commas, not {raw!r}")
    return words


def _retention_days(env: Mapping[str, str]) -> float | None:
    """DIALER_RETENTION_DAYS: unset or 0 keeps every campaign."""
    if env.get("DIALER_RETENTION_DAYS", "").strip() in ("", "0"):
        return None
    return _float(env, "DIALER_RETENTION_DAYS", None)


def _count(env: Mapping[str, str], name: str) -> int | None:
    """A whole number >= 0, or None when unset."""
    raw = env.get(name, "").strip()
    if raw == "":
        return None
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number (0 or more), not {raw!r}")
    return int(raw)


@overload
def _float(env: Mapping[str, str], name: str, default: float) -> float: ...
@overload
def _float(env: Mapping[str, str], name: str, default: None) -> float | None: ...
def _float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, not {raw!r}")
    return value
