"""The supervisors' wall: every agent's presence, the call they are on (the customer's number
masked), how long they have been in their state, and today's figures."""

from __future__ import annotations

from typing import Any

from dialer.agents.desk import Desk
from dialer.agents.presence import Presences
from dialer.engine.presence import AgentStore


def wall(agents: AgentStore, presences: Presences, desk: Desk) -> dict[str, Any]:
    now = agents.now_ms()
    day = presences.today()
    lines: list[dict[str, Any]] = []
    known = dict.fromkeys(agents.numbers())
    for cid in agents.store.running_ids():
        known.update(dict.fromkeys(agents.pool(cid)))
    for number in known:
        presence = presences.get(number)
        figures = agents.day_figures(day, number)
        break_ms = figures.get("break_ms", 0)
        if presence.state is not None and presence.state.value == "BREAK" and presence.since_ms:
            break_ms += now - presence.since_ms  # the break going on counts too
        held = [c for c in desk.cards(number) if c["state"] in ("reserved", "ringing", "in_call")]
        call = None
        if held:
            c = held[0]
            call = {
                "campaign": c["campaign"],
                "campaign_name": c["campaign_name"],
                "row": c["row"],
                "state": c["state"],
                "callee_masked": c["callee_masked"],
                "since_ms": c["since_ms"],
            }
        lines.append(
            {
                "number": number,
                "account": presence.account,
                "presence": presence.as_dict(presences.reasons),
                "in_state_s": (now - presence.since_ms) // 1000 if presence.since_ms else None,
                "call": call,
                "today": {
                    "calls": figures.get("calls", 0),
                    "connects": figures.get("connects", 0),
                    "talk_s": figures.get("talk_s", 0),
                    "break_s": break_ms // 1000,
                    "missed": figures.get("missed", 0),
                },
            }
        )
    lines.sort(key=lambda line: str(line["number"]))
    return {"agents": lines, "callbacks": desk.callbacks()}
