"""The agents' upkeep, in one worker at a time (a lease), every second: a screen silent for
DIALER_AGENT_SILENT_S takes its agent OFFLINE; a signed-in agent's wrap-up left open past the
campaign's --wrap-up-max-s gets the AUTO disposition and a break."""

from __future__ import annotations

import logging
import threading

from dialer.agents.desk import Desk
from dialer.agents.disposition import Disposer
from dialer.agents.presence import SYSTEM, WRAP_UP_TIMEOUT, Presences, State
from dialer.engine.presence import AgentStore
from dialer.errors import DialerError, StoreError
from dialer.strategy.dispositions import AUTO

log = logging.getLogger(__name__)
PERIOD_S = 1.0


class Upkeep:
    def __init__(
        self, agents: AgentStore, presences: Presences, desk: Desk, disposer: Disposer, owner: str
    ) -> None:
        self.agents = agents
        self.presences = presences
        self.desk = desk
        self.disposer = disposer
        self.owner = owner
        self.stop = threading.Event()

    def tick(self) -> None:
        lease = self.agents.keys.agents_upkeep()
        if not self.agents.scripts.acquire_lease(lease, owner=self.owner, ttl_ms=5000):
            return
        for number in self.presences.sweep_silent():
            log.info("agent %s: screen silent, now OFFLINE", number)
        self.close_wrap_ups()

    def close_wrap_ups(self) -> None:
        now = self.agents.now_ms()
        for number in self.agents.numbers():
            for hold in self.agents.holds(number):
                try:
                    campaign = self.agents.store.campaign(hold.campaign)
                except DialerError:
                    continue
                settings = campaign.settings
                if not settings.agents_sign_in:
                    continue
                result = self.agents.store.result_of(hold.campaign, hold.row)
                released = int(result.get("released_at") or 0)
                saved = result.get("disposition") or {}
                if not released or saved.get("job_id") == result.get("job_id"):
                    continue
                if now < released + settings.wrap_up_max_s * 1000:
                    continue
                try:
                    self.disposer.save(
                        hold.campaign, hold.row, agent=None, code=AUTO, account=SYSTEM
                    )
                except DialerError as exc:
                    log.warning("agent %s: wrap-up of row %s not closed: %s", number, hold.row, exc)
                    continue
                detail = {"code": AUTO, "campaign": hold.campaign, "row": hold.row}
                self.presences.trail.record(
                    SYSTEM, "disposition.save", target=f"{hold.campaign}/{hold.row}", detail=detail
                )
                self.presences.set(number, State.BREAK.value, WRAP_UP_TIMEOUT, who=SYSTEM)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.tick()
            except StoreError as exc:
                log.warning("agents' upkeep: Redis unavailable (%s); retrying", exc)
            except Exception:
                log.exception("agents' upkeep failed")
            self.stop.wait(PERIOD_S)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="dialer-agents", daemon=True)
        thread.start()
        return thread
