"""The call log: one line per call placed, in row order — what a CRM or a BI tool loads. A row
tried several times (another agent after a miss, a recycled contact) has a line per call; the
line of a call whose record has not come (yet) shows the row's state as its outcome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dialer import times
from dialer.engine import CampaignStore
from dialer.phones import mask_number, mask_quoting
from dialer.results.export import ResultSheet, check_export, write_sheet
from dialer.results.xlsx import Cell

CALL_COLUMNS = (
    "row",
    "call",
    "agent",
    "callee",
    "broker",
    "job_id",
    "started_at",
    "released_at",
    "outcome",
    "talk_seconds",
    "disposition",
    "disposition_notes",
)
CALL_TIME_COLUMNS = frozenset({"started_at", "released_at"})


def call_log(store: CampaignStore, cid: str, *, masked: bool = False) -> ResultSheet:
    """The campaign is looked up now (CampaignNotFound before any file is touched)."""
    campaign = store.campaign(cid)
    zone = campaign.settings.timezone
    return ResultSheet(
        campaign, zone, list(CALL_COLUMNS), _lines(store, cid, zone, masked), CALL_TIME_COLUMNS
    )


def export_calls(
    store: CampaignStore, cid: str, path: Path, *, masked: bool = False, encoding: str | None = None
) -> int:
    """Write the call log (.csv or .xlsx, as `export`); returns the calls written."""
    check_export(path, encoding)
    return write_sheet(call_log(store, cid, masked=masked), path, encoding)


def _lines(store: CampaignStore, cid: str, zone: str, masked: bool) -> Iterator[list[Cell]]:
    for record, state, result in store.iter_rows(cid):
        row, caller, callee, broker = record[:4]
        for n, call in enumerate(calls_of(result, state.split("|", 1)[0], caller, broker), 1):
            agent = str(call.get("caller") or "")
            code, notes = disposition_of(result, str(call.get("job_id") or ""))
            yield [
                int(row),
                n,
                mask_number(agent) if masked else agent,
                mask_number(str(callee)) if masked else str(callee),
                str(call.get("broker") or ""),
                str(call.get("job_id") or ""),
                times.local(call.get("at"), zone),
                times.local(call.get("released_at"), zone),
                str(call.get("outcome") or ""),
                _int(call.get("talk_seconds")),
                code,
                mask_quoting(notes, str(callee), agent) if masked else notes,
            ]


def disposition_of(result: dict[str, Any], job_id: str) -> tuple[str, str]:
    """(code, notes) of the disposition saved for the call `job_id` (the last, if saved
    twice); ("", "") if none was."""
    saved = result.get("dispositions")
    if not job_id or not isinstance(saved, list):
        return "", ""
    for d in reversed(saved):
        if isinstance(d, dict) and str(d.get("job_id") or "") == job_id:
            return str(d.get("code") or ""), str(d.get("notes") or "")
    return "", ""


def calls_of(result: dict[str, Any], status: str, caller: str, broker: str) -> list[dict[str, Any]]:
    """The row's calls, oldest first: those whose record came (the strategy's history), then
    its last call if that one is not among them — placed (a JobId) or maybe placed (UNKNOWN)."""
    history = result.get("history")
    calls = [c for c in history if isinstance(c, dict)] if isinstance(history, list) else []
    job_id = str(result.get("job_id") or "")
    if (job_id and job_id not in {c.get("job_id") for c in calls}) or (
        status == "UNKNOWN" and not job_id
    ):
        calls.append(
            {
                "at": result.get("last_attempt_at"),
                "released_at": result.get("released_at"),
                "outcome": result.get("outcome") or status,
                "caller": result.get("caller") or caller,
                "broker": result.get("broker") or broker,
                "job_id": job_id,
                "talk_seconds": result.get("talk_seconds"),
            }
        )
    return calls


def _int(value: Any) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None
