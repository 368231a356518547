"""One simulated back-to-back call: its timeline, decided when it is placed, and its record.

CCC rings the caller first; only if the caller answers does it ring the callee; then the two
talk until one hangs up. Nothing runs while a call is in progress: each call's whole timeline
is drawn from a seeded RNG when it is accepted, and every question (is this caller busy? is
the record visible yet?) is answered by comparing the clock with that timeline.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dialer.ccc.simulator.faults import Faults, Span

# The two ReleaseReason shapes CCC documents: GetCallDetailRecord's example is "200 - OK",
# ListCallDetailRecordsV2's is "486:USER_BUSY".
OK_REASON = "200 - OK"
BUSY_REASON = "486:USER_BUSY"
CALLER_NO_ANSWER_REASON = "480:TEMPORARILY_UNAVAILABLE"
CALLEE_NO_ANSWER_REASON = "408:REQUEST_TIMEOUT"

# Calls without call times (the default) keep the simulator's original outcome table:
# (weight, ContactDisposition, ReleaseReason, established?, ReleaseInitiator).
_INSTANT_OUTCOMES = (
    (60, "Success", "200 OK", True, "customer"),
    (10, "NoAnswer", "480 Temporarily Unavailable", False, "caller"),
    (15, "NoAnswer", "408 Request Timeout", False, "callee"),
    (10, "Reject", "486 Busy Here", False, "callee"),
    (5, "Reject", "473 CALLED_FREQUENCY_LIMIT", False, "carrier"),
)


@dataclass(frozen=True)
class Timeline:
    """When each step of a call happens, in epoch ms on the wall clock (time-scaled)."""

    start_ms: int  # the request was accepted; the caller's leg starts ringing
    caller_answered_ms: int | None  # and the callee's leg starts ringing
    established_ms: int | None  # the callee answered: the two are talking
    release_ms: int
    # The caller was still in an earlier call: the caller's leg failed at once.
    caller_busy: bool
    disposition: str
    release_reason: str
    release_initiator: str
    # False: an instant call from the outcome table, whose record shows notional times and
    # which never keeps its caller busy.
    timed: bool

    def as_log(self) -> dict[str, Any]:
        return {
            "timed": self.timed,
            "start_ms": self.start_ms,
            "caller_answered_ms": self.caller_answered_ms,
            "established_ms": self.established_ms,
            "release_ms": self.release_ms,
            "caller_busy": self.caller_busy,
            "release_reason": self.release_reason,
        }


def busy_timeline(start_ms: int) -> Timeline:
    return Timeline(
        start_ms, None, None, start_ms, True, "Reject", BUSY_REASON, "caller", timed=True
    )


def timed_timeline(
    rng: random.Random,
    faults: Faults,
    start_ms: int,
    timeout_seconds: int,
    *,
    caller: str = "",
    callee_ring: int = 1,
) -> Timeline:
    """Caller's leg rings, then (if answered) the callee's, then talk. A leg not answered rings
    until TimeoutSeconds from the start, as CCC hangs up a call not connected by then. A
    caller who is away never answers; `callee_ring`: the how-manyth time this callee's leg
    rings (their answer probability may differ per ring)."""
    scale = faults.time_scale

    def at(sim_s: float) -> int:
        return start_ms + round(sim_s * 1000 / scale)

    caller_ring = _draw(rng, faults.ring_s)
    caller_answers = _chance(rng, faults.caller_answer) and caller_ring < timeout_seconds
    if caller in faults.away_callers:
        caller_answers = False
    if not caller_answers:
        return Timeline(
            start_ms,
            None,
            None,
            at(timeout_seconds),
            False,
            "NoAnswer",
            CALLER_NO_ANSWER_REASON,
            "caller",
            timed=True,
        )
    callee_ring_s = caller_ring + _draw(rng, faults.ring_s)
    answer = faults.callee_answer
    if faults.callee_answer_by_ring:
        by_ring = faults.callee_answer_by_ring
        answer = by_ring[min(callee_ring, len(by_ring)) - 1]
    callee_answers = _chance(rng, answer) and callee_ring_s < timeout_seconds
    if not callee_answers:
        return Timeline(
            start_ms,
            at(caller_ring),
            None,
            at(timeout_seconds),
            False,
            "NoAnswer",
            CALLEE_NO_ANSWER_REASON,
            "callee",
            timed=True,
        )
    talk = _draw(rng, faults.talk_s)
    hangs_up = rng.choice(("caller", "callee"))
    return Timeline(
        start_ms,
        at(caller_ring),
        at(callee_ring_s),
        at(callee_ring_s + talk),
        False,
        "Success",
        OK_REASON,
        hangs_up,
        timed=True,
    )


def instant_timeline(rng: random.Random, start_ms: int) -> Timeline:
    """The original model: an outcome from a fixed table, with notional ring and talk times.
    Draws from `rng` exactly as the simulator always has, so seeded runs stay the same."""
    weights = [o[0] for o in _INSTANT_OUTCOMES]
    _, disposition, reason, established, initiator = rng.choices(_INSTANT_OUTCOMES, weights)[0]
    ring_ms = rng.randint(3_000, 20_000)
    talk_s = rng.randint(10, 300) if established else 0
    established_ms = start_ms + ring_ms if established else None
    release_ms = start_ms + ring_ms + talk_s * 1000
    return Timeline(
        start_ms,
        established_ms,
        established_ms,
        release_ms,
        False,
        disposition,
        reason,
        initiator,
        timed=False,
    )


def call_record(
    job_id: str,
    caller: str,
    callee: str,
    broker: str,
    additional_broker: str | None,
    timeline: Timeline,
) -> dict[str, Any]:
    """The call's record as the simulator keeps it (numbers as dialled; `Caller` is private)."""
    return {
        "ContactId": job_id,
        "ContactType": "BACK2BACK",
        "CallingNumber": broker,
        "CalledNumber": callee,
        "Caller": caller,
        "Broker": broker,
        "AdditionalBroker": additional_broker or "",
        "StartTime": timeline.start_ms,
        "EstablishedTime": timeline.established_ms,
        "ReleaseTime": timeline.release_ms,
        "CallDuration": (timeline.release_ms - timeline.start_ms) // 1000,
        "ReleaseInitiator": timeline.release_initiator,
        "ReleaseReason": timeline.release_reason,
        "ContactDisposition": timeline.disposition,
    }


NUMBER_FIELDS = ("CallingNumber", "CalledNumber", "Broker", "AdditionalBroker")


def format_number(number: str, number_format: str) -> str:
    """A national number as CCC may write it: 13800000000 -> +8613800000000 / 8613800000000;
    a landline drops its trunk 0 (02151234567 -> +862151234567)."""
    if number_format == "plain" or not number or number.startswith("+"):
        return number
    national = number[1:] if number.startswith("0") else number
    return ("+86" if number_format == "plus86" else "86") + national


def national_number(number: str) -> str:
    """The inverse of format_number, for matching query filters against records."""
    digits = "".join(number.split()).replace("-", "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    else:
        if digits.startswith("86") and len(digits) > 11:
            digits = digits[2:]
        else:
            return digits
    return digits if digits.startswith(("0", "1")) else "0" + digits


def caller_overlaps(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Calls-log entries that began while the same caller was still in an earlier call
    (started before, released after this one began). Empty means no caller was ever in two
    calls at once. Works on the calls log alone (`start_ms`, `release_ms`, `caller`)."""
    busy_until: dict[str, int] = {}
    overlapping = []
    for entry in sorted(entries, key=lambda e: e["start_ms"]):
        caller = str(entry["caller"])
        if busy_until.get(caller, 0) > entry["start_ms"]:
            overlapping.append(entry)
        busy_until[caller] = max(busy_until.get(caller, 0), int(entry["release_ms"]))
    return overlapping


def _draw(rng: random.Random, span: Span | None) -> float:
    if span is None:
        return 0.0
    return rng.uniform(span.low_s, span.high_s)


def _chance(rng: random.Random, probability: float | None) -> bool:
    return probability is None or rng.random() < probability
