"""Every Redis key the dialer uses, built from one namespace. Nothing else spells a key.

Each key's Redis type and content is in its docstring. Lua scripts never build keys, except
from the prefixes below (queue and pace keys of brokers a script discovers as it runs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    namespace: str = "dialer"

    def campaigns(self) -> str:
        """zset: campaign id -> created_at (epoch ms): every stored campaign, for listing."""
        return f"{self.namespace}:campaigns"

    def running(self) -> str:
        """set: ids of RUNNING campaigns inside their calling window: the feeders' work."""
        return f"{self.namespace}:running"

    def sleeping(self) -> str:
        """zset: id of a RUNNING campaign outside its calling window -> epoch ms it opens."""
        return f"{self.namespace}:sleeping"

    def meta(self, cid: str) -> str:
        """hash: campaign settings, status, pause reason, totals."""
        return f"{self.namespace}:c:{cid}:meta"

    def rows(self, cid: str) -> str:
        """hash: chunk number -> zlib(JSON list of source rows); immutable after upload."""
        return f"{self.namespace}:c:{cid}:rows"

    def queue(self, cid: str, broker: str) -> str:
        """list: packed dial entries of PENDING rows for one broker, in source order."""
        return self.queue_prefix(cid) + broker

    def queue_prefix(self, cid: str) -> str:
        """The queue keys' common prefix, for scripts that find brokers as they run."""
        return f"{self.namespace}:c:{cid}:q:"

    def brokers(self, cid: str) -> str:
        """hash: every broker of the campaign (sheet and pool) -> its pacing interval in ms;
        written at upload."""
        return f"{self.namespace}:c:{cid}:brokers"

    def due(self, cid: str) -> str:
        """zset: broker -> epoch ms its queue next has a row to feed (absent: nothing to do
        until a script wakes it)."""
        return f"{self.namespace}:c:{cid}:due"

    def wake(self, cid: str) -> str:
        """list: a token pushed when a broker becomes due now; the leading feeder blocks on it."""
        return f"{self.namespace}:c:{cid}:wake"

    def agents(self, cid: str) -> str:
        """zset: an agent of the campaign's caller pool -> epoch ms it is free from (ends of
        calls); the one free longest takes the next row without a caller."""
        return f"{self.namespace}:c:{cid}:agents"

    def caller_stats(self, cid: str) -> str:
        """hash: n:CALLER calls placed, connected:CALLER, talk_s:CALLER, busy_ms:CALLER (ring
        to release, from call records), in this campaign; disposed:CODE dispositions saved
        with that code (AgentStore.dispose)."""
        return f"{self.namespace}:c:{cid}:callers"

    def parked(self, cid: str, caller: str) -> str:
        """list: "broker SEP packed entry" of PENDING rows waiting for this (busy) caller, in
        source order; a row goes back to the head of its broker queue when the caller frees."""
        return self.parked_prefix(cid) + caller

    def parked_prefix(self, cid: str) -> str:
        return f"{self.namespace}:c:{cid}:parked:"

    def parked_callers(self, cid: str) -> str:
        """set: callers with rows parked in this campaign."""
        return f"{self.namespace}:c:{cid}:parked-callers"

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

    def records_stats(self, cid: str) -> str:
        """hash: failed:CODE -> call-record lookups that failed so; unknown:CODE -> UNKNOWN rows
        whose lookups ended for that reason (Reconcile.NotFound, ...)."""
        return f"{self.namespace}:c:{cid}:records-stats"

    def records_lease(self, instance_id: str) -> str:
        """string: the worker id polling this CCC instance's call records; expires unless
        renewed. One poller per instance: one listing serves every campaign on it."""
        return f"{self.namespace}:records-lease:{instance_id}"

    def broker_down(self, cid: str) -> str:
        """hash: broker -> error code that took it out of this campaign."""
        return f"{self.namespace}:c:{cid}:down"

    def feeder_lease(self, cid: str) -> str:
        """string: the worker id leading this campaign's feeder; expires unless renewed."""
        return f"{self.namespace}:c:{cid}:feeder"

    def broker_capped(self, cid: str) -> str:
        """hash: broker -> day key on which it reached its daily cap in this campaign."""
        return f"{self.namespace}:c:{cid}:capped"

    def callee_caps(self, callee: str) -> str:
        """hash: d:DAY / m:MONTH (campaign zone) -> calls begun to a callee, every campaign."""
        return f"{self.namespace}:cap:callee:{callee}"

    def broker_day(self, day: str, broker: str) -> str:
        """string counter: calls begun on a broker number on a day."""
        return f"{self.namespace}:cap:b:{day}:{broker}"

    def dnc(self) -> str:
        """hash: the do-not-call list, every campaign: number (as a sheet's callee is
        normalised) -> epoch ms it was added. BEGIN_DIAL refuses a callee on it."""
        return f"{self.namespace}:dnc"

    def pair_guard(self, caller: str, callee: str) -> str:
        """string with TTL: this caller+callee pair was just called; no repeat until it expires."""
        return f"{self.namespace}:pair:{caller}:{callee}"

    def retention_sweep(self) -> str:
        """string with TTL: the worker that last swept campaigns past DIALER_RETENTION_DAYS;
        no worker sweeps again until it expires."""
        return f"{self.namespace}:retention-sweep"

    def caller(self, number: str) -> str:
        """zset: the calls a caller (a person) is in, queued, dialling or talking, every
        campaign: "campaign:row" -> epoch ms the call holds them until (its max hold while its
        end is unknown; release + wrap-up once known)."""
        return self.caller_prefix() + number

    def caller_prefix(self) -> str:
        return f"{self.namespace}:caller:"

    def presence(self, number: str) -> str:
        """hash: an agent's presence, every campaign (dialer.agents): state (READY, BREAK,
        OFFLINE), reason, since (epoch ms), missed (rings not answered in a row), screen (1:
        kept by their own screen, which beats every few seconds), seen (epoch ms of its last
        beat), account. No hash: the agent is presumed present unless a campaign wants
        sign-in. Lua reads it through presence_prefix."""
        return self.presence_prefix() + number

    def presence_prefix(self) -> str:
        return f"{self.namespace}:presence:"

    def agent_calls(self, number: str) -> str:
        """list: "campaign:row" of the last calls begun with this agent as caller, newest
        first (BEGIN_DIAL; a few dozen kept): the calls their screen may still dispose of."""
        return f"{self.namespace}:agent-calls:{number}"

    def agents_upkeep(self) -> str:
        """string with TTL: the worker running the agents' upkeep (dialer.agents.upkeep)."""
        return f"{self.namespace}:agents-upkeep"

    def presences(self) -> str:
        """zset: every agent with a presence hash -> epoch ms it last changed: the wall."""
        return f"{self.namespace}:presences"

    def agent_day(self, day: str, number: str) -> str:
        """hash with a TTL: one agent's figures for one day (campaign zone of each call):
        calls, connects, talk_s, missed (from call records), break_ms (closed breaks) and
        break_ms:REASON (the same by the break's reason)."""
        return f"{self.namespace}:agent-day:{day}:{number}"

    def callbacks(self, cid: str) -> str:
        """zset: "owner SEP broker SEP packed entry" of a row waiting for its callback -> epoch
        ms it is due (owner empty: anyone). FEED hands it to the owner when they are free, or
        a pool row to anyone after the campaign's --callback-grace."""
        return f"{self.namespace}:c:{cid}:callbacks"

    def agent_shares(self) -> str:
        """hash: campaigns lately short of pool agents, every campaign: campaign id -> JSON of
        its priority, weight, pass and wait (prelude.lua `free_agent`), so campaigns sharing
        agents take turns by --priority and --weight."""
        return f"{self.namespace}:agent-shares"

    def pace(self, broker: str) -> str:
        """string: next free slot (epoch ms, Redis clock) of a broker number, across campaigns."""
        return self.pace_prefix() + broker

    def pace_prefix(self) -> str:
        return f"{self.namespace}:pace:"

    def last_dial(self, broker: str) -> str:
        """string: epoch ms (Redis clock) a call on this broker last began, across campaigns."""
        return f"{self.namespace}:last:{broker}"

    def pace_account(self) -> str:
        """string: next free slot of the account-wide QPS cap (DIALER_MAX_QPS)."""
        return f"{self.namespace}:account:pace"

    def replication_lag(self) -> str:
        """string with TTL: epoch ms (Redis clock) a claim was last held back because the
        Redis replicas did not acknowledge it in time; gone a minute after."""
        return f"{self.namespace}:replication-lag"

    def last_account_dial(self) -> str:
        """string: epoch ms (Redis clock) the account's last call began (DIALER_MAX_QPS)."""
        return f"{self.namespace}:account:last"

    def breaker(self, name: str) -> str:
        """hash: the circuit breaker of one CCC endpoint and instance ("host|instance"):
        state (closed/open), failures in a row, since (epoch ms it opened), spacing and
        next_probe (ms), probe (the worker probing) and probe_until, error (last code)."""
        return f"{self.namespace}:ccc:{name}"

    def breakers(self) -> str:
        """set: names of every breaker that ever counted a failure, for status."""
        return f"{self.namespace}:ccc-breakers"

    def workers(self) -> str:
        """zset: worker id -> epoch ms of its last heartbeat (kept after it dies, so status
        can say since when no worker is alive)."""
        return f"{self.namespace}:workers"

    def worker(self, worker_id: str) -> str:
        """hash with a short TTL: one worker process's heartbeat (name, host, pid, queues,
        concurrency, healthy 1/0, reason, in_flight, started_at, seen_at)."""
        return f"{self.namespace}:worker:{worker_id}"

    def celery_queue(self, queue: str) -> str:
        """list: Celery's messages waiting in one queue (kombu's key, under our prefix)."""
        return self.celery_prefix() + queue

    def celery_prefix(self) -> str:
        """Prefix of Celery's own keys (kombu's global_keyprefix): queues, unacked messages."""
        return f"{self.namespace}:celery:"

    def accounts(self) -> str:
        """set: the names of every person's account."""
        return f"{self.namespace}:accounts"

    def account(self, name: str) -> str:
        """hash: one account: role, phone, disabled 1/0, version (the credential version every
        session, token and sign-in link carries), password (scrypt hash), created (epoch ms)."""
        return f"{self.namespace}:account:{name}"

    def account_tokens(self, name: str) -> str:
        """set: ids of the personal API tokens of one account."""
        return f"{self.namespace}:account-tokens:{name}"

    def api_token(self, token_id: str) -> str:
        """hash: one personal API token: account, version, hash (scrypt of its secret),
        label, created (epoch ms). The secret itself is never stored."""
        return f"{self.namespace}:api-token:{token_id}"

    def sign_in_link(self, link_id: str) -> str:
        """hash with a TTL: a one-time sign-in link: account, version, hash (scrypt of its
        secret); deleted when used."""
        return f"{self.namespace}:sign-in-link:{link_id}"

    def audit(self) -> str:
        """stream: the audit trail, one entry per change, sign-in or refused attempt (who, role,
        address, action, target, outcome, detail JSON); trimmed by age (MINID), never edited."""
        return f"{self.namespace}:audit"

    def append_lock(self, cid: str) -> str:
        """string with TTL: the process appending rows to this campaign (`dialer append`);
        rows are numbered on from the campaign's total, so one append at a time."""
        return f"{self.namespace}:c:{cid}:append"

    # --- events and webhooks (dialer/engine/events.py) ------------------------------------

    def outbox(self) -> str:
        """stream: events written by the transition scripts (type, campaign, row, attempt,
        seq, at, data), each read once by a dispatcher (consumer group) and deleted once fanned
        out to its endpoints' deliveries."""
        return f"{self.namespace}:events"

    def event_seq(self, cid: str) -> str:
        """hash: row number (or "-" for the campaign's own events) -> events emitted so far:
        the per-row sequence number."""
        return f"{self.namespace}:c:{cid}:seq"

    def webhook_endpoints(self, cid: str) -> str:
        """hash: endpoint id -> JSON {url, events, secrets} of the campaign's own webhooks,
        written at upload (the secrets are shared secrets kept to sign, never logged)."""
        return f"{self.namespace}:c:{cid}:webhooks"

    def webhook_state(self, cid: str) -> str:
        """hash: ENDPOINT:failures (in a row), ENDPOINT:failing_since (epoch ms of the first),
        ENDPOINT:disabled (why, empty: enabled), ENDPOINT:disabled_at, of the campaign's
        endpoints."""
        return f"{self.namespace}:c:{cid}:webhook-state"

    def webhook_global_state(self) -> str:
        """hash: failures, failing_since, disabled, disabled_at of the global endpoint
        (DIALER_WEBHOOK_URL)."""
        return f"{self.namespace}:webhook-global"

    def webhook_events(self, cid: str) -> str:
        """hash: event id -> the JSON body sent for it (the same bytes on every delivery)."""
        return f"{self.namespace}:c:{cid}:events"

    def webhook_event_times(self, cid: str) -> str:
        """zset: event id -> epoch ms it occurred (Redis clock): redelivery by time."""
        return f"{self.namespace}:c:{cid}:event-times"

    def webhook_deliveries(self, cid: str) -> str:
        """hash: "EVENT|ENDPOINT" -> JSON delivery record (state, attempts, first_at, the last
        few attempts' time, status, latency, error)."""
        return f"{self.namespace}:c:{cid}:deliveries"

    def webhook_due(self) -> str:
        """zset: "CAMPAIGN|EVENT|ENDPOINT" -> epoch ms (Redis clock) the delivery is next due;
        a delivery handed to a task stays here, due again after its lease, until it ends."""
        return f"{self.namespace}:webhook-due"

    def webhook_breakers(self) -> str:
        """hash: "CAMPAIGN|ENDPOINT" -> JSON {probe_at, interval, probe} of each endpoint whose
        circuit is open (failing in a row): its deliveries wait in webhook_parked, and one at
        a time is tried at `probe_at` (epoch ms, Redis clock)."""
        return f"{self.namespace}:webhook-breakers"

    def webhook_parked(self) -> str:
        """zset, every score 0 (read by lex range): "CAMPAIGN|ENDPOINT|EVENT" of deliveries
        taken out of webhook_due while their endpoint's circuit is open; all due again at
        once when it closes."""
        return f"{self.namespace}:webhook-parked"

    def campaign_keys(self, cid: str, brokers: list[str]) -> list[str]:
        """Every key that belongs to one campaign alone."""
        per_campaign = (
            self.meta,
            self.rows,
            self.brokers,
            self.due,
            self.wake,
            self.retry,
            self.state,
            self.result,
            self.counts,
            self.lease,
            self.inflight,
            self.dialed,
            self.cdr_due,
            self.reconcile,
            self.broker_down,
            self.feeder_lease,
            self.broker_capped,
            self.records_stats,
            self.agents,
            self.parked_callers,
            self.caller_stats,
            self.callbacks,
            self.event_seq,
            self.webhook_endpoints,
            self.webhook_state,
            self.webhook_events,
            self.webhook_event_times,
            self.webhook_deliveries,
        )
        return [key(cid) for key in per_campaign] + [self.queue(cid, b) for b in brokers]
