"""Campaign sheet -> validated rows, vectorised with pandas.

Each chunk of the sheet becomes one frame with the dialing columns normalised and a `reason`
column: empty for an accepted row, a `Sheet.*` code for a rejected one (with `detail` naming
the column and value). Pass-through columns ride along untouched."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dialer.ccc.client import TAGS_MAX_BYTES
from dialer.errors import SheetError

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
REASONS = (MISSING, INVALID_NUMBER, TAGS_TOO_LONG, INVALID_TIMEOUT, DO_NOT_CALL, DUPLICATE)

_SCIENTIFIC = r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$"
_PHONE = r"1\d{10}|0\d{9,11}"
_BROKER = r"\d{5,15}"


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.strip().lstrip("\ufeff")).lower()


@dataclass(frozen=True)
class ColumnMap:
    """Which source column feeds each dialing field; the rest pass through in order."""

    fields: dict[str, str]
    passthrough: tuple[str, ...]

    @classmethod
    def from_header(cls, file: str, columns: Iterable[str]) -> ColumnMap:
        mapped: dict[str, str] = {}
        passthrough: list[str] = []
        for column in columns:
            target = _ALIAS_TO_FIELD.get(_header_key(str(column)))
            if target is None:
                passthrough.append(str(column))
            elif target in mapped:
                raise SheetError(
                    file, f"columns {mapped[target]!r} and {column!r} both mean {target}"
                )
            else:
                mapped[target] = str(column)
        if "callee" not in mapped:
            found = ", ".join(repr(str(c)) for c in columns) or "none"
            raise SheetError(
                file,
                "no callee column (expected one of: Callee, 被叫, 被叫号码); columns found: "
                + found,
            )
        return cls(mapped, tuple(passthrough))


def normalise_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(normalised numbers, scientific-notation mask) of stripped strings. Scientific notation
    has lost digits: it is flagged, never repaired."""
    clean = raw.str.fullmatch(_PHONE) | (raw == "")
    scientific = pd.Series(False, index=raw.index)
    if clean.all():
        return raw, scientific
    # Only the messy minority goes through the rewrite pipeline: most sheets are clean.
    s = raw[~clean]
    scientific[~clean] = s.str.match(_SCIENTIFIC)
    s = s.str.replace(r"\.0+$", "", regex=True)
    s = s.str.replace(r"[\s\-.()（）]", "", regex=True)
    international = s.str.match(r"^(?:\+86|0086)")
    s = s.str.replace(r"^(?:\+86|0086)", "", regex=True)
    s = s.mask(s.str.fullmatch(r"861\d{10}"), s.str[2:])
    # "+86 21 5123 4567" is the landline 021-5123-4567: the trunk 0 goes back on.
    lost_trunk_zero = international & s.str.match(r"^[2-9]\d{8,10}$")
    s = s.mask(lost_trunk_zero, "0" + s)
    out = raw.copy()
    out[~clean] = s
    return out, scientific


@dataclass
class IngestState:
    """What one upload carries from chunk to chunk."""

    pool: tuple[str, ...]
    dnc: frozenset[str] = frozenset()
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
    raw = {f: _column(frame, columns.fields.get(f), n) for f in FIELDS}
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

    flag(raw["caller"] == "", MISSING, "caller")
    flag(raw["callee"] == "", MISSING, "callee")
    flag(caller_sci | ~caller.str.fullmatch(_PHONE), INVALID_NUMBER, "caller")
    flag(callee_sci | ~callee.str.fullmatch(_PHONE), INVALID_NUMBER, "callee")
    flag((broker != "") & ~broker.str.fullmatch(_BROKER), INVALID_NUMBER, "broker")
    flag((extra != "") & ~extra.str.fullmatch(_BROKER), INVALID_NUMBER, "additional_broker")
    # A UTF-8 character is at most 4 bytes: only tags longer than 32 characters can be too long.
    long_tags = raw["tags"][raw["tags"].str.len() > TAGS_MAX_BYTES // 4]
    too_long = long_tags.str.encode("utf-8").str.len() > TAGS_MAX_BYTES
    flag(too_long.reindex(raw["tags"].index, fill_value=False), TAGS_TOO_LONG, "tags")

    timeout = pd.to_numeric(
        raw["timeout_seconds"].mask(raw["timeout_seconds"] == ""), errors="coerce"
    )
    timeout_given = raw["timeout_seconds"] != ""
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
    for name in columns.passthrough:
        out[name] = frame[name].to_numpy()
    return out


def _column(frame: pd.DataFrame, name: str | None, n: int) -> pd.Series:
    if name is None:
        return pd.Series([""] * n, dtype=object)
    return frame[name].reset_index(drop=True).fillna("").astype(str).str.strip()


_EXPLAIN = {
    MISSING: "no value, and no campaign default",
    INVALID_NUMBER: "not a valid phone number",
    TAGS_TOO_LONG: f"more than {TAGS_MAX_BYTES} bytes UTF-8",
    INVALID_TIMEOUT: f"must be a whole number of seconds from 1 to {MAX_TIMEOUT_S}",
    DO_NOT_CALL: "number is on the do-not-call list",
    DUPLICATE: "this callee is already in the campaign",
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
        if reason[i] == INVALID_NUMBER and re.match(_SCIENTIFIC, value.strip()):
            why = "scientific notation has lost digits; format the column as text and export again"
        details[i] = f"column {header!r} value {value!r}: {why}"
    return details


def load_dnc(path: str) -> frozenset[str]:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError as exc:
        raise SheetError(path, f"cannot read the do-not-call file ({exc.strerror})") from None
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
