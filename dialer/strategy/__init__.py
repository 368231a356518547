"""The contact strategy: what becomes of a row once its call's record gives the outcome — done,
given to another agent (the agent's leg rang out: no contact was made), or tried again later
by the campaign's recycle rules."""

from dialer.strategy.rules import (
    AGENT_MISSED,
    AGENT_MISSES,
    MAX_CONTACTS,
    Step,
    after_disposition,
    again_fields,
    next_step,
)

__all__ = [
    "AGENT_MISSED",
    "AGENT_MISSES",
    "MAX_CONTACTS",
    "Step",
    "after_disposition",
    "again_fields",
    "next_step",
]
