"""One door to agents at work for the CLI, the console and the workers."""

from __future__ import annotations

import uuid
from typing import Any

from dialer.accounts.audit import Trail
from dialer.accounts.directory import Directory
from dialer.agents.desk import Desk
from dialer.agents.disposition import Disposer
from dialer.agents.presence import MISSED_RINGS, SYSTEM, Presences
from dialer.agents.upkeep import Upkeep
from dialer.agents.wall import wall
from dialer.engine import open_accounts, open_store
from dialer.engine.presence import AgentStore
from dialer.engine.store import CampaignStore
from dialer.settings import Settings


class Agents:
    def __init__(self, campaigns: CampaignStore, trail: Trail, settings: Settings) -> None:
        self.campaigns = campaigns
        self.store = AgentStore(campaigns)
        self.trail = trail
        self.presences = Presences(self.store, trail, settings)
        self.desk = Desk(self.store, campaigns)
        self.disposer = Disposer(self.store, campaigns)

    def wall(self) -> dict[str, Any]:
        doc = wall(self.store, self.presences, self.desk)
        # An agent who has not yet changed their presence themselves is named by the account
        # whose phone they are.
        names = {a.phone: a.name for a in Directory(self.trail.store).accounts() if a.phone}
        for line in doc["agents"]:
            line["account"] = line["account"] or names.get(line["number"], "")
        return doc

    def desk_of(
        self, number: str, *, whole_numbers: bool = False, own: bool = False
    ) -> dict[str, Any]:
        """What the agent's screen shows: presence, cards, their callbacks. `own`: shown on
        the agent's own screen, so a reserved call's card has been seen and may ring."""
        presence = self.presences.get(number)
        cards = self.desk.cards(number, whole_numbers=whole_numbers)
        if own:
            for card in cards:
                if card["state"] == "reserved":
                    self.store.shown(number, card["campaign"], card["row"])
        return {
            "presence": presence.as_dict(self.presences.reasons),
            "calls": cards,
            "callbacks": self.desk.callbacks(number),
        }

    def dispose(
        self,
        cid: str,
        row: int,
        *,
        agent: str | None,
        code: str,
        notes: str = "",
        callback_at: str | None = None,
        callback_for: str = "me",
        who: str,
        role: str = "",
        audit: bool = True,
    ) -> dict[str, Any]:
        """`audit` False: the caller records it (the console's guard does)."""
        saved = self.disposer.save(
            cid,
            row,
            agent=agent,
            code=code,
            notes=notes,
            callback_at=callback_at,
            callback_for=callback_for,
            account=who,
        )
        if not audit:
            return saved
        detail = {k: saved[k] for k in ("code", "notes", "callback_at", "callback_owner")}
        target = f"{cid}/{row}"
        self.trail.record(who, "disposition.save", role=role, target=target, detail=detail)
        if saved.get("callback_at"):
            self.trail.record(who, "callback.schedule", role=role, target=target, detail=detail)
        return saved

    def missed_rings(self, cid: str, agent: str) -> None:
        """A call record put the agent on break (lua/call_ended.lua): the audit trail hears."""
        detail = {"state": "BREAK", "reason": MISSED_RINGS, "campaign": cid}
        self.trail.record(SYSTEM, "presence.break", target=agent, detail=detail)

    def upkeep(self) -> Upkeep:
        return Upkeep(self.store, self.presences, self.desk, self.disposer, uuid.uuid4().hex)


def open_agents(settings: Settings) -> Agents:
    trail = Trail(open_accounts(settings), settings.audit_retention_days)
    return Agents(open_store(settings), trail, settings)
