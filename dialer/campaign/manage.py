"""Campaign management shared by the CLI and the web console: listing campaigns, the rows
that match a filter, deleting a campaign, and removing finished ones past their retention.
Both front ends call these functions, so they can never disagree."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dialer import times
from dialer.campaign.activity import Activity
from dialer.campaign.status import status_view
from dialer.engine import Campaign, CampaignStore, Engine, Refusal
from dialer.errors import CampaignNotFound, WrongStatus
from dialer.i18n.meanings import MEANINGS, OUTCOME_MEANINGS
from dialer.models import TERMINAL_STATES, CampaignStatus, RowState
from dialer.phones import mask_number, mask_quoting, mask_text

# What `delete` may remove: nothing is dialling, nor will until someone starts it.
DELETABLE = frozenset({CampaignStatus.READY, CampaignStatus.DONE, CampaignStatus.CANCELLED})
# What retention removes once it is old enough.
FINISHED = frozenset({CampaignStatus.DONE, CampaignStatus.CANCELLED})
LISTED = tuple(s for s in CampaignStatus if s is not CampaignStatus.UPLOADING)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class CampaignSummary:
    """One line of `dialer list` and of the console's campaign list."""

    id: str
    name: str
    status: CampaignStatus
    file: str
    created_at_ms: int
    timezone: str
    total: int
    accepted: int
    rejected: int
    done: int
    calls_per_s: float  # 0 unless it is dialling now

    @property
    def created_local(self) -> str:
        """'2026-03-02 09:00 Asia/Shanghai': when it was uploaded, in its own zone."""
        return times.shown(self.created_at_ms, self.timezone, seconds=False)

    @property
    def progress(self) -> str:
        share = f" {100 * self.done // self.total}%" if self.total else ""
        return f"{self.done}/{self.total}{share}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "file": self.file,
            "created_at": self.created_at_ms / 1000,
            "created": self.created_local,
            "timezone": self.timezone,
            "total": self.total,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "done": self.done,
            "calls_per_s": self.calls_per_s,
        }


def list_campaigns(
    engine: Engine, *, statuses: Iterable[CampaignStatus] = (), limit: int | None = None
) -> list[CampaignSummary]:
    """Stored campaigns, newest first, only those in `statuses` if any are given."""
    store = engine.store
    wanted = set(statuses)
    out: list[CampaignSummary] = []
    for cid in reversed(store.campaign_ids()):
        if limit is not None and len(out) >= limit:
            break
        try:
            campaign = store.campaign(cid)
        except CampaignNotFound:  # deleted while we listed
            continue
        if wanted and campaign.status not in wanted:
            continue
        out.append(_summary(engine, campaign))
    return out


def _summary(engine: Engine, campaign: Campaign) -> CampaignSummary:
    counts = engine.store.counts(campaign.id)
    rate = 0.0
    if campaign.status is CampaignStatus.RUNNING:
        report = status_view(engine, campaign.id)
        if report.activity is Activity.DIALLING:
            rate = report.rate_per_s or 0.0
    s = campaign.settings
    return CampaignSummary(
        id=campaign.id,
        name=s.name,
        status=campaign.status,
        file=campaign.file,
        created_at_ms=campaign.created_at_ms,
        timezone=s.timezone,
        total=campaign.total,
        accepted=campaign.accepted,
        rejected=campaign.rejected,
        done=sum(n for st, n in counts.items() if st in TERMINAL_STATES),
        calls_per_s=rate,
    )


def check_deletable(campaign: Campaign) -> None:
    """WrongStatus unless `delete_campaign` may remove it (asked before anyone is asked to
    confirm; the deletion checks again, atomically)."""
    if campaign.status not in DELETABLE:
        raise WrongStatus(_not_deletable(campaign.id, campaign.status))


def _not_deletable(cid: str, status: CampaignStatus) -> str:
    return (
        f"campaign {cid} is {status.value}: only a READY, DONE or CANCELLED campaign can be "
        f"deleted (cancel it first: dialer cancel {cid})"
    )


def delete_campaign(engine: Engine, cid: str) -> Campaign:
    """Remove every key of a campaign that is READY, DONE or CANCELLED (returned as it was).
    CampaignNotFound, or WrongStatus for one that is running, paused, or still has calls
    under way (a cancelled campaign lets those finish)."""
    campaign = engine.store.campaign(cid)
    why = engine.delete(cid, allowed=set(DELETABLE))
    if why is None:
        return campaign
    if why is Refusal.NO_CAMPAIGN:
        raise CampaignNotFound(f"no campaign {cid!r}")
    if why is Refusal.IN_FLIGHT:
        n = engine.store.counts(cid).get(RowState.DIALING.value, 0)
        lease_s = round(engine.timing.dialing_lease_ms / 1000)
        raise WrongStatus(
            f"campaign {cid} still has {n} call(s) under way; delete it once they end "
            f"(within {lease_s} s)"
        )
    raise WrongStatus(_not_deletable(cid, engine.store.campaign(cid).status))


def expire_campaigns(engine: Engine, retention_days: float, now_ms: int) -> list[str]:
    """Delete DONE and CANCELLED campaigns that finished more than `retention_days` before
    `now_ms` (Redis clock); the ids deleted."""
    cutoff = now_ms - int(retention_days * DAY_MS)
    gone = []
    for cid in engine.store.campaign_ids():
        if engine.delete(cid, allowed=set(FINISHED), finished_before_ms=cutoff) is None:
            gone.append(cid)
    return gone


# --- rows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowView:
    """One row of `dialer rows` and of the console's row lists, with why it is where it is."""

    row: int
    state: str
    caller: str
    callee: str
    broker: str
    error_code: str  # what ended its last attempt (or the sheet's reason)
    reconcile_code: str  # for an UNKNOWN row: what the call records showed
    outcome: str  # a placed call's end: CONNECTED, BUSY, ...
    message: str
    attempts: int
    passthrough: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [c for c in (self.error_code, self.reconcile_code, self.outcome) if c]

    @property
    def code(self) -> str:
        """'Client.ReadTimeout, Reconcile.NotFound', 'Sheet.Duplicate', 'CONNECTED'."""
        return ", ".join(self.codes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "state": self.state,
            "caller": self.caller,
            "callee": self.callee,
            "broker": self.broker,
            "code": self.code,
            "error_code": self.error_code,
            "reconcile_code": self.reconcile_code,
            "outcome": self.outcome,
            "message": self.message,
            "attempts": self.attempts,
            "passthrough": self.passthrough,
        }


@dataclass(frozen=True)
class RowFilter:
    """Rows in any of `states` (all states when empty) with a code matching one of `codes`:
    shell-style patterns, any case (`Sheet.*`), against the error code, the reconcile reason
    (as `dialer redial --code` selects) and the call's outcome; all rows when empty."""

    states: frozenset[RowState] = frozenset()
    codes: tuple[str, ...] = ()

    def keeps(self, view: RowView) -> bool:
        if self.states and view.state not in self.states:
            return False
        if not self.codes:
            return True
        mine = [c.lower() for c in view.codes]
        return any(fnmatch.fnmatchcase(c, p.lower()) for c in mine for p in self.codes)


def find_rows(
    store: CampaignStore,
    cid: str,
    where: RowFilter,
    *,
    limit: int | None = None,
    masked: bool = False,
) -> list[RowView]:
    """Up to `limit` rows matching `where`, in source order (CampaignNotFound first)."""
    campaign = store.campaign(cid)
    found: list[RowView] = []
    for rec, state, outcome in _candidates(store, cid, where):
        view = _view(campaign, rec, state, outcome)
        if where.keeps(view):
            found.append(_masked(view) if masked else view)
            if limit is not None and len(found) >= limit:
                break
    return found


def _candidates(
    store: CampaignStore, cid: str, where: RowFilter
) -> Iterator[tuple[list[Any], str, dict[str, Any]]]:
    # Rows out of PENDING have a state entry; asked for those alone, only they are read.
    if where.states and RowState.PENDING not in where.states:
        yield from store.rows_in_states(cid, {s.value for s in where.states})
    else:
        yield from store.iter_rows(cid)


def _view(campaign: Campaign, rec: list[Any], state: str, outcome: dict[str, Any]) -> RowView:
    width = 7 + len(campaign.passthrough)
    source = ["" if v is None else str(v) for v in rec] + [""] * (width - len(rec))
    codes = [str(outcome.get(k) or "") for k in ("error_code", "reconcile_code", "outcome")]
    said = [str(outcome.get(k) or "") for k in ("error_message", "reconcile", "release_reason")]
    first = next((c for c in codes if c), "")
    message = " — ".join(p for p in said if p) or MEANINGS.get(
        first, OUTCOME_MEANINGS.get(first, "")
    )
    return RowView(
        row=int(source[0]),
        state=state.split("|", 1)[0],
        caller=source[1],
        callee=source[2],
        broker=str(outcome.get("broker") or source[3]),
        error_code=codes[0],
        reconcile_code=codes[1],
        outcome=codes[2],
        message=message,
        attempts=int(outcome.get("attempts") or 0),
        passthrough=dict(zip(campaign.passthrough, source[7:], strict=False)),
    )


def _masked(view: RowView) -> RowView:
    return dataclasses.replace(
        view,
        caller=mask_number(view.caller),
        callee=mask_number(view.callee),
        message=mask_quoting(view.message, view.callee, view.caller),
        passthrough={k: mask_text(v) for k, v in view.passthrough.items()},
    )
