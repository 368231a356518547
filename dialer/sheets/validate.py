"""Campaign sheet -> validated rows, vectorised with pandas.

Each chunk of the sheet becomes one frame with the dialing columns normalised and a `reason`
column: empty for an accepted row, a `Sheet.*` code for a rejected one (with `detail` naming
the column and value). Pass-through columns ride along untouched."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dialer.ccc.client import TAGS_MAX_BYTES
from dialer.errors import SheetError, clip
from dialer.phones import BROKER, PHONE, SCIENTIFIC, normalise_numbers
from dialer.sheets import reader

FIELDS = ("caller", "callee", "broker", "additional_broker", "timeout_seconds", "tags")
ALIASES = {
    "caller": ("caller", "主叫", "主叫号码"),
    "callee": ("callee", "被叫", "被叫号码"),
    "broker": ("broker", "中间号", "中间号码"),
    "additional_broker": ("additionalbroker", "附加中间号码", "附加中间号"),
    "timeout_seconds": ("timeoutseconds", "timeout", "超时时间"),
    "tags": ("tags", "随路数据"),
}
_ALIAS_TO_FIELD = {alias: f for f, aliases in ALIASES.items() for alias in aliases}
MAX_TIMEOUT_S = 600

MISSING = "Sheet.MissingValue"
INVALID_NUMBER = "Sheet.InvalidNumber"
TAGS_TOO_LONG = "Sheet.TagsTooLong"
INVALID_TIMEOUT = "Sheet.InvalidTimeout"
DO_NOT_CALL = "Sheet.DoNotCall"
DUPLICATE = "Sheet.Duplicate"
UNSAVED_FORMULA = "Sheet.UnsavedFormula"
REASONS = (
    MISSING,
    INVALID_NUMBER,
    TAGS_TOO_LONG,
    INVALID_TIMEOUT,
    DO_NOT_CALL,
    DUPLICATE,
    UNSAVED_FORMULA,
)

# Columns of the validated frame besides the fields: a pass-through column is never stored
# under one of these names.
_OWN_COLUMNS = frozenset({"row", "pool", "reason", "detail", *FIELDS})


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.strip().lstrip("\ufeff")).lower()


@dataclass(frozen=True)
class ColumnMap:
    """Which source column (by position) feeds each dialing field; the rest pass through in
    order, each under a distinct name."""

    fields: dict[str, str]  # field -> its header as written
    positions: dict[str, int]  # field -> position of its column
    passthrough: tuple[str, ...]  # the names pass-through columns are stored under
    passthrough_positions: tuple[int, ...]

    @classmethod
    def from_header(cls, file: str, columns: Iterable[object]) -> ColumnMap:
        """Refuses two columns that mean the same field, naming both; a repeated pass-through
        header is kept, the later copies as "Note (2)", "Note (3)"."""
        names = [str(c) for c in columns]
        fields: dict[str, str] = {}
        positions: dict[str, int] = {}
        passthrough: list[int] = []
        for i, name in enumerate(names):
            target = _ALIAS_TO_FIELD.get(_header_key(name))
            if target is None:
                passthrough.append(i)
            elif target in positions:
                first = positions[target]
                raise SheetError(
                    file,
                    f"columns {_shown(names[first])} (column {first + 1}) and {_shown(name)} "
                    f"(column {i + 1}) both hold the {target}; delete or rename one of them",
                )
            else:
                fields[target], positions[target] = name, i
        if "callee" not in fields:
            found = ", ".join(_shown(n, 30) for n in names[:20]) or "none"
            more = f" and {len(names) - 20} more" if len(names) > 20 else ""
            raise SheetError(
                file,
                "no callee column (expected one of: Callee, 被叫, 被叫号码); columns found: "
                + found
                + more,
            )
        shown = _distinct([names[i] for i in passthrough], names)
        return cls(fields, positions, tuple(shown), tuple(passthrough))


def _shown(name: str, limit: int = 60) -> str:
    return repr(clip(name, limit))


def _distinct(names: list[str], header: list[str]) -> list[str]:
    written = set(header)
    used: set[str] = set()
    out = []
    for name in names:
        new, k = name, 2
        while new in used or new in _OWN_COLUMNS or (new != name and new in written):
            new, k = f"{name} ({k})", k + 1
        used.add(new)
        out.append(new)
    return out


@dataclass
class IngestState:
    """What one upload carries from chunk to chunk."""

    pool: tuple[str, ...]
    dnc: frozenset[str] = frozenset()
    agents: bool = False  # a pool of callers: a row may leave its caller empty
    seen_callees: set[str] = field(default_factory=set)
    next_row: int = 1
    pool_cursor: int = 0


@dataclass(frozen=True)
class Defaults:
    additional_broker: str | None
    timeout_seconds: int


def validate_chunk(
    frame: pd.DataFrame, columns: ColumnMap, defaults: Defaults, state: IngestState
) -> pd.DataFrame:
    """One sheet chunk -> frame with `row`, the six dialing fields, `pool` (broker came from the
    pool), `reason`, `detail`, then the pass-through columns."""
    n = len(frame)
    out = pd.DataFrame({"row": np.arange(state.next_row, state.next_row + n)})
    state.next_row += n
    raw = {f: _column(frame, columns.positions.get(f), n) for f in FIELDS}
    if defaults.additional_broker:
        raw["additional_broker"] = raw["additional_broker"].mask(
            raw["additional_broker"] == "", defaults.additional_broker
        )

    caller, caller_sci = normalise_numbers(raw["caller"])
    callee, callee_sci = normalise_numbers(raw["callee"])
    broker, _ = normalise_numbers(raw["broker"])
    extra, _ = normalise_numbers(raw["additional_broker"])

    reason = pd.Series("", index=out.index, dtype=object)
    bad_column = pd.Series("", index=out.index, dtype=object)

    def flag(mask: pd.Series, code: str, field_name: str) -> None:
        hit = mask & (reason == "")
        reason[hit] = code
        bad_column[hit] = field_name

    for row, position in frame.attrs.get(reader.UNSAVED_FORMULAS, ()):
        field_name = next((f for f, p in columns.positions.items() if p == position), None)
        if field_name is not None and reason[row] == "":
            reason[row], bad_column[row] = UNSAVED_FORMULA, field_name
    if not state.agents:
        flag(raw["caller"] == "", MISSING, "caller")
    flag(raw["callee"] == "", MISSING, "callee")
    given = raw["caller"] != ""
    flag(given & (caller_sci | ~caller.str.fullmatch(PHONE)), INVALID_NUMBER, "caller")
    flag(callee_sci | ~callee.str.fullmatch(PHONE), INVALID_NUMBER, "callee")
    flag((broker != "") & ~broker.str.fullmatch(BROKER), INVALID_NUMBER, "broker")
    flag((extra != "") & ~extra.str.fullmatch(BROKER), INVALID_NUMBER, "additional_broker")
    # A UTF-8 character is at most 4 bytes: only tags longer than 32 characters can be too long.
    long_tags = raw["tags"][raw["tags"].str.len() > TAGS_MAX_BYTES // 4]
    too_long = long_tags.str.encode("utf-8").str.len() > TAGS_MAX_BYTES
    flag(too_long.reindex(raw["tags"].index, fill_value=False), TAGS_TOO_LONG, "tags")

    timeout_given = raw["timeout_seconds"] != ""
    timeout = pd.to_numeric(
        raw["timeout_seconds"].where(timeout_given).str.normalize("NFKC"), errors="coerce"
    )
    timeout_ok = timeout.notna() & (timeout % 1 == 0) & timeout.between(1, MAX_TIMEOUT_S)
    flag(timeout_given & ~timeout_ok, INVALID_TIMEOUT, "timeout_seconds")
    timeout = timeout.where(timeout_given & timeout_ok, defaults.timeout_seconds)

    # Rows still good and without a broker take the next pool number, round robin.
    from_pool = (broker == "") & (reason == "")
    if state.pool:
        k = int(from_pool.sum())
        picks = [state.pool[(state.pool_cursor + i) % len(state.pool)] for i in range(k)]
        state.pool_cursor = (state.pool_cursor + k) % len(state.pool)
        broker = broker.copy()
        broker[from_pool] = picks
    else:
        from_pool = from_pool & False
    flag(broker == "", MISSING, "broker")

    flag(callee.isin(state.dnc), DO_NOT_CALL, "callee")
    candidate = reason == ""
    duplicate = candidate & (callee.isin(state.seen_callees) | (callee.duplicated() & candidate))
    flag(duplicate, DUPLICATE, "callee")
    state.seen_callees.update(callee[reason == ""].tolist())

    accepted = reason == ""
    out["caller"] = caller.where(accepted, raw["caller"])
    out["callee"] = callee.where(accepted, raw["callee"])
    out["broker"] = broker.where(accepted, raw["broker"])
    out["additional_broker"] = extra.where(accepted, raw["additional_broker"])
    out["timeout_seconds"] = (
        timeout.astype("int64").astype(str).where(accepted, raw["timeout_seconds"])
    )
    out["tags"] = raw["tags"]
    out["pool"] = from_pool & accepted
    out["reason"] = reason
    out["detail"] = _details(reason, bad_column, raw, columns)
    for name, position in zip(columns.passthrough, columns.passthrough_positions, strict=True):
        out[name] = frame.iloc[:, position].to_numpy()
    return out


def _column(frame: pd.DataFrame, position: int | None, n: int) -> pd.Series:
    if position is None:
        return pd.Series([""] * n, dtype=object)
    return frame.iloc[:, position].reset_index(drop=True).fillna("").astype(str).str.strip()


_EXPLAIN = {
    MISSING: "no value, and no campaign default",
    INVALID_NUMBER: "not a valid phone number",
    TAGS_TOO_LONG: f"more than {TAGS_MAX_BYTES} bytes UTF-8",
    INVALID_TIMEOUT: f"must be a whole number of seconds from 1 to {MAX_TIMEOUT_S}",
    DO_NOT_CALL: "number is on the do-not-call list",
    DUPLICATE: "this callee is already in the campaign",
    UNSAVED_FORMULA: "a formula with no saved result (the file was written by a program, "
    "not saved by Excel); open it in Excel, save it and upload again",
}


def _details(
    reason: pd.Series, bad_column: pd.Series, raw: dict[str, pd.Series], columns: ColumnMap
) -> pd.Series:
    details = pd.Series("", index=reason.index, dtype=object)
    for i in reason.index[reason != ""]:
        field_name = bad_column[i]
        value = raw[field_name][i]
        header = columns.fields.get(field_name, field_name)
        why = _EXPLAIN[reason[i]]
        if reason[i] == INVALID_NUMBER and re.match(SCIENTIFIC, value.strip()):
            why = "scientific notation has lost digits; format the column as text and export again"
        details[i] = f"column {_shown(header)} value {_shown(value)}: {why}"
    return details


def load_dnc(path: str) -> frozenset[str]:
    """The numbers of a do-not-call file (one a line, or the first column of a sheet; text in
    any encoding a sheet may have, or XLSX), normalised as sheet numbers are."""
    try:
        lines = list(reader.read_first_column(Path(path)))
    except SheetError as exc:
        raise SheetError(path, f"do-not-call file: {exc.reason}") from None
    numbers, _ = normalise_numbers(pd.Series(lines, dtype=object))
    return frozenset(numbers.tolist())


def chunks_with_columns(
    file: str, frames: Iterator[pd.DataFrame]
) -> Iterator[tuple[ColumnMap, pd.DataFrame]]:
    """Map the header once (from the first chunk) and pair it with every chunk."""
    columns: ColumnMap | None = None
    for frame in frames:
        if columns is None:
            columns = ColumnMap.from_header(file, frame.columns)
        yield columns, frame
