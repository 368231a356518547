"""The agent's desk: a card for each call that is theirs — reserved for them (before their phone
rings: CCC shows them only the broker number), ringing, in progress, or ended and waiting
for their disposition — and their own callbacks. Only calls that hold this agent, or that
were placed with this agent as caller, are ever shown: never another agent's customer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialer.engine.codec import Campaign
from dialer.engine.presence import AgentStore, Callback
from dialer.engine.store import CampaignStore
from dialer.errors import CampaignNotFound
from dialer.models import RowState
from dialer.phones import mask_caller, mask_number
from dialer.strategy import dispositions
from dialer.times import shown

# A call ended this long ago without a disposition drops off the agent's desk.
UNDISPOSED_KEPT_MS = 12 * 3600 * 1000
_STATES = {
    RowState.QUEUED.value: "reserved",
    RowState.DIALING.value: "ringing",
    RowState.UNKNOWN.value: "unknown",
}


@dataclass(frozen=True)
class CallRef:
    campaign: str
    row: int
    held: bool  # the call holds the agent now (reserved, ringing, talking, wrap-up)


class Desk:
    def __init__(self, agents: AgentStore, campaigns: CampaignStore) -> None:
        self.agents = agents
        self.campaigns = campaigns

    def calls(self, number: str) -> list[CallRef]:
        """The agent's calls worth a card, newest first: those holding them, then placed
        calls of theirs still waiting for a disposition."""
        held = [CallRef(h.campaign, h.row, True) for h in self.agents.holds(number)]
        seen = {(c.campaign, c.row) for c in held}
        recent = [
            CallRef(cid, row, False)
            for cid, row in self.agents.recent_calls(number)
            if (cid, row) not in seen
        ]
        return held + recent

    def cards(self, number: str, *, whole_numbers: bool = False) -> list[dict[str, Any]]:
        now = self.agents.now_ms()
        cards = []
        campaigns: dict[str, Campaign | None] = {}
        for ref in self.calls(number):
            if ref.campaign not in campaigns:
                campaigns[ref.campaign] = self._campaign(ref.campaign)
            campaign = campaigns[ref.campaign]
            if campaign is None:
                continue
            card = self.card(campaign, ref, number, now, whole_numbers=whole_numbers)
            if card is not None:
                cards.append(card)
        return cards

    def card(
        self,
        campaign: Campaign,
        ref: CallRef,
        number: str,
        now: int,
        *,
        whole_numbers: bool = False,
    ) -> dict[str, Any] | None:
        cid, row = campaign.id, ref.row
        state = self.campaigns.row_state(cid, row)
        result = self.campaigns.result_of(cid, row)
        job_id = str(result.get("job_id") or "")
        if state in (RowState.QUEUED.value, RowState.DIALING.value):
            if not ref.held:
                return None  # queued again since, for someone else
            live = _STATES[state]
            since = now
        else:
            if result.get("caller") != number or not job_id:
                return None
            saved = result.get("disposition") or {}
            if saved.get("job_id") == job_id:
                return None  # disposed of
            placed = int(result.get("last_attempt_at") or 0)
            if not ref.held and now - placed > UNDISPOSED_KEPT_MS:
                return None
            live = _STATES.get(state) or ("ended" if result.get("released_at") else "in_call")
            since = int(result.get("released_at") or placed or now)
        source = self.campaigns.source_row(cid, row) or []
        callee = str(source[2]) if len(source) > 2 else ""
        columns = dict(zip(campaign.passthrough, source[7:], strict=False))
        settings = campaign.settings
        return {
            "campaign": cid,
            "campaign_name": settings.name,
            "row": row,
            "state": live,
            "since_ms": since,
            "job_id": job_id or None,
            "customer": {k: "" if v is None else str(v) for k, v in columns.items()},
            "callee_masked": callee if whole_numbers else mask_number(callee),
            "agent_notes": settings.agent_notes,
            "history": self._history(result, campaign),
            "dispositions": [c.as_dict() for c in dispositions.codes(settings.dispositions)],
            "timezone": settings.timezone,
        }

    def callbacks(self, number: str | None = None) -> list[dict[str, Any]]:
        """Callbacks waiting in running campaigns, soonest first: this agent's own (None:
        everyone's), each with its state: scheduled, due (its time has come) or missed (past
        its grace and still not taken)."""
        now = self.agents.now_ms()
        out = []
        for cid in self.campaigns.running_ids():
            campaign = self._campaign(cid)
            if campaign is None:
                continue
            for cb in self.agents.callbacks(cid):
                if number is not None and cb.owner != number:
                    continue
                out.append(self._callback(campaign, cb, now))
        return sorted(out, key=lambda c: c["due_ms"])

    def _callback(self, campaign: Campaign, cb: Callback, now: int) -> dict[str, Any]:
        grace_ms = int(campaign.settings.callback_grace_s * 1000)
        state = "scheduled" if cb.due_ms > now else "due"
        if cb.due_ms + grace_ms <= now:
            state = "missed"
        source = self.campaigns.source_row(campaign.id, cb.row) or []
        columns = dict(zip(campaign.passthrough, source[7:], strict=False))
        name = next((str(v) for k, v in columns.items() if "name" in str(k).lower() and v), "")
        return {
            "campaign": campaign.id,
            "campaign_name": campaign.settings.name,
            "row": cb.row,
            "due_ms": cb.due_ms,
            "due": shown(cb.due_ms, campaign.settings.timezone),
            "owner": cb.owner,
            "for": "me" if cb.owner else "anyone",
            "state": state,
            "customer_name": name,
            "callee_masked": mask_number(cb.entry.callee),
        }

    def _history(self, result: dict[str, Any], campaign: Campaign) -> list[dict[str, Any]]:
        """This customer's earlier calls and what their agents noted."""
        notes = {d.get("job_id"): d for d in result.get("dispositions") or []}
        out = []
        for call in result.get("history") or []:
            saved = notes.get(call.get("job_id")) or {}
            out.append(
                {
                    "at_ms": call.get("at"),
                    "at": shown(call.get("at"), campaign.settings.timezone),
                    "outcome": call.get("outcome"),
                    "talk_seconds": call.get("talk_seconds", 0),
                    "agent_masked": mask_caller(str(call.get("caller") or "")),
                    "disposition": saved.get("code"),
                    "notes": saved.get("notes", ""),
                }
            )
        return out

    def _campaign(self, cid: str) -> Campaign | None:
        try:
            return self.campaigns.campaign(cid)
        except CampaignNotFound:
            return None
