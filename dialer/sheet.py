"""Reading campaign files: CSV in any common delimiter and encoding, or XLSX, streamed in
chunks of DataFrames whose cells are all strings."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dialer.errors import SheetError

SAMPLE_BYTES = 256 * 1024
CHUNK_ROWS = 100_000
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class SheetSource:
    path: Path
    kind: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


def detect(path: Path, sheet: str | None = None) -> SheetSource:
    """Decide how to read `path`, or raise SheetError naming the file and the problem."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            sample = f.read(SAMPLE_BYTES)
            whole = len(sample) < SAMPLE_BYTES
    except OSError as exc:
        raise SheetError(name, f"cannot read the file ({exc.strerror})") from None
    if not sample.strip():
        raise SheetError(name, "the file is empty")
    if sample.startswith(_XLSX_MAGIC) or path.suffix.lower() in (".xlsx", ".xlsm"):
        return SheetSource(path, "xlsx", sheet=sheet)
    if b"\x00" in sample:
        raise SheetError(name, "this is a binary file, not a CSV or XLSX sheet")
    encoding = _detect_encoding(name, sample, whole)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=whole)
    return SheetSource(path, "csv", encoding=encoding, delimiter=_sniff_delimiter(text))


def _detect_encoding(name: str, sample: bytes, whole: bool) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SheetError(name, "UTF-16 files are not supported; save the sheet as UTF-8 CSV")
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
        except UnicodeDecodeError:
            continue
        return encoding
    raise SheetError(name, "the file is neither UTF-8 nor GBK/GB18030 text and cannot be decoded")


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        return max(",;\t|", key=header.count) if any(c in header for c in ",;\t|") else ","


def read_chunks(source: SheetSource, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """DataFrames of at most `chunk_rows` rows, columns as in the file's header, cells str."""
    if source.kind == "xlsx":
        yield from _xlsx_chunks(source, chunk_rows)
        return
    name = str(source.path)
    try:
        reader = pd.read_csv(
            source.path,
            sep=source.delimiter,
            encoding=source.encoding,
            dtype=str,
            keep_default_na=False,
            chunksize=chunk_rows,
            skip_blank_lines=True,
            engine="c",
        )
        with reader:
            yield from reader
    except UnicodeDecodeError as exc:
        raise SheetError(
            name, f"undecodable bytes at offset {exc.start} ({source.encoding})"
        ) from None
    except pd.errors.EmptyDataError:
        raise SheetError(name, "the file has no header row") from None
    except pd.errors.ParserError as exc:
        raise SheetError(name, f"not a well-formed CSV: {' '.join(str(exc).split())}") from None


def _xlsx_chunks(source: SheetSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import zipfile

    from openpyxl import load_workbook

    name = str(source.path)
    try:
        book = load_workbook(source.path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise SheetError(name, f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        if source.sheet is not None and source.sheet not in book.sheetnames:
            raise SheetError(
                name, f"no sheet named {source.sheet!r}; sheets: {', '.join(book.sheetnames)}"
            )
        ws = book[source.sheet] if source.sheet else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise SheetError(name, "the sheet is empty")
        columns = [_cell(v) or f"Unnamed: {i}" for i, v in enumerate(header)]
        batch: list[list[str]] = []
        for values in rows:
            cells = [_cell(v) for v in values[: len(columns)]]
            if not any(cells):
                continue
            cells.extend([""] * (len(columns) - len(cells)))
            batch.append(cells)
            if len(batch) >= chunk_rows:
                yield pd.DataFrame(batch, columns=columns, dtype=str)
                batch = []
        # Always one last frame, even empty, so a header-only sheet still shows its columns.
        yield pd.DataFrame(batch, columns=columns, dtype=str)
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).strip()
