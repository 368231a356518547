"""The results sheet: one row per source row, in source order, streamed to CSV or XLSX.

Times are in the campaign's zone: ISO 8601 with the zone's offset in CSV, real date-times in
XLSX with the zone named in the header. The file appears whole or not at all: it is written
to a temporary file beside the target and renamed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dialer import times
from dialer.engine import Campaign, CampaignStore
from dialer.errors import DialerError
from dialer.phones import mask_caller, mask_number, mask_quoting
from dialer.phones import mask_text as mask_text  # re-exported: tests and older imports
from dialer.results.xlsx import Cell, write_table

RESULT_COLUMNS = (
    "row",
    "caller",
    "callee",
    "broker",
    "additional_broker",
    "status",
    "job_id",
    "request_id",
    "error_code",
    "error_message",
    "http_status",
    "attempts",
    "first_attempt_at",
    "dispatched_at",
    "outcome",
    "talk_seconds",
    "release_initiator",
    "release_reason",
    "established_at",
    "released_at",
    "previous_job_ids",
    "note",
    "contacts",
    "agent_misses",
    "next_contact_at",
    "history",
    "disposition",
    "disposition_notes",
    "disposition_agent",
    "callback_at",
    "callback_state",
)
TIME_COLUMNS = frozenset(
    {
        "first_attempt_at",
        "dispatched_at",
        "established_at",
        "released_at",
        "next_contact_at",
        "callback_at",
    }
)
PHONE_COLUMNS = ("caller", "callee")
# CSV encodings an operator can ask for; utf-8 is written with a BOM so Excel shows Chinese.
ENCODINGS = {"utf-8": "utf-8-sig", "gbk": "gbk", "gb18030": "gb18030"}
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
# Rows in flight show as what an operator would call them.
_SHOWN_STATE = {"QUEUED": "PENDING"}
# Identifiers that may hold long digit runs but never a phone number.
_NOT_MASKED = frozenset({"job_id", "request_id", "previous_job_ids"})


def neutralise(value: str) -> str:
    """OWASP CSV-injection rule: a cell starting with = + - @ tab or CR gets a leading quote.
    Phone numbers never start with those once normalised, so real data stays intact."""
    return "'" + value if value.startswith(_DANGEROUS_START) else value


@dataclass
class ResultSheet:
    """The results of one campaign: header, then typed rows (int, str, aware datetime or
    None), read from Redis as they are iterated."""

    campaign: Campaign
    zone: str  # the campaign's time zone
    header: list[str]
    rows: Iterator[list[Cell]]
    time_columns: frozenset[str] = TIME_COLUMNS  # named with their zone in XLSX


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def result_sheet(store: CampaignStore, cid: str, *, masked: bool = False) -> ResultSheet:
    """The campaign is looked up now (CampaignNotFound before any file is touched)."""
    campaign = store.campaign(cid)
    zone = campaign.settings.timezone
    header = [*RESULT_COLUMNS, *distinct_names(campaign.passthrough, RESULT_COLUMNS)]
    return ResultSheet(campaign, zone, header, _rows(store, cid, zone, masked))


def distinct_names(names: Iterable[str], taken: Iterable[str]) -> list[str]:
    """The sheet's own columns as the results header shows them: one whose name is a
    results column (a CRM export's `note`, `status`, `outcome`) becomes `note (sheet)`, so
    a header never repeats a name."""
    used = set(taken)
    shown = []
    for name in names:
        candidate, n = name, 1
        while candidate in used:
            candidate = f"{name} (sheet)" if n == 1 else f"{name} (sheet {n})"
            n += 1
        used.add(candidate)
        shown.append(candidate)
    return shown


def _rows(store: CampaignStore, cid: str, zone: str, masked: bool) -> Iterator[list[Cell]]:
    masked_columns = [name not in _NOT_MASKED for name in RESULT_COLUMNS]
    for record, state, result in store.iter_rows(cid):
        row, caller, callee, broker, extra, _timeout, _tags, *passthrough = record
        # A row without a caller of its own shows the pool agent who was rung.
        caller = result.get("caller") or caller
        status = state.split("|", 1)[0]
        cells: list[Cell] = [
            int(row),
            str(caller),
            str(callee),
            str(result.get("broker") or broker),
            str(extra),
            _SHOWN_STATE.get(status, status),
            result.get("job_id") or "",
            result.get("request_id") or "",
            result.get("error_code") or "",
            result.get("error_message") or "",
            _int(result.get("http_status")),
            _int(result.get("attempts")) or 0,
            times.local(result.get("first_attempt_at"), zone),
            times.local(result.get("dispatched_at"), zone),
            result.get("outcome") or "",
            _int(result.get("talk_seconds")),
            result.get("release_initiator") or "",
            result.get("release_reason") or "",
            times.local(result.get("established_at"), zone),
            times.local(result.get("released_at"), zone),
            _previous(result),
            _note(result),
            _int(result.get("contacts")) or 0,
            _int(result.get("agent_misses")) or 0,
            times.local(result.get("next_contact_at"), zone) if status == "RETRY_WAIT" else None,
            _history(result, zone),
            *_disposition(result, zone),
            *("" if v is None else str(v) for v in passthrough),
        ]
        if masked:
            cells[1], cells[2] = mask_number(str(caller)), mask_number(str(callee))
            agent = cells[_AGENT]
            cells[_AGENT] = mask_number(agent) if isinstance(agent, str) and agent else agent
            for i, value in enumerate(cells):
                if isinstance(value, str) and (i >= len(masked_columns) or masked_columns[i]):
                    cells[i] = mask_quoting(value, str(callee), str(caller))
        yield cells


_AGENT = RESULT_COLUMNS.index("disposition_agent")
# A callback set and neither taken nor expired yet.
SCHEDULED = "scheduled"


def _disposition(result: dict[str, Any], zone: str) -> list[Cell]:
    """The last disposition saved: its code, notes, agent, callback time and state (taken,
    expired, or scheduled while it waits)."""
    saved = result.get("disposition")
    if not isinstance(saved, dict):
        return ["", "", "", None, ""]
    callback_ms = saved.get("callback_at")
    state = (str(result.get("callback_state") or "") or SCHEDULED) if callback_ms else ""
    return [
        str(saved.get("code") or ""),
        str(saved.get("notes") or ""),
        str(saved.get("agent") or ""),
        times.local(callback_ms, zone),
        state,
    ]


def _previous(result: dict[str, Any]) -> str:
    """JobIds of the row's calls before an operator redialled it, oldest first."""
    ids = result.get("previous_job_ids")
    return " ".join(str(i) for i in ids) if isinstance(ids, list) else ""


def _history(result: dict[str, Any], zone: str) -> str:
    """Each call whose record came, oldest first: its time, outcome and masked agent."""
    calls = result.get("history")
    if not isinstance(calls, list):
        return ""
    shown = []
    for call in calls:
        if isinstance(call, dict):
            parts = (
                _shown_time(call.get("at"), zone),
                str(call.get("outcome") or ""),
                mask_caller(str(call.get("caller") or "")),
            )
            shown.append(" ".join(p for p in parts if p))
    return "; ".join(shown)


def _shown_time(ms: Any, zone: str) -> str:
    at = times.local(ms, zone)
    return at.isoformat(timespec="seconds") if at else ""


def _note(result: dict[str, Any]) -> str:
    """What the call records said: how an UNKNOWN row was settled or why it is still unknown,
    or why a placed call has no outcome."""
    notes = [str(result.get(k) or "") for k in ("reconcile", "outcome_note")]
    redialled = result.get("redialled_from")
    if isinstance(redialled, list) and redialled:
        notes.append("dialled again by an operator after: " + "; ".join(map(str, redialled)))
    return "; ".join(n for n in notes if n)


# --- output files ----------------------------------------------------------------------


def csv_encoding(encoding: str | None) -> str:
    """The codec for an --encoding value; DialerError naming the choices otherwise."""
    name = (encoding or "utf-8").strip().lower().replace("_", "-")
    name = {"utf8": "utf-8", "utf-8-sig": "utf-8"}.get(name, name)
    if name not in ENCODINGS:
        raise DialerError(
            f"--encoding {encoding}: not a results-sheet encoding; use utf-8, gbk or gb18030"
        )
    return ENCODINGS[name]


def check_output(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    """Refuse an output path that cannot work before any data is read."""
    if path.is_dir():
        raise DialerError(f"{path} is a folder; name a file inside it")
    if path.suffix.lower() not in suffixes:
        raise DialerError(f"{path}: {what} must end in {' or '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise DialerError(f"{folder} {problem} (for {path.name}); create it or pick another -o")
    if not os.access(folder, os.W_OK):
        raise DialerError(f"no permission to write in {folder} (for {path.name})")


def check_export(path: Path, encoding: str | None) -> None:
    """Every mistake in an export's options, before Redis is asked anything."""
    check_output(path, (".csv", ".xlsx"), "the results sheet")
    if path.suffix.lower() == ".xlsx" and encoding is not None:
        raise DialerError("--encoding is for .csv files; an .xlsx file is always Unicode")
    csv_encoding(encoding)


@contextmanager
def replacing(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that becomes `path` only if the block finishes: written beside it under
    a temporary name and renamed, removed on any error. Never a half-written file."""
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        # 0o666 less the umask: the file gets the permissions a plain open() would give it.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileNotFoundError:
        raise DialerError(f"{path.parent} does not exist (for {path.name})") from None
    except PermissionError:
        raise DialerError(f"no permission to write in {path.parent} (for {path.name})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def export(
    store: CampaignStore,
    cid: str,
    path: Path,
    *,
    masked: bool = False,
    encoding: str | None = None,
) -> int:
    """Write the results sheet; the format follows the extension. Returns data rows written."""
    check_export(path, encoding)
    return write_sheet(result_sheet(store, cid, masked=masked), path, encoding)


def write_sheet(sheet: ResultSheet, path: Path, encoding: str | None = None) -> int:
    """Write a sheet whole or not at all; the format follows the extension. Returns data rows
    written."""
    with replacing(path) as out:
        if path.suffix.lower() == ".xlsx":
            return _write_xlsx(sheet, out)
        return _write_csv(sheet, out, csv_encoding(encoding))


def _write_csv(sheet: ResultSheet, out: IO[bytes], codec: str) -> int:
    text = io.TextIOWrapper(out, encoding=codec, newline="", write_through=False)
    writer = csv.writer(text)
    try:
        writer.writerow(sheet.header)
    except UnicodeEncodeError:
        bad = next(name for name in sheet.header if _first_unencodable(name, codec))
        raise DialerError(
            f"column name {bad!r} cannot be written in {codec}; use --encoding utf-8 (or gb18030)"
        ) from None
    written = 0
    for cells in sheet.rows:
        line = [
            ""
            if v is None
            else v.isoformat(timespec="milliseconds")
            if isinstance(v, dt.datetime)
            else neutralise(v)
            if isinstance(v, str)
            else v
            for v in cells
        ]
        try:
            writer.writerow(line)
        except UnicodeEncodeError:
            raise _unencodable(sheet.header, cells, codec) from None
        written += 1
    text.flush()
    text.detach()
    return written


def _first_unencodable(text: str, codec: str) -> str:
    """The first character of `text` that `codec` cannot write, or ""."""
    try:
        text.encode(codec)
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return ""


def _unencodable(header: list[str], cells: list[Cell], codec: str) -> DialerError:
    for name, value in zip(header, cells, strict=False):
        char = _first_unencodable(str(value or ""), codec)
        if char:
            return DialerError(
                f"row {cells[0]}, column {name}: {char!r} cannot be written in {codec}; "
                "use --encoding utf-8 (or gb18030)"
            )
    return DialerError(f"row {cells[0]} cannot be written in {codec}; use --encoding utf-8")


def _write_xlsx(sheet: ResultSheet, out: IO[bytes]) -> int:
    zone = sheet.campaign.settings.timezone
    # Sheet columns never carry a results column's name (distinct_names), so a name in
    # time_columns is ours.
    header = [f"{name} ({zone})" if name in sheet.time_columns else name for name in sheet.header]
    return write_table(out, header, sheet.rows, sheet="results")
