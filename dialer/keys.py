"""Every Redis key the dialer uses, built from one namespace. Nothing else spells a key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    namespace: str = "dialer"

    def campaigns(self) -> str:
        """zset: campaign id -> created_at (epoch s)."""
        return f"{self.namespace}:campaigns"

    def running(self) -> str:
        """set: ids of campaigns the feeders should look at (RUNNING or PAUSED)."""
        return f"{self.namespace}:running"

    def meta(self, cid: str) -> str:
        """hash: campaign settings, status, pause reason, totals."""
        return f"{self.namespace}:c:{cid}:meta"

    def rows(self, cid: str) -> str:
        """hash: chunk number -> zlib(JSON list of source rows); immutable after upload."""
        return f"{self.namespace}:c:{cid}:rows"

    def queue(self, cid: str, broker: str) -> str:
        """list: packed dial entries of PENDING rows for one broker, in source order."""
        return f"{self.namespace}:c:{cid}:q:{broker}"

    def retry(self, cid: str) -> str:
        """zset: packed dial entry (with broker) -> epoch ms when it may be fed again."""
        return f"{self.namespace}:c:{cid}:retry"

    def state(self, cid: str) -> str:
        """hash: row number -> RowState value; a missing row is PENDING."""
        return f"{self.namespace}:c:{cid}:state"

    def result(self, cid: str) -> str:
        """hash: row number -> JSON outcome record (attempts, job id, error, timestamps)."""
        return f"{self.namespace}:c:{cid}:res"

    def counts(self, cid: str) -> str:
        """hash: RowState value -> number of rows in it, kept by the transition scripts."""
        return f"{self.namespace}:c:{cid}:counts"

    def queue_prefix(self, cid: str) -> str:
        """The queue keys' common prefix, for scripts that move rows between brokers."""
        return self.queue(cid, "")

    def lease(self, cid: str) -> str:
        """zset: "broker SEP packed entry" of QUEUED/DIALING rows -> epoch ms their lease ends."""
        return f"{self.namespace}:c:{cid}:lease"

    def inflight(self, cid: str) -> str:
        """hash: broker -> rows QUEUED or DIALING on it (bounded by the feeder)."""
        return f"{self.namespace}:c:{cid}:inflight"

    def dialed(self, cid: str) -> str:
        """hash: n:BROKER calls dispatched, first:BROKER / last:BROKER epoch ms."""
        return f"{self.namespace}:c:{cid}:dialed"

    def records(self) -> str:
        """set: campaigns with call records still to fetch or UNKNOWN rows to reconcile."""
        return f"{self.namespace}:records"

    def cdr_due(self, cid: str) -> str:
        """zset: row number of a DISPATCHED row -> epoch ms its call record is next looked up."""
        return f"{self.namespace}:c:{cid}:cdr"

    def reconcile(self, cid: str) -> str:
        """zset: "broker SEP packed entry" of an UNKNOWN row -> epoch ms to look for its call."""
        return f"{self.namespace}:c:{cid}:reconcile"

    def broker_down(self, cid: str) -> str:
        """hash: broker -> error code that took it out of this campaign."""
        return f"{self.namespace}:c:{cid}:down"

    def feeder_lease(self, cid: str) -> str:
        """string: the worker id leading this campaign's feeder; expires unless renewed."""
        return f"{self.namespace}:c:{cid}:feeder"

    def broker_capped(self, cid: str) -> str:
        """hash: broker -> day key on which it reached its daily cap in this campaign."""
        return f"{self.namespace}:c:{cid}:capped"

    def callee_day(self, day: str, callee: str) -> str:
        """string counter: calls begun to a callee on a day (campaign zone), every campaign."""
        return f"{self.namespace}:cap:d:{day}:{callee}"

    def callee_month(self, month: str, callee: str) -> str:
        """string counter: calls begun to a callee in a month, every campaign."""
        return f"{self.namespace}:cap:m:{month}:{callee}"

    def broker_day(self, day: str, broker: str) -> str:
        """string counter: calls begun on a broker number on a day."""
        return f"{self.namespace}:cap:b:{day}:{broker}"

    def pair_guard(self, caller: str, callee: str) -> str:
        """string with TTL: this caller+callee pair was just called; no repeat until it expires."""
        return f"{self.namespace}:pair:{caller}:{callee}"

    def records_lease(self, cid: str) -> str:
        """string: the worker id fetching this campaign's call records; expires unless renewed."""
        return f"{self.namespace}:c:{cid}:records-lease"

    def pace(self, broker: str) -> str:
        """string: next free slot (epoch ms, Redis clock) of a broker number, across campaigns."""
        return f"{self.namespace}:pace:{broker}"

    def last_dial(self, broker: str) -> str:
        """string: epoch ms (Redis clock) a call on this broker last began, across campaigns."""
        return f"{self.namespace}:pace:{broker}:last"

    def pace_account(self) -> str:
        """string: next free slot of the account-wide QPS cap (DIALER_MAX_QPS)."""
        return f"{self.namespace}:pace:account"

    def last_account_dial(self) -> str:
        """string: epoch ms (Redis clock) the account's last call began (DIALER_MAX_QPS)."""
        return f"{self.namespace}:pace:account:last"

    def campaign_keys(self, cid: str) -> str:
        """A SCAN pattern for every key of one campaign."""
        return f"{self.namespace}:c:{cid}:*"
