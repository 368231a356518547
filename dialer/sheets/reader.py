"""Reading campaign files as operators save them, streamed in chunks of DataFrames whose cells
are all strings and whose columns are the header exactly as written (duplicates included:
dialer.sheets.validate decides what a repeated header means).

The type comes from the content, never the name: a ZIP is an XLSX workbook (even when saved as
`.csv`); anything else must be text — UTF-8 (with or without BOM), GBK/GB18030, or UTF-16 with
or without BOM (Excel's "Unicode Text") — delimited by comma, semicolon, tab or `|`."""

from __future__ import annotations

import codecs
import csv
import re
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dialer.errors import SheetError, clip

SAMPLE_BYTES = 256 * 1024
# csv.Sniffer's regular expressions take time quadratic in the text: 16 KB is a tenth of a
# second, a 256 KB line of garbage was half a minute.
SNIFF_CHARS = 16 * 1024
CHUNK_ROWS = 100_000
MAX_COLUMNS = 1000
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
# frame.attrs key of an XLSX chunk: (row in chunk, column) of every formula cell that has no
# saved result; the cell holds the formula's text.
UNSAVED_FORMULAS = "unsaved_formulas"


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
    if sample.startswith(_ZIP_MAGIC):
        return SheetSource(path, "xlsx", sheet=sheet)
    if sample.startswith(_OLE_MAGIC):
        raise SheetError(
            name,
            "this is an Excel 97-2003 (.xls) or password-protected workbook; "
            "save it as .xlsx (without a password) or as CSV UTF-8",
        )
    encoding = detect_encoding(name, sample, whole)
    text = codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
    if not text.strip():
        raise SheetError(name, "the file is empty")
    return SheetSource(path, "csv", encoding=encoding, delimiter=_sniff_delimiter(text))


def detect_encoding(name: str, sample: bytes, whole: bool) -> str:
    """The text encoding of `sample` (the start of file `name`; all of it when `whole`)."""
    if sample.startswith(codecs.BOM_UTF8):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    elif b"\x00" in sample:
        candidates = _utf16_without_bom(sample)
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
        except UnicodeDecodeError:
            continue
        if len(_CONTROL.findall(text)) <= len(text) // 100:
            return encoding
    if b"\x00" in sample or not candidates:
        raise SheetError(name, "this is a binary file, not a CSV or XLSX sheet")
    what = " or ".join(_ENCODING_NAMES[c] for c in candidates)
    raise SheetError(name, f"the file is not valid {what} text and cannot be decoded")


_ENCODING_NAMES = {
    "utf-8-sig": "UTF-8",
    "utf-8": "UTF-8",
    "gb18030": "GBK/GB18030",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}


def _utf16_without_bom(sample: bytes) -> tuple[str, ...]:
    """Text of mostly ASCII characters (headers, digits, delimiters) in UTF-16 has a zero in
    every other byte: the odd ones for little-endian, the even ones for big-endian."""
    pairs = len(sample) // 2
    even, odd = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
    if odd >= pairs // 4 and odd > 4 * even:
        return ("utf-16-le",)
    if even >= pairs // 4 and even > 4 * odd:
        return ("utf-16-be",)
    return ()


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    sample = "\n".join(lines)
    if len(sample) > SNIFF_CHARS:  # whole lines, unless the first alone is longer
        cut = sample.rfind("\n", 0, SNIFF_CHARS)
        sample = sample[: cut if cut > 0 else SNIFF_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        return max(",;\t|", key=header.count) if any(c in header for c in ",;\t|") else ","


def read_chunks(source: SheetSource, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """DataFrames of at most `chunk_rows` rows, columns as in the file's header, cells str."""
    if source.kind == "xlsx":
        yield from _xlsx_chunks(source, chunk_rows)
    else:
        yield from _csv_chunks(source, chunk_rows)


def read_first_column(path: Path) -> Iterator[str]:
    """The non-empty cells of the first column, every row (a list has no header to skip): for
    one-number-a-line files such as the do-not-call list. An empty file is an empty list."""
    try:
        with open(path, "rb") as f:
            if not f.read(SAMPLE_BYTES).strip():
                return
    except OSError as exc:
        raise SheetError(str(path), f"cannot read the file ({exc.strerror})") from None
    source = detect(path)
    if source.kind == "xlsx":
        with ExitStack() as stack:
            ws = _worksheet(str(path), _open_book(stack, path, data_only=True), None)
            for value, *_ in ws.iter_rows(max_col=1, values_only=True):
                if cell := _cell(value):
                    yield cell
        return
    with open(path, encoding=source.encoding, newline="") as f:
        try:
            for fields in csv.reader(f, delimiter=source.delimiter or ","):
                if fields and (cell := fields[0].strip()):
                    yield cell
        except UnicodeDecodeError:
            raise SheetError(str(path), "undecodable bytes past the start of the file") from None


def _csv_chunks(source: SheetSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    name = str(source.path)
    options: dict[str, Any] = {
        "sep": source.delimiter,
        "encoding": source.encoding,
        "dtype": str,
        "keep_default_na": False,
        "skip_blank_lines": True,
        "engine": "c",
    }
    try:
        # The header as written: pandas would rename a repeated name ("Callee.1") and so hide
        # it from the column checks.
        first = pd.read_csv(source.path, header=None, nrows=1, **options)
        if first.empty:
            raise SheetError(name, "the file has no header row")
        header = _header_names(name, first.iloc[0].tolist())
        # index_col=False: a trailing delimiter on every data row must not shift the columns.
        reader = pd.read_csv(
            source.path,
            header=0,
            names=list(range(len(header))),
            index_col=False,
            chunksize=chunk_rows,
            **options,
        )
        with reader:
            while True:
                with warnings.catch_warnings():
                    # "Length of header or names does not match": the trailing delimiter above.
                    warnings.simplefilter("ignore", pd.errors.ParserWarning)
                    frame = next(reader, None)
                if frame is None:
                    return
                frame.columns = pd.Index(header, dtype=object)
                yield frame
    except UnicodeDecodeError:
        encoding = _ENCODING_NAMES.get(str(source.encoding), source.encoding)
        raise SheetError(
            name,
            f"the file is not {encoding} text throughout (undecodable bytes after the first "
            f"{SAMPLE_BYTES // 1024} KB); save it again as CSV UTF-8",
        ) from None
    except pd.errors.EmptyDataError:
        raise SheetError(name, "the file has no header row") from None
    except pd.errors.ParserError as exc:
        raise SheetError(name, f"not a well-formed CSV: {' '.join(str(exc).split())}") from None


def _header_names(file: str, cells: list[Any]) -> list[str]:
    if len(cells) > MAX_COLUMNS:
        raise SheetError(
            file,
            f"the header row has {len(cells)} columns (at most {MAX_COLUMNS}); "
            "is this a campaign sheet?",
        )
    return [_cell(v) or f"Unnamed: {i}" for i, v in enumerate(cells)]


def _xlsx_chunks(source: SheetSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    name = str(source.path)
    with ExitStack() as stack:
        ws = _worksheet(name, _open_book(stack, source.path, data_only=True), source.sheet)
        # A formula is read by its saved result. One without a saved result (a file written by
        # a program, never saved by Excel) is told apart by reading the formulas alongside.
        formula_rows = None
        if _has_formulas(source.path):
            book = _open_book(stack, source.path, data_only=False)
            formula_rows = _worksheet(name, book, source.sheet).iter_rows(values_only=True)
            next(formula_rows, None)
        rows = ws.iter_rows(values_only=formula_rows is None)
        header_row = next(rows, None)
        if header_row is None:
            raise SheetError(name, "the sheet is empty")
        if formula_rows is not None:
            header_row = tuple(c.value for c in header_row)
        columns = _header_names(name, list(header_row))
        width = len(columns)
        batch: list[list[str]] = []
        unsaved: list[tuple[int, int]] = []
        unsaved_here: list[int] = []
        for row in rows:
            if formula_rows is None:
                values = row
            else:
                values, unsaved_here = _saved_values(row, next(formula_rows, ()))
            cells = [_cell(v) for v in values[:width]]
            if not any(cells):
                continue
            cells.extend([""] * (width - len(cells)))
            unsaved.extend((len(batch), i) for i in unsaved_here if i < width)
            batch.append(cells)
            if len(batch) >= chunk_rows:
                yield _frame(batch, columns, unsaved)
                batch, unsaved = [], []
        # Always one last frame, even empty, so a header-only sheet still shows its columns.
        yield _frame(batch, columns, unsaved)


def _frame(batch: list[list[str]], columns: list[str], unsaved: list[tuple[int, int]]) -> Any:
    frame = pd.DataFrame(batch, columns=pd.Index(columns, dtype=object), dtype=str)
    frame.attrs[UNSAVED_FORMULAS] = unsaved
    return frame


def _open_book(stack: ExitStack, path: Path, *, data_only: bool) -> Any:
    """A read-only workbook, closed with `stack`."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, not the path: openpyxl refuses a name that does not end in .xlsx.
    f = stack.enter_context(open(path, "rb"))  # noqa: SIM115 (closed by the stack)
    try:
        with warnings.catch_warnings():
            # "Workbook contains no default style" and the like: nothing the operator can act on.
            warnings.simplefilter("ignore", UserWarning)
            book = load_workbook(f, read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise SheetError(
            str(path),
            f"a ZIP archive but not a readable XLSX workbook ({type(exc).__name__}); "
            "save it from Excel as .xlsx or as CSV UTF-8",
        ) from None
    stack.callback(book.close)
    return book


def _worksheet(name: str, book: Any, sheet: str | None) -> Any:
    if sheet is not None and sheet not in book.sheetnames:
        sheets = ", ".join(repr(s) for s in book.sheetnames)
        raise SheetError(name, f"no sheet named {sheet!r}; sheets: {clip(sheets, 200)}")
    return book[sheet] if sheet else book.worksheets[0]


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet holds a formula: a scan of the XML, some 30 times cheaper than
    reading the workbook a second time."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.startswith("xl/worksheets/"):
                continue
            with archive.open(info) as xml:
                tail = b""
                while block := xml.read(1 << 20):
                    if _FORMULA_TAG.search(tail + block):
                        return True
                    tail = block[-16:]
    return False


def _saved_values(cells: tuple[Any, ...], formulas: tuple[Any, ...]) -> tuple[list[Any], list[int]]:
    """The row's saved values, a formula without one as its text; and where those are."""
    values, unsaved = [], []
    for i, cell in enumerate(cells):
        value = cell.value
        formula = formulas[i] if i < len(formulas) else None
        # A saved empty text result is typed "str"; no saved result at all leaves the type "n".
        if value is None and cell.data_type != "str" and _is_formula(formula):
            value = getattr(formula, "text", None) or str(formula)
            unsaved.append(i)
        values.append(value)
    return values, unsaved


def _is_formula(value: Any) -> bool:
    return (isinstance(value, str) and value.startswith("=")) or hasattr(value, "ref")


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).strip()
