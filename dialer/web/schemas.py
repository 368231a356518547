"""What the JSON API answers, typed: each route names its model, so `/api/openapi.json`
describes every response and a client (or a generator such as schemathesis) can check it.
Documents that grow with the product (a campaign's status, a row) allow fields beyond these:
a client reads what it knows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ApiError(BaseModel):
    error: str = Field(description="a code: Options.Invalid, Campaign.NotFound, …")
    message: str


# The errors any API route may answer, each an ApiError (documented on every API router).
API_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ApiError, "description": what}
    for code, what in (
        (400, "a request or option the CLI would refuse, in its words"),
        (401, "not signed in"),
        (403, "not allowed"),
        (404, "no such campaign"),
        (409, "the campaign's status does not allow it"),
        (413, "an upload larger than the console takes"),
        (422, "a sheet or file that cannot be used"),
        (503, "Redis cannot be reached"),
    )
}


class CampaignListed(_Open):
    id: str
    name: str
    status: str
    file: str
    created_at: float = Field(description="epoch seconds")
    created: str = Field(description="when it was uploaded, in its own zone, the zone named")
    timezone: str
    total: int
    accepted: int
    rejected: int
    done: int
    calls_per_s: float


class CampaignList(BaseModel):
    campaigns: list[CampaignListed]


class Wait(BaseModel):
    for_: str = Field(alias="for")
    rows: int
    cap: int | None = None
    until_ms: int | None = None


class Stalled(BaseModel):
    cause: str
    idle_s: int


class BrokerNow(_Open):
    number: str
    limit_per_s: float
    dispatched: int
    achieved_per_s: float
    waiting: int
    down: str


class CallerNow(_Open):
    number: str
    masked: str
    calls: int
    connected: int
    talk_s: int
    busy_share: float
    now: str
    missed: int = 0


class AgentAway(_Open):
    number: str
    masked: str
    state: str = Field(description="BREAK or OFFLINE")
    reason: str
    since_ms: int


class UnhealthyWorker(BaseModel):
    name: str
    reason: str


class Outage(BaseModel):
    endpoint: str
    since_ms: int
    next_probe_ms: int | None = None
    next_probe_in_s: int | None = None
    error: str


class WebhookDisabled(BaseModel):
    endpoint: str
    reason: str = Field(description="Webhook.Gone (410) or Webhook.Failing")


class ReplicationLag(BaseModel):
    code: str
    at_ms: int


class FunnelStep(BaseModel):
    contact: int
    reached: int
    reached_so_far: int


class Customers(BaseModel):
    """Customers dialled and reached against calls placed; the funnel: reached on which
    contact (a missed agent leg is no contact)."""

    dialled: int
    reached: int
    calls: int
    agent_misses: int
    funnel: list[FunnelStep]


class CampaignStatusDoc(_Open):
    """What `dialer status --json` prints."""

    id: str
    name: str
    status: str
    activity: str
    reason: str
    pause_reason: str
    pause_code: str
    waits: list[Wait]
    stalled: Stalled | None
    resumes_at_ms: int | None
    timezone: str
    windows: str
    total: int
    done: int
    counts: dict[str, int]
    rate_per_s: float | None
    eta_s: float | None
    finishes_at_ms: int | None
    brokers: list[BrokerNow]
    unknown_reasons: dict[str, int]
    lookup_failures: dict[str, int]
    callers: list[CallerNow]
    agents_away: list[AgentAway] = []  # the campaign's agents on break or offline
    dispositions: dict[str, int] = {}  # dispositions saved so far, by code
    workers_alive: int
    workers_last_seen_ms: int | None
    unhealthy_workers: list[UnhealthyWorker]
    ccc_unreachable: Outage | None
    webhooks_disabled: list[WebhookDisabled] = []
    replication_lag: ReplicationLag | None = None  # a claim held back in the last minute
    retry_waiting: int = 0
    retry_next_ms: int | None = None
    outcomes: dict[str, int] = Field(
        default={}, description="calls' outcomes from their records, most common first"
    )
    no_record: int = 0
    customers: Customers | None = None


class Row(_Open):
    row: int
    state: str
    caller: str
    callee: str
    broker: str
    code: str
    error_code: str
    reconcile_code: str
    outcome: str
    message: str
    error_message: str
    attempts: int
    passthrough: dict[str, str]


class Rows(BaseModel):
    rows: list[Row]


class ControlDone(BaseModel):
    id: str
    status: str
    cancelled: int | None = Field(None, description="rows cancelled (cancel only)")


class Uploaded(_Open):
    id: str
    total: int
    accepted: int
    rejected: int
    reasons: dict[str, int] = Field(description="rejected rows by reason code")
    webhook_secret: str | None = Field(
        None, description="the --webhook endpoints' new signing secret: answered this once"
    )


class BrokerShare(BaseModel):
    rows: int
    rate_per_s: float


class Preview(_Open):
    file: str
    kind: str
    encoding: str | None
    delimiter: str | None
    columns: dict[str, str | None]
    passthrough: list[str]
    total: int
    accepted: int
    rejected: int
    reasons: dict[str, int]
    brokers: dict[str, BrokerShare]
    first_rows: list[dict[str, str | int]]
    rejected_rows: list[dict[str, str | int]]


class TokenKept(BaseModel):
    id: str
    label: str
    created_ms: int = Field(description="epoch ms")


class TokenShown(TokenKept):
    token: str = Field(description="the token itself: shown this once, only its hash is kept")


class Account(_Open):
    name: str
    role: str = Field(description="admin, supervisor, operator, agent or viewer")
    phone: str = Field("", description="an agent's own phone number")
    disabled: bool = False
    has_password: bool = False
    created_ms: int = Field(0, description="epoch ms")
    link: str | None = Field(
        None, description="added or reset: the one-time sign-in link (shown this once)"
    )


class Me(Account):
    via: str = Field(description="console-token, api-token or session")
    tokens: list[TokenKept]


class Users(BaseModel):
    users: list[Account]


class AuditEntry(_Open):
    id: str
    at_ms: int = Field(description="epoch ms")
    at: str = Field(description="ISO 8601, UTC")
    who: str = Field(description="account name, OS user (role shell), or empty: unknown")
    role: str
    address: str = Field(description="the client's IP, or cli@HOST")
    action: str = Field(description="upload, start, …, users.add, sign-in, or METHOD /path")
    target: str = Field(description="a campaign id, an account name, a token id")
    outcome: str = Field(description="ok, failed or refused")
    detail: dict[str, Any]


class AuditTrail(BaseModel):
    entries: list[AuditEntry]


class WebhookEndpointDoc(BaseModel):
    id: str = Field(description="1, 2, … in the order given at upload; global: DIALER_WEBHOOK_URL")
    url: str = Field(description="scheme, host, port and path (a query is not shown)")
    events: list[str]
    failures: int = Field(description="failed attempts in a row")
    disabled: str = Field(description="why it is disabled; empty: enabled")
    disabled_at_ms: int | None
    delivered: int
    pending: int
    held: int = Field(description="waiting for a redelivery: the endpoint was disabled")
    given_up: int
    gone: int
    paused: bool = Field(
        False, description="failing in a row: deliveries wait, tried one probe at a time"
    )


class WebhookDeliveryDoc(_Open):
    event: str
    endpoint: str
    state: str = Field(description="pending, delivered, held, given_up, gone")
    attempts: int
    occurred_at_ms: int | None
    last_at_ms: int | None
    last_status: int | None
    latency_ms: int | None
    last_error: str
    next_at_ms: int | None


class Webhooks(BaseModel):
    """What `dialer webhooks ID --json` prints."""

    campaign: str
    endpoints: list[WebhookEndpointDoc]
    deliveries: list[WebhookDeliveryDoc] = Field(description="the most recent first")


class Redelivery(BaseModel):
    """Events to deliver again: by id, or every one since a time ("2h", "2026-12-04 10:00")."""

    event_ids: list[str] = []
    since: str | None = None
    endpoint: str | None = Field(None, description="this endpoint only (default: every one)")


class Redelivered(BaseModel):
    id: str
    queued: int = Field(description="deliveries queued again")


class Appended(Uploaded):
    examples: dict[str, list[str]] = Field(description="a few rejected rows per reason")


class DncEntry(BaseModel):
    number: str
    added_at_ms: int | None = None


class DncList(BaseModel):
    numbers: list[DncEntry]


class DncChanged(BaseModel):
    added: int | None = None
    removed: int | None = None


# --- agents at work (docs/agents.md) ----------------------------------------------------


class Presence(BaseModel):
    number: str
    state: str | None = Field(description="READY, BREAK, OFFLINE; null: never set")
    reason: str = ""
    since_ms: int | None = None
    missed: int = Field(description="rings not answered in a row")
    screen: bool = Field(description="kept alive by the agent's own screen")
    seen_ms: int | None = None
    account: str = ""
    reasons: list[str] = Field(description="the break reasons an agent may pick")


class DispositionCode(BaseModel):
    code: str
    action: str = Field(description="done, recycle, callback or dnc")
    delay_s: float | None = None


class CardCall(_Open):
    at_ms: int | None = None
    at: str = ""
    outcome: str | None = None
    talk_seconds: int | None = 0
    agent_masked: str = ""
    disposition: str | None = None
    notes: str = ""


class Card(_Open):
    campaign: str
    campaign_name: str
    row: int
    state: str = Field(description="reserved, ringing, in_call, ended or unknown")
    since_ms: int
    job_id: str | None = None
    customer: dict[str, str] = Field(description="the sheet's own columns")
    callee_masked: str
    agent_notes: str = ""
    history: list[CardCall]
    dispositions: list[DispositionCode]
    timezone: str


class CallbackDue(_Open):
    campaign: str
    campaign_name: str
    row: int
    due_ms: int
    due: str
    owner: str = Field(description="the agent's number; empty: anyone")
    for_: str = Field(alias="for")
    state: str = Field(description="scheduled, due or missed")
    customer_name: str = ""
    callee_masked: str = ""


class AgentDesk(BaseModel):
    presence: Presence
    calls: list[Card]
    callbacks: list[CallbackDue]


class AgentToday(BaseModel):
    calls: int
    connects: int
    talk_s: int
    break_s: int
    missed: int


class AgentCall(BaseModel):
    campaign: str
    campaign_name: str
    row: int
    state: str
    callee_masked: str
    since_ms: int


class AgentLine(BaseModel):
    number: str
    account: str = ""
    presence: Presence
    in_state_s: int | None = None
    call: AgentCall | None = None
    today: AgentToday


class AgentWall(BaseModel):
    agents: list[AgentLine]
    callbacks: list[CallbackDue]


class DispositionSaved(_Open):
    campaign: str
    row: int
    code: str
    action: str
    notes: str
    agent: str
    job_id: str
    callback_at: int | None = None
    callback_owner: str | None = None
    applied: bool = Field(description="what it asks of the row was done now (record in)")
