"""Agents at work: presence (READY, BREAK, OFFLINE) across campaigns, the agent's desk (the
customer card of the call reserved for them, their callbacks), dispositions that end a
wrap-up, the supervisors' wall, and the upkeep that takes silent screens offline and closes
wrap-ups left open. docs/agents.md tells the whole story."""

from dialer.agents.desk import Desk
from dialer.agents.presence import Presence, Presences, State
from dialer.agents.service import Agents, open_agents

__all__ = ["Agents", "Desk", "Presence", "Presences", "State", "open_agents"]
