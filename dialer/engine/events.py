"""Events and their webhook deliveries, the Redis side.

The transition scripts write each event into one outbox stream in the same step as the change
it tells of (`emit` in lua/prelude.lua). A dispatcher reads the outbox through a consumer group
and fans each event out, in one script with its acknowledgement, into one delivery per
matching endpoint (WEBHOOK_FAN_OUT); deliveries wait in a due set scored by when they are next
due (Redis clock), are claimed with a lease (WEBHOOK_CLAIM), and each attempt's answer decides
what follows (WEBHOOK_ATTEMPT). Nothing here sends HTTP: see dialer.webhooks."""

from __future__ import annotations

import json
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, cast

import redis

from dialer.engine.keys import Keys
from dialer.engine.scripts import lua_source
from dialer.engine.store import ROWS_PER_BLOCK, text
from dialer.errors import StoreError

GROUP = "dispatch"
GLOBAL = "global"  # the endpoint id of DIALER_WEBHOOK_URL
EVENT_ID_PREFIX = "evt_"


class EventType(StrEnum):
    """The event catalogue. The Lua scripts write the names of the emitted ones."""

    CALL_PLACED = "call.placed"  # FINISH with DISPATCHED: CCC took the call (job id)
    CALL_ENDED = "call.ended"  # the call's record came: its outcome, talk time
    ROW_FINISHED = "row.finished"  # the row reached its final state (and outcome)
    ROW_UNKNOWN = "row.unknown"  # the call's fate is unknown: never blindly dialled again
    CAMPAIGN_STATUS = "campaign.status"  # started, paused, resumed, cancelled, done
    DISPOSITION_SAVED = "disposition.saved"  # an agent saved a call's disposition (DISPOSE)
    CALLBACK_SCHEDULED = "callback.scheduled"  # a disposition's callback is due at its time
    # An agent's presence changed: in every running campaign they work in (ANNOUNCE), or in
    # the campaign whose call they missed once too often (CALL_ENDED).
    AGENT_PRESENCE = "agent.presence"


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where events go. `events`: patterns such as "call.*" (empty: every event);
    `secrets`: "whsec_..." signing secrets, the newest first (two during a rotation).
    The secrets are kept out of repr() so they never land in a log."""

    id: str
    url: str
    events: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def to_json(self) -> str:
        return json.dumps(
            {"url": self.url, "events": list(self.events), "secrets": list(self.secrets)}
        )

    @classmethod
    def from_json(cls, eid: str, raw: str) -> WebhookEndpoint:
        d = json.loads(raw)
        return cls(eid, d["url"], tuple(d.get("events") or ()), tuple(d.get("secrets") or ()))


@dataclass(frozen=True)
class EndpointState:
    failures: int = 0  # failed attempts in a row
    disabled: str = ""  # why it is disabled (Webhook.Gone, Webhook.Failing); empty: enabled
    disabled_at_ms: int | None = None
    paused: bool = False  # its circuit is open (read by endpoint_state() only)


@dataclass(frozen=True)
class OutboxEvent:
    """An event as a script wrote it; `attempt` None: not written (the row's own count)."""

    entry_id: str
    type: str
    campaign: str
    row: int | None
    attempt: int | None
    seq: int
    occurred_at_ms: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return EVENT_ID_PREFIX + self.entry_id


@dataclass(frozen=True)
class Delivery:
    """One event to one endpoint."""

    campaign: str
    event_id: str
    endpoint: str

    @property
    def member(self) -> str:
        return f"{self.campaign}|{self.event_id}|{self.endpoint}"

    @classmethod
    def of(cls, member: str) -> Delivery:
        campaign, event_id, endpoint = member.split("|", 2)
        return cls(campaign, event_id, endpoint)


@dataclass(frozen=True)
class Retry:
    """Backoff with full jitter: due again after uniform(0, min(cap, base * 2^(n-1)))."""

    base_ms: int
    cap_ms: int
    max_age_ms: int  # given up once this long has passed since the first attempt
    max_failures: int  # failed attempts in a row that disable an endpoint ...
    min_failing_ms: int  # ... when the first of them was at least this long ago
    breaker_failures: int = 5  # failures in a row that open the endpoint's circuit
    probe_ms: int = 2000  # the wait before its first probe, doubled by each failed one ...
    probe_cap_ms: int = 30_000  # ... up to this
    keep_attempts: int = 10


SCRIPTS = ("webhook_fan_out", "webhook_claim", "webhook_attempt", "webhook_redeliver")


class EventStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._s = {n: client.register_script(lua_source(n)) for n in SCRIPTS}
        self._blocks: OrderedDict[tuple[str, int], dict[int, list[Any]]] = OrderedDict()
        self._passthrough: dict[str, tuple[str, ...]] = {}

    # --- the outbox -----------------------------------------------------------------------

    def ensure_group(self) -> None:
        try:
            self.r.xgroup_create(self.keys.outbox(), GROUP, id="0", mkstream=True)
        except StoreError as exc:  # the group exists already: BUSYGROUP
            if "BUSYGROUP" not in str(exc):
                raise

    def read(
        self, consumer: str, *, count: int, block_ms: int, claim_idle_ms: int
    ) -> list[OutboxEvent]:
        """Events another dispatcher took and did not fan out within `claim_idle_ms` (it
        died), else new ones (waiting up to `block_ms` for one)."""
        outbox = self.keys.outbox()
        claimed = cast(
            list[Any], self.r.xautoclaim(outbox, GROUP, consumer, claim_idle_ms, "0-0", count=count)
        )
        entries = [e for e in claimed[1] if e[1]] if claimed else []
        if not entries:
            got = cast(
                list[Any],
                self.r.xreadgroup(GROUP, consumer, {outbox: ">"}, count=count, block=block_ms),
            )
            entries = got[0][1] if got else []
        return [_event(text(eid), fields) for eid, fields in entries]

    def fan_out(self, event: OutboxEvent, body: bytes, endpoints: list[str]) -> int:
        k, cid = self.keys, event.campaign
        return int(
            self._s["webhook_fan_out"](
                keys=[
                    k.outbox(),
                    k.webhook_events(cid),
                    k.webhook_event_times(cid),
                    k.webhook_deliveries(cid),
                    k.webhook_due(),
                ],
                args=[GROUP, event.entry_id, cid, event.id, body, event.occurred_at_ms, *endpoints],
            )
        )

    def outbox_backlog(self) -> int:
        return int(self.r.xlen(self.keys.outbox()))

    # --- deliveries -----------------------------------------------------------------------

    def claim_due(self, *, limit: int, lease_ms: int) -> list[Delivery]:
        k = self.keys
        out = self._s["webhook_claim"](
            keys=[k.webhook_due(), k.webhook_breakers(), k.webhook_parked()], args=[limit, lease_ms]
        )
        return [Delivery.of(text(m)) for m in out]

    def postpone(self, ds: list[Delivery], *, delay_ms: int) -> None:
        """Claimed deliveries this process has no room for: due again a little later."""
        at = self._now_ms() + delay_ms
        self.r.zadd(self.keys.webhook_due(), dict.fromkeys((d.member for d in ds), at), xx=True)

    def _now_ms(self) -> int:
        seconds, micros = cast(tuple[int, int], self.r.time())
        return int(seconds) * 1000 + int(micros) // 1000

    def due_count(self) -> int:
        return int(self.r.zcard(self.keys.webhook_due()))

    def prepare(self, ds: list[Delivery]) -> list[tuple[bytes | None, EndpointState]]:
        """Each delivery's body (None: the event is no longer kept) and its endpoint's state,
        in one round trip for them all."""
        pipe = self.r.pipeline(transaction=False)
        for d in ds:
            pipe.hget(self.keys.webhook_events(d.campaign), d.event_id)
            key, prefix = self._state_key(d.campaign, d.endpoint)
            pipe.hmget(key, [f"{prefix}failures", f"{prefix}disabled", f"{prefix}disabled_at"])
        got = pipe.execute()
        return [
            (cast("bytes | None", body), _endpoint_state(state))
            for body, state in zip(got[::2], got[1::2], strict=True)
        ]

    def record_attempt(
        self,
        d: Delivery,
        *,
        act: str,
        status: int,
        latency_ms: int,
        error: str,
        jitter: float,
        retry: Retry,
    ) -> tuple[str, bool]:
        """(the delivery's state after, whether this attempt disabled its endpoint)."""
        state_key, prefix = self._state_key(d.campaign, d.endpoint)
        out = self._s["webhook_attempt"](
            keys=[
                self.keys.webhook_deliveries(d.campaign),
                self.keys.webhook_due(),
                state_key,
                self.keys.webhook_breakers(),
                self.keys.webhook_parked(),
            ],
            args=[
                d.campaign,
                d.event_id,
                d.endpoint,
                act,
                status,
                latency_ms,
                error,
                jitter,
                retry.base_ms,
                retry.cap_ms,
                retry.max_age_ms,
                retry.max_failures,
                prefix,
                retry.keep_attempts,
                retry.min_failing_ms,
                retry.breaker_failures,
                retry.probe_ms,
                retry.probe_cap_ms,
            ],
        )
        return text(out[0]), bool(int(out[1]))

    def deliveries(self, cid: str) -> dict[str, dict[str, Any]]:
        """ "EVENT|ENDPOINT" -> its delivery record (state, attempts, log, last, ...)."""
        raw = self.r.hgetall(self.keys.webhook_deliveries(cid))
        return {text(k): json.loads(v) for k, v in raw.items()}

    def event_times(self, cid: str, since_ms: int = 0) -> dict[str, int]:
        """Event id -> when it occurred, for the campaign's events since `since_ms`."""
        got = self.r.zrangebyscore(
            self.keys.webhook_event_times(cid), since_ms, "+inf", withscores=True
        )
        return {text(e): int(s) for e, s in cast(list[tuple[bytes, float]], got)}

    def redeliver(self, cid: str, pairs: list[tuple[str, str]]) -> int:
        """Deliver (event, endpoint) pairs again, due now; returns how many were queued."""
        if not pairs:
            return 0
        k = self.keys
        return int(
            self._s["webhook_redeliver"](
                keys=[k.webhook_events(cid), k.webhook_deliveries(cid), k.webhook_due()],
                args=[cid, *(f"{e}|{p}" for e, p in pairs)],
            )
        )

    # --- endpoints ------------------------------------------------------------------------

    def save_endpoints(self, cid: str, endpoints: list[WebhookEndpoint]) -> None:
        if endpoints:
            self.r.hset(
                self.keys.webhook_endpoints(cid), mapping={e.id: e.to_json() for e in endpoints}
            )

    def endpoints(self, cid: str) -> list[WebhookEndpoint]:
        raw = self.r.hgetall(self.keys.webhook_endpoints(cid))
        found = [WebhookEndpoint.from_json(text(k), text(v)) for k, v in raw.items()]
        return sorted(found, key=lambda e: e.id)

    def endpoint_state(self, cid: str, eid: str) -> EndpointState:
        key, prefix = self._state_key(cid, eid)
        state = _endpoint_state(
            self.r.hmget(key, [f"{prefix}failures", f"{prefix}disabled", f"{prefix}disabled_at"])
        )
        return replace(state, paused=self.paused(cid, eid))

    def paused(self, cid: str, eid: str) -> bool:
        """Whether the endpoint's circuit is open: its deliveries wait, one probe at a time."""
        return bool(self.r.hexists(self.keys.webhook_breakers(), f"{cid}|{eid}"))

    def parked_count(self) -> int:
        """Deliveries waiting for their endpoint's circuit to close, over every campaign."""
        return int(self.r.zcard(self.keys.webhook_parked()))

    def enable(self, cid: str, eid: str) -> None:
        key, prefix = self._state_key(cid, eid)
        self.r.hset(
            key,
            mapping={
                f"{prefix}failures": 0,
                f"{prefix}disabled": "",
                f"{prefix}disabled_at": "",
                f"{prefix}failing_since": "",
            },
        )

    def _state_key(self, cid: str, eid: str) -> tuple[str, str]:
        if eid == GLOBAL:
            return self.keys.webhook_global_state(), ""
        return self.keys.webhook_state(cid), f"{eid}:"

    # --- what events say of a row ---------------------------------------------------------

    def sheet_columns(self, cid: str, row: int) -> dict[str, Any]:
        """The row as the sheet gave it: caller, callee and the sheet's own columns (the
        passthrough ones). Source rows never change after upload, so reading them when the
        event is delivered says what they said when it happened. Empty if the campaign is
        gone."""
        if cid not in self._passthrough:
            raw = self.r.hget(self.keys.meta(cid), "passthrough")
            self._passthrough[cid] = tuple(json.loads(raw)) if raw else ()
        block = (row - 1) // ROWS_PER_BLOCK
        if (cid, block) not in self._blocks:
            payload = self.r.hget(self.keys.rows(cid), str(block))
            records = json.loads(zlib.decompress(cast(bytes, payload))) if payload else []
            self._blocks[(cid, block)] = {int(rec[0]): rec for rec in records}
            while len(self._blocks) > 16:
                self._blocks.popitem(last=False)
        self._blocks.move_to_end((cid, block))
        rec = self._blocks[(cid, block)].get(row)
        if rec is None:
            return {}
        own = rec[len(rec) - len(self._passthrough[cid]) :] if self._passthrough[cid] else []
        return {
            "caller": rec[1],
            "callee": rec[2],
            "columns": dict(zip(self._passthrough[cid], own, strict=True)),
        }

    def attempts(self, cid: str, row: int) -> int:
        raw = self.r.hget(self.keys.result(cid), str(row))
        return int(json.loads(raw).get("attempts") or 0) if raw else 0


def _endpoint_state(fields: list[Any]) -> EndpointState:
    failures, disabled, at = fields
    return EndpointState(int(failures or 0), text(disabled or b""), int(float(at)) if at else None)


def _event(entry_id: str, raw: dict[bytes, bytes]) -> OutboxEvent:
    f = {text(k): text(v) for k, v in raw.items()}
    data = json.loads(f.get("data") or "{}")
    return OutboxEvent(
        entry_id=entry_id,
        type=f["type"],
        campaign=f["campaign"],
        row=int(f["row"]) if f.get("row") else None,
        attempt=int(f["attempt"]) if f.get("attempt") else None,
        seq=int(f["seq"]),
        occurred_at_ms=int(f["at"]),
        data=data if isinstance(data, dict) else {},
    )
