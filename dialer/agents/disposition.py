"""Saving a disposition: the agent's code, notes and callback for one call of theirs. It ends
their wrap-up at once (DISPOSE frees their hold, so their next call can be offered without
waiting for the call record) and records what the call came to; what that does to the row
waits for the record where the record is not in yet (dialer.strategy.rules)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dialer.calendar import Calendar
from dialer.engine.dnc import DoNotCall
from dialer.engine.presence import AgentStore
from dialer.engine.store import CampaignStore
from dialer.errors import DialerError
from dialer.models import RowState
from dialer.strategy import after_disposition, again_fields, dispositions

MAX_NOTES = 2000
MAX_CALLBACK_DAYS = 60


class DispositionError(DialerError):
    """The disposition cannot be saved as asked (unknown code, callback without a time)."""


class NotYourCall(DialerError):
    """The row's current call is not this agent's."""


class Disposer:
    def __init__(self, agents: AgentStore, campaigns: CampaignStore) -> None:
        self.agents = agents
        self.campaigns = campaigns

    def save(
        self,
        cid: str,
        row: int,
        *,
        agent: str | None,
        code: str,
        notes: str = "",
        callback_at: str | None = None,
        callback_for: str = "me",
        account: str = "",
    ) -> dict[str, Any]:
        """`agent` None: a supervisor (or the system) disposes of the call for its agent."""
        campaign = self.campaigns.campaign(cid)
        settings = campaign.settings
        result = self.campaigns.result_of(cid, row)
        caller = str(result.get("caller") or "")
        job_id = str(result.get("job_id") or "")
        if not caller or (agent is not None and caller != agent):
            raise NotYourCall(f"row {row} of campaign {cid} is not your call")
        if not job_id:
            raise DispositionError("the call has not been placed yet: nothing to dispose of")
        code = code.strip().upper()
        chosen = dispositions.find(settings.dispositions, code)
        if chosen is None and code != dispositions.AUTO:
            names = ", ".join(c.code for c in dispositions.codes(settings.dispositions))
            raise DispositionError(f"unknown disposition {code!r}: one of {names}")
        callback_ms: int | None = None
        owner = ""
        if chosen is not None and chosen.action is dispositions.Action.CALLBACK:
            if not callback_at:
                raise DispositionError(f"{code} needs a callback time")
            callback_ms = self._callback_ms(callback_at, settings.timezone)
            owner = caller if callback_for == "me" else ""
        saved = {
            "code": code,
            "action": chosen.action.value if chosen else "",
            "notes": notes.strip()[:MAX_NOTES],
            "agent": caller,
            "account": account,
            "job_id": job_id,
            "callback_at": callback_ms,
            "callback_owner": owner if callback_ms else None,
        }
        if chosen is not None and chosen.action is dispositions.Action.DNC:
            source = self.campaigns.source_row(cid, row) or []
            if len(source) > 2 and source[2]:
                DoNotCall(self.campaigns).add([str(source[2])])
        after = self._after(cid, row, result, saved)
        outcome = self.agents.scripts.dispose(
            cid, row=row, job_id=job_id, agent=caller, disposition=saved, after=after
        )
        if outcome < 0:
            raise NotYourCall(f"row {row} of campaign {cid} has moved on to another call")
        return {**saved, "campaign": cid, "row": row, "applied": bool(outcome)}

    def _after(
        self, cid: str, row: int, result: dict[str, Any], saved: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The row's next contact when its record is already in and says the customer
        talked (else SETTLE_RECORDS decides when the record comes)."""
        if result.get("outcome") != "CONNECTED":
            return None
        if self.campaigns.row_state(cid, row) != RowState.DISPATCHED.value:
            return None
        if self.agents.row_pending_record(cid, row):
            return None
        campaign = self.campaigns.campaign(cid)
        settings = campaign.settings
        entry = self.campaigns.dial_entries(campaign, [row]).get(row)
        if entry is None:
            return None
        calendar = Calendar.of(settings.windows, settings.timezone)
        released = int(result.get("released_at") or self.agents.now_ms())
        patch = {"contacts": int(result.get("contacts") or 0), **again_fields(result)}
        step = after_disposition(settings, calendar, saved, patch, released, entry)
        if step.entry is None:
            return None
        return {**step.next_item(), "patch": step.patch}

    @staticmethod
    def _callback_ms(text: str, timezone: str) -> int:
        try:
            when = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise DispositionError(
                f"callback time {text!r}: use a date and time such as 2026-12-05 15:00"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(timezone))
        now = dt.datetime.now(dt.UTC)
        if not now - dt.timedelta(minutes=5) <= when <= now + dt.timedelta(days=MAX_CALLBACK_DAYS):
            raise DispositionError(
                f"callback time {text!r} must be from now to {MAX_CALLBACK_DAYS} days ahead"
            )
        return int(when.timestamp() * 1000)
