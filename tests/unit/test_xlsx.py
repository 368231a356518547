"""The streaming XLSX writer and the masking of phone numbers in free text."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from dialer.results.export import mask_text
from dialer.results.xlsx import MAX_CELL_CHARS, column_letter, write_table


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_cells_keep_their_type_and_awkward_text_survives(tmp_path) -> None:
    header = [f"c{i}" for i in range(30)]  # past column Z
    when = dt.datetime(2026, 3, 2, 9, 30, 15, 250_000)
    awkward = [
        "a & b <c> \"d\" 'e'",
        " lead and trail ",
        "bell\x07gone",
        "cr\rkept",
        "line\nbreak",
        "中文客户",
        "x" * (MAX_CELL_CHARS + 10),
    ]
    rows = [[1, 2.5, when, None, "", "=1+1", *awkward, *([7] * 17)]]
    path = tmp_path / "t.xlsx"
    with open(path, "wb") as out:
        assert write_table(out, header, rows, sheet="r'esults") == 1
    book = load_workbook(path)
    sheet = book.active
    assert sheet.title == "r'esults"
    values = [c.value for c in sheet[2]]
    assert values[:3] == [1, 2.5, when]
    assert values[3] is None and values[4] is None
    assert values[5] == "=1+1" and sheet["F2"].data_type == "s" and sheet["F2"].quotePrefix
    assert values[6:12] == [
        "a & b <c> \"d\" 'e'",
        " lead and trail ",
        "bellgone",
        "cr\rkept",
        "line\nbreak",
        "中文客户",
    ]
    assert len(values[12]) == MAX_CELL_CHARS
    assert values[-1] == 7 and sheet.max_column == 30
    assert sheet.auto_filter.ref == "A1:AD2"
    assert sheet.column_dimensions["L"].width >= 9  # four CJK characters count double


def test_an_empty_table_is_a_header_with_a_filter(tmp_path) -> None:
    path = tmp_path / "t.xlsx"
    with open(path, "wb") as out:
        assert write_table(out, ["a", "b"], []) == 0
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[1]] == ["a", "b"]
    assert sheet.auto_filter.ref == "A1:B1" and sheet.max_row == 1


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13900000001", "1390000****"),
        ("callee 13900000001 refused", "callee 1390000**** refused"),
        ("+86 139 0000 0001", "+86 139 0000 ****"),
        ("8613900000001", "861390000****"),
        ("021-5123-4567", "021-5123-****"),
        ("02151234567/13800000001", "0215123****/1380000****"),
        ("ord-1234567", "ord-1234567"),  # not a phone number
        ("1767225600000", "1767225600000"),  # an epoch in milliseconds
        ("2026-03-02 09:00:00", "2026-03-02 09:00:00"),
        ("回访 3", "回访 3"),
    ],
)
def test_mask_text_hides_the_last_four_digits_of_every_phone_number(text, masked) -> None:
    assert mask_text(text) == masked
