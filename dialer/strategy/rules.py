"""What a settled call means for its row, with no Redis: `next_step` reads the row's result so
far and the call's outcome, and says what to write and whether (and when) the row is dialled
again. The engine applies it atomically (lua/settle_records.lua), only if the row is still the
one this call left, so a round applied twice changes nothing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dialer.calendar import Calendar
from dialer.engine.codec import DialEntry, callback_member, member
from dialer.engine.transitions import SCHEDULE_ENDED
from dialer.models import CampaignSettings
from dialer.strategy import dispositions

AGENT_MISSED = "CALLER_NO_ANSWER"  # the agent's leg rang out: the customer was never rung
# Reason codes a row ends with (outcome_code): every agent allowed missed its call; the
# customer was tried as often as the campaign allows.
AGENT_MISSES = "Strategy.AgentMisses"
MAX_CONTACTS = "Strategy.MaxContacts"
# Outcomes a customer may be tried again after (--recycle): the customer's leg was rung and
# nobody, or the network, took it. CONNECTED is a contact made; CALLER_NO_ANSWER is no contact.
RECYCLABLE = ("CALLEE_NO_ANSWER", "BUSY", "REJECTED_BY_CARRIER", "FAILED_OTHER")
_OUTCOME_FIELDS = (
    "outcome",
    "talk_seconds",
    "release_initiator",
    "release_reason",
    "established_at",
    "released_at",
    "record_found_at",
)
# Fields written only when the row is dialled again.
_AGAIN_ONLY = frozenset({"redial_offset", "previous_job_ids", *_OUTCOME_FIELDS})


@dataclass(frozen=True)
class Step:
    """The result fields to write, and the row's next dial: when (epoch ms) and as which
    entry (None: the row is done)."""

    patch: dict[str, Any]
    at_ms: int | None = None
    entry: DialEntry | None = None
    callback_owner: str | None = None  # a callback ("": for anyone), not a recycle

    def next_item(self) -> dict[str, Any]:
        """The row's next dial as SETTLE_RECORDS (and DISPOSE) take it: when, and the member
        of the retry set, or of the callbacks set for a callback."""
        assert self.entry is not None and self.at_ms is not None
        packed = self.entry.pack()
        if self.callback_owner is None:
            return {"at": self.at_ms, "member": member(self.entry.broker, packed)}
        return {
            "at": self.at_ms,
            "member": callback_member(self.callback_owner, self.entry.broker, packed),
            "callback": True,
            "owner": self.callback_owner,
        }


def next_step(
    settings: CampaignSettings,
    calendar: Calendar,
    result: dict[str, Any],
    outcome: dict[str, Any],
    entry: DialEntry,
    now_ms: int,
) -> Step:
    """`result`: the row's result before this call's outcome; `outcome`: the classified
    record (dialer.records.rules.classify); `entry`: the row's dial entry as uploaded."""
    kind = str(outcome.get("outcome") or "")
    released = int(outcome.get("released_at") or now_ms)
    caller = str(result.get("caller") or entry.caller)
    history = list(result.get("history") or [])
    # One entry per call whose record came: what the call log export lists.
    history.append(
        {
            "at": result.get("last_attempt_at"),
            "released_at": outcome.get("released_at"),
            "outcome": kind,
            "caller": caller,
            "broker": result.get("broker") or entry.broker,
            "job_id": result.get("job_id"),
            "talk_seconds": outcome.get("talk_seconds", 0),
        }
    )
    contacts = int(result.get("contacts") or 0)
    misses = int(result.get("agent_misses") or 0)
    patch: dict[str, Any] = {"history": history, "next_contact_at": None}
    again = again_fields(result)
    if kind == AGENT_MISSED:
        misses += 1
        patch["agent_misses"] = misses
        pool = entry.caller == "" and len(settings.agents) > 1
        allowed = settings.max_agent_misses
        if not pool and settings.agent_missed_max:
            # The row's own agent, offered no other row while it waits for them, has missed
            # as many rings in a row: they are on break now (dialer.agents), and the row would
            # wait for someone who is not there.
            allowed = min(allowed, settings.agent_missed_max)
        if misses >= allowed:
            patch["outcome_code"] = AGENT_MISSES
            patch["outcome_note"] = (
                f"{misses} agent calls rang out unanswered: the customer was never rung"
            )
            return Step(patch)
        if pool:
            # Any other agent of the pool, at once.
            return _again(patch | again, calendar, released, entry, caller, settings.end_at_ms)
        wait_ms = int(settings.agent_miss_wait_s * 1000)
        return _again(patch | again, calendar, released + wait_ms, entry, "", settings.end_at_ms)
    contacts += 1
    patch["contacts"] = contacts
    saved = dispositions.for_this_call(result)
    if saved is not None and kind == "CONNECTED":
        return after_disposition(settings, calendar, saved, patch | again, released, entry)
    delays = settings.recycle.get(kind)
    if not delays:
        return Step(patch)
    if contacts >= settings.contacts_allowed:
        patch["outcome_code"] = MAX_CONTACTS
        patch["outcome_note"] = f"tried {contacts} times, as many as the campaign allows"
        return Step(patch)
    delay_ms = int(delays[min(contacts, len(delays)) - 1] * 1000)
    return _again(patch | again, calendar, released + delay_ms, entry, "", settings.end_at_ms)


def again_fields(result: dict[str, Any]) -> dict[str, Any]:
    """What a row dialled again resets, from its result as its last call left it."""
    previous = list(result.get("previous_job_ids") or [])
    if result.get("job_id"):
        previous.append(result["job_id"])
    return {
        # Each contact has its own budget of retries of transient failures (FINISH counts
        # attempts from here), and a later lookup of an UNKNOWN attempt skips this call.
        "redial_offset": int(result.get("attempts") or 0),
        "previous_job_ids": previous,
        # The call's outcome lives on in `history`; the row's own outcome fields are the next
        # call's to write, so a row dialled again never shows the last call's as its own.
        **dict.fromkeys(_OUTCOME_FIELDS),
    }


def after_disposition(
    settings: CampaignSettings,
    calendar: Calendar,
    saved: dict[str, Any],
    patch: dict[str, Any],
    released_ms: int,
    entry: DialEntry,
) -> Step:
    """What the agent's disposition of a conversation does to its row: `patch` is what to
    write whatever follows (with the fields a row dialled again resets). A recycle obeys
    --max-contacts; a callback is the customer's own request and does not."""
    code = dispositions.find(settings.dispositions, str(saved.get("code")))
    if code is None or code.action in (dispositions.Action.DONE, dispositions.Action.DNC):
        return Step(_final(patch))
    if code.action is dispositions.Action.RECYCLE:
        contacts = int(patch.get("contacts") or 0)
        if contacts >= settings.contacts_allowed:
            patch["outcome_code"] = MAX_CONTACTS
            patch["outcome_note"] = f"tried {contacts} times, as many as the campaign allows"
            return Step(_final(patch))
        due = released_ms + int((code.delay_s or 0) * 1000)
        return _again(patch, calendar, due, entry, "", settings.end_at_ms)
    due = int(saved.get("callback_at") or released_ms)
    owner = str(saved.get("callback_owner") or "")
    step = _again(patch, calendar, due, entry, "", settings.end_at_ms)
    if step.entry is None:
        return step
    return dataclasses.replace(step, callback_owner=owner)


def _final(patch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in patch.items() if k not in _AGAIN_ONLY}


def _again(
    patch: dict[str, Any],
    calendar: Calendar,
    due_ms: int,
    entry: DialEntry,
    avoid: str = "",
    end_at_ms: int = 0,
) -> Step:
    # A time outside the calling windows moves to the next opening.
    at_ms = int(calendar.next_open(due_ms / 1000) * 1000)
    at_ms = max(at_ms, due_ms)
    if end_at_ms and at_ms >= end_at_ms:
        patch["outcome_code"] = SCHEDULE_ENDED
        patch["outcome_note"] = "the next call would have been after the campaign's end time"
        return Step(_final(patch))
    patch["next_contact_at"] = at_ms
    return Step(patch, at_ms, dataclasses.replace(entry, avoid=avoid))
