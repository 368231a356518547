"""An agent's presence: READY (offered calls), on BREAK with a reason, or OFFLINE. One for the
agent across every campaign. Changed by the agent on their screen, by a supervisor or an
operator's CLI, and by the dialer itself (missed rings, a wrap-up left open, a silent
screen); every change goes to the audit trail and, as `agent.presence`, to the webhooks of
each running campaign the agent works in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dialer.accounts.audit import Trail
from dialer.calendar import Calendar
from dialer.engine.presence import AgentStore
from dialer.errors import DialerError
from dialer.models import CampaignSettings
from dialer.settings import Settings


class State(StrEnum):
    READY = "READY"
    BREAK = "BREAK"
    OFFLINE = "OFFLINE"


# The dialer's own reasons (lua/call_ended.lua writes MISSED_RINGS itself).
MISSED_RINGS = "System.MissedRings"
WRAP_UP_TIMEOUT = "System.WrapUpTimeout"
SCREEN_SILENT = "System.ScreenSilent"
SUPERVISOR = "Supervisor"
SYSTEM = "system"  # who the audit trail names for the dialer's own changes


class PresenceError(DialerError):
    """A presence change that cannot be made (an unknown state or reason)."""


@dataclass(frozen=True)
class Presence:
    number: str
    state: State | None  # None: never set; presumed present where sign-in is not required
    reason: str = ""
    since_ms: int = 0
    missed: int = 0  # rings not answered in a row
    screen: bool = False  # kept alive by the agent's own screen
    seen_ms: int = 0  # the screen's last beat
    account: str = ""

    @classmethod
    def from_fields(cls, number: str, fields: dict[str, str]) -> Presence:
        state = fields.get("state")
        return cls(
            number,
            State(state) if state else None,
            fields.get("reason", ""),
            int(fields.get("since") or 0),
            int(fields.get("missed") or 0),
            fields.get("screen") == "1",
            int(fields.get("seen") or 0),
            fields.get("account", ""),
        )

    def as_dict(self, reasons: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state.value if self.state else None,
            "reason": self.reason,
            "since_ms": self.since_ms or None,
            "missed": self.missed,
            "screen": self.screen,
            "seen_ms": self.seen_ms or None,
            "account": self.account,
            "reasons": list(reasons),
        }

    def offered_calls(self, settings: CampaignSettings) -> bool:
        if self.state is None:
            return not settings.agents_sign_in
        return self.state is State.READY


class Presences:
    def __init__(self, store: AgentStore, trail: Trail, settings: Settings) -> None:
        self.store = store
        self.trail = trail
        self.reasons = settings.break_reasons
        self.silent_ms = int(settings.agent_silent_s * 1000)
        self.calendar = Calendar.of(("00:00-24:00",), settings.agents_timezone)

    def get(self, number: str) -> Presence:
        return Presence.from_fields(number, self.store.presence(number))

    def today(self) -> str:
        return self.calendar.day_key(self.store.now_ms() / 1000)

    def set(
        self,
        number: str,
        state: str,
        reason: str = "",
        *,
        who: str,
        role: str = "",
        account: str = "",
        screen: bool | None = None,
        only_if: State | None = None,
        audit: bool = True,
    ) -> Presence:
        """Change the agent's presence; `screen` True: the agent on their own screen (which
        beats from now on). A break needs a reason from the list (or the system's own).
        `audit` False: the caller records the change itself (the console's guard does)."""
        try:
            new = State(state.upper())
        except ValueError:
            raise PresenceError(f"state must be READY, BREAK or OFFLINE, not {state!r}") from None
        reason = reason.strip() if new is State.BREAK else "" if new is State.READY else reason
        if new is State.BREAK and reason not in (*self.reasons, SUPERVISOR, *_SYSTEM_REASONS):
            raise PresenceError(f"a break needs a reason: one of {', '.join(self.reasons)}")
        changed, previous, _ = self.store.scripts.set_presence(
            number,
            state=new.value,
            reason=reason,
            day=self.today(),
            account=account,
            screen=screen,
            only_if=only_if.value if only_if else "",
        )
        if changed:
            self.changed(number, new, reason, who=who, role=role, previous=previous, audit=audit)
        return self.get(number)

    def changed(
        self,
        number: str,
        state: State,
        reason: str,
        *,
        who: str,
        role: str = "",
        previous: str,
        audit: bool = True,
    ) -> None:
        """Tell the audit trail and the running campaigns the agent works in."""
        account = self.store.presence(number).get("account", "")
        detail = {"state": state.value, "reason": reason, "previous": previous}
        if audit:
            action = f"presence.{state.value.lower()}"
            self.trail.record(who, action, role=role, target=number, detail=detail)
        data = {"agent": number, "account": account, **detail}
        for cid in self.store.store.running_ids():
            if self.store.works_in(cid, number):
                self.store.scripts.announce(cid, "agent.presence", data)

    def beat(self, number: str) -> Presence:
        """The agent's screen is open. A screen that signed the agent out stops nothing."""
        if self.store.presence(number).get("screen") == "1":
            self.store.beat(number)
        return self.get(number)

    def sweep_silent(self) -> list[str]:
        """Agents whose screen has not beaten for agent_silent_s go OFFLINE."""
        now = self.store.now_ms()
        gone = []
        for number in self.store.numbers():
            p = self.get(number)
            if not p.screen or p.state in (None, State.OFFLINE):
                continue
            if now - p.seen_ms <= self.silent_ms:
                continue
            after = self.set(
                number, "OFFLINE", SCREEN_SILENT, who=SYSTEM, screen=False, only_if=p.state
            )
            if after.state is State.OFFLINE:
                gone.append(number)
        return gone


_SYSTEM_REASONS = (MISSED_RINGS, WRAP_UP_TIMEOUT)
