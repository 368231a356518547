"""The results sheet: one row per source row, in source order, streamed to CSV or XLSX."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dialer.engine import CampaignStore
from dialer.errors import DialerError
from dialer.phones import mask_number

RESULT_COLUMNS = (
    "row", "caller", "callee", "broker", "additional_broker", "status", "job_id", "request_id",
    "error_code", "error_message", "http_status", "attempts", "first_attempt_at",
    "dispatched_at", "outcome", "talk_seconds", "release_initiator", "release_reason",
    "established_at", "released_at",
)  # fmt: skip
PHONE_COLUMNS = ("caller", "callee")
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
# Rows in flight show as what an operator would call them.
_SHOWN_STATE = {"QUEUED": "PENDING"}
LOCAL_TZ = dt.timezone(dt.timedelta(hours=8))


def neutralise(value: str) -> str:
    """OWASP CSV-injection rule: a cell starting with = + - @ tab or CR gets a leading quote.
    Phone numbers never start with those once normalised, so real data stays intact."""
    return "'" + value if value.startswith(_DANGEROUS_START) else value


def _iso(ms: Any) -> str:
    if ms in (None, ""):
        return ""
    return dt.datetime.fromtimestamp(int(ms) / 1000, LOCAL_TZ).isoformat(timespec="milliseconds")


def result_rows(store: CampaignStore, cid: str, *, masked: bool = False) -> Iterator[list[str]]:
    """The header, then one list of cell strings per source row."""
    campaign = store.campaign(cid)
    yield [*RESULT_COLUMNS, *campaign.passthrough]
    for record, state, result in store.iter_rows(cid):
        row, caller, callee, broker, extra, _timeout, _tags, *passthrough = record
        if masked:
            caller, callee = mask_number(str(caller)), mask_number(str(callee))
        status = state.split("|", 1)[0]
        cells = [
            str(row), str(caller), str(callee), str(result.get("broker") or broker), str(extra),
            _SHOWN_STATE.get(status, status), result.get("job_id") or "",
            result.get("request_id") or "", result.get("error_code") or "",
            result.get("error_message") or "", str(result.get("http_status") or ""),
            str(result.get("attempts") or 0), _iso(result.get("first_attempt_at")),
            _iso(result.get("dispatched_at")), result.get("outcome") or "",
            str(result["talk_seconds"]) if "talk_seconds" in result else "",
            result.get("release_initiator") or "", result.get("release_reason") or "",
            _iso(result.get("established_at")), _iso(result.get("released_at")),
            *(str(v) for v in passthrough),
        ]  # fmt: skip
        yield [neutralise(c) for c in cells]


def export(
    store: CampaignStore, cid: str, path: Path, *, masked: bool = False, encoding: str = "utf-8"
) -> int:
    """Write the results sheet; the format follows the extension. Returns data rows written."""
    rows = result_rows(store, cid, masked=masked)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _write_csv(rows, path, encoding)
    if suffix == ".xlsx":
        return _write_xlsx(rows, path)
    raise DialerError(f"{path}: the results sheet must end in .csv or .xlsx")


def _write_csv(rows: Iterator[list[str]], path: Path, encoding: str) -> int:
    # UTF-8 with BOM so Excel shows Chinese text; gbk on request for older Excel setups.
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    written = 0
    with open(path, "w", newline="", encoding=enc, errors="replace") as f:
        writer = csv.writer(f)
        for row in rows:
            writer.writerow(row)
            written += 1
    return written - 1


def _write_xlsx(rows: Iterator[list[str]], path: Path) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("results")
    written = 0
    for row in rows:
        sheet.append(row)
        written += 1
    book.save(path)
    return written - 1
