"""What the call records make of a row, with no Redis and no HTTP: the outcome a call record
gives (`classify`), and what becomes of a row after a lookup — found, looked for again, or
given up at its campaign's horizon with the reason. Only a record that read as one
(dialer.ccc.records) is ever given an outcome; a lookup that failed is never "absent"."""

from __future__ import annotations

from typing import Any, Protocol

from dialer.ccc.records import CallRecord, sip_code
from dialer.records.plan import Pending, format_span

OUTCOMES = (
    "CONNECTED",
    "CALLER_NO_ANSWER",
    "CALLEE_NO_ANSWER",
    "BUSY",
    "REJECTED_BY_CARRIER",
    "FAILED_OTHER",
)
# Carrier refusals (CCC's "阿里云通信-SIP常见错误码" and partner variants): frequency and
# period limits, blacklists, line caps, arrears, no line, blind area.
CARRIER_CODES = frozenset({432, 434, 441, 472, 473, 474, 475, 476, 477, 478})
NO_ANSWER_CODES = frozenset({408, 480, 487})
# Reasons an UNKNOWN row carries (result field reconcile_code).
FOUND, PENDING = "Reconcile.Found", "Reconcile.Pending"
NOT_FOUND, UNREADABLE, UNAVAILABLE = (
    "Reconcile.NotFound",
    "Reconcile.Unreadable",
    "Reconcile.Unavailable",
)
REDIAL_HINT = "`dialer redial` dials it again"


class Released(Protocol):
    """What classify reads: a CallRecord, or the older responses.CallDetailRecord."""

    @property
    def established_time_ms(self) -> int | None: ...
    @property
    def release_time_ms(self) -> int | None: ...
    @property
    def release_reason(self) -> str | None: ...
    @property
    def release_initiator(self) -> str | None: ...
    @property
    def contact_disposition(self) -> str | None: ...


def classify(cdr: Released) -> dict[str, Any]:
    """A call record -> the outcome columns of the results sheet. Only ever given a record
    that read as one (dialer.ccc.records): a lookup that failed has no outcome."""
    code = sip_code(cdr.release_reason)
    initiator = (cdr.release_initiator or "").lower()
    if cdr.established_time_ms:
        outcome = "CONNECTED"
    elif code == 486:
        outcome = "BUSY"
    elif code in CARRIER_CODES:
        outcome = "REJECTED_BY_CARRIER"
    elif cdr.contact_disposition == "NoAnswer" or code in NO_ANSWER_CODES:
        # The caller's leg rings first; if it is the one that never answered, the callee was
        # never dialled.
        outcome = "CALLER_NO_ANSWER" if initiator in ("caller", "agent") else "CALLEE_NO_ANSWER"
    else:
        outcome = "FAILED_OTHER"
    talk = 0
    if cdr.established_time_ms and cdr.release_time_ms:
        talk = max(0, (cdr.release_time_ms - cdr.established_time_ms) // 1000)
    return {
        "outcome": outcome,
        "talk_seconds": talk,
        "release_initiator": cdr.release_initiator or "",
        "release_reason": cdr.release_reason or "",
        "established_at": cdr.established_time_ms,
        "released_at": cdr.release_time_ms,
    }


def outcome_item(p: Pending, record: CallRecord | None, at: int | None, now: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "row": p.row,
        "job_id": p.job_id,
        "act": "again",
        "at": at or 0,
        "patch": {},
    }
    if record is not None and record.release_time_ms:
        item.update(act="found", patch={**classify(record), "record_found_at": now})
    elif at is None:
        note = f"no call record within {format_span(p.horizon_ms / 1000)} of the call"
        item.update(act="stop", patch={"outcome_note": note, "outcome_code": "Records.NotFound"})
    return item


def reconcile_item(
    p: Pending, record: CallRecord | None, at: int | None, failed: str | None, cdr_at: int, now: int
) -> dict[str, Any]:
    """What becomes of an UNKNOWN row: found (with its outcome if the call has ended), looked
    for again, or left UNKNOWN at its horizon with the reason."""
    horizon = format_span(p.horizon_ms / 1000)
    if record is not None:
        patch: dict[str, Any] = {
            "job_id": record.contact_id,
            "dispatched_at": record.start_time_ms,
            "error_code": "",
            "error_message": "",
            "reconciled_from": p.code,
            "reconcile_code": FOUND,
            "reconcile": "found in the call records",
            "reconcile_tries": p.tries + 1,
        }
        if record.release_time_ms:
            patch.update(classify(record), record_found_at=now)
            cdr_at = 0
        return {"member": p.member, "act": "found", "patch": patch, "at": cdr_at}
    tries, failures = p.tries + (failed is None), p.failures + (failed is not None)
    patch = {"reconcile_tries": tries, "reconcile_failures": failures}
    if at is not None:
        why = (
            f"the call records could not be read ({failed}); looking again"
            if failed
            else f"not in the call records yet ({tries} lookups)"
        )
        patch.update(reconcile_code=PENDING, reconcile=f"{why}, for up to {horizon}")
        return {"member": p.member, "act": "again", "patch": patch, "at": at}
    if not failed:
        patch["reconcile_code"] = NOT_FOUND
        patch["reconcile"] = (
            f"not in the call records {horizon} after the attempt ({tries} lookups): the call "
            f"was most likely never placed; {REDIAL_HINT}"
        )
    else:
        patch["reconcile_code"] = UNREADABLE
        patch["reconcile"] = (
            f"the call records could not be read at the end of {horizon} ({failures} lookups "
            f"failed, the last {failed}; {tries} found nothing): whether the call was placed "
            f"is not known; {REDIAL_HINT}"
        )
    return {"member": p.member, "act": "stop", "patch": patch, "at": 0}


def unavailable(code: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The call records may not be read (`code`, e.g. Forbidden.RAM): the campaign's note, and
    what a DISPATCHED row and an UNKNOWN row still waiting say."""
    note = f"call records unavailable ({code}): outcomes are not fetched"
    unknown = {
        "reconcile_code": UNAVAILABLE,
        "reconcile": f"call records unavailable ({code}): whether the call was placed is not "
        f"known; {REDIAL_HINT}",
    }
    return note, {"outcome_note": note, "outcome_code": "Records.Unavailable"}, unknown
