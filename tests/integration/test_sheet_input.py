"""Sheets as operators really save them, through `upload` into a real Redis: the type found by
content, UTF-16 (Excel's "Unicode Text"), full-width digits, repeated headers, XLSX formulas,
awkward do-not-call files, and error messages of a readable length."""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

import pytest
import redis
from openpyxl import Workbook

from dialer.engine import CampaignStore, Keys
from dialer.errors import SheetError
from dialer.models import CampaignSettings
from dialer.sheets.upload import upload
from dialer.sheets.validate import load_dnc

POOL = ("02151234567",)


@pytest.fixture
def store(redis_client: redis.Redis, namespace: str) -> CampaignStore:
    return CampaignStore(redis_client, Keys(namespace))


def settings(**kw) -> CampaignSettings:
    return CampaignSettings(name="t", instance_id="ccc-test", pool=kw.pop("pool", POOL), **kw)


def rows_of(store: CampaignStore, cid: str) -> list[tuple[list, str, dict]]:
    return list(store.iter_rows(cid))


def stored_nothing(store: CampaignStore) -> bool:
    return list(store.r.scan_iter(match=f"{store.keys.namespace}:*")) == []


def xlsx(path: Path, *rows: list) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def with_saved_results(path: Path, results: dict[str, str]) -> Path:
    """Give formula cells the saved results Excel would write: {"B2": "13900000001"}."""
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for cell, value in results.items():
        xml, n = re.subn(
            rf'<c r="{cell}"([^>]*)><f>(.*?)</f><v ?/>',
            rf'<c r="{cell}"\1 t="str"><f>\2</f><v>{value}</v>',
            xml,
        )
        assert n == 1, cell
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


# --- the file type comes from the content ------------------------------------------------


def test_xlsx_saved_with_a_csv_name_is_read_as_xlsx(store, tmp_path) -> None:
    path = xlsx(tmp_path / "list.csv", ["Caller", "Callee"], [13800000001, 13900000001])
    report = upload(store, path, settings())
    assert (report.total, report.accepted) == (1, 1)


def test_csv_saved_with_an_xlsx_name_is_read_as_csv(store, tmp_path) -> None:
    path = tmp_path / "list.xlsx"
    path.write_text("Caller,Callee\n13800000001,13900000001\n")
    assert upload(store, path, settings()).accepted == 1


def test_old_xls_workbook_is_refused_with_what_to_do(store, tmp_path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(SheetError, match=r"\.xls.*save it as \.xlsx"):
        upload(store, path, settings())
    assert stored_nothing(store)


def test_zip_that_is_not_a_workbook_is_refused(store, tmp_path) -> None:
    path = tmp_path / "c.csv"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(SheetError, match="not a readable XLSX workbook"):
        upload(store, path, settings())
    assert stored_nothing(store)


# --- UTF-16 -----------------------------------------------------------------------------

UNICODE_TEXT = (
    "主叫号码\t被叫号码\t客户姓名\r\n"
    "13800000001\t13900000001\t张三\r\n"
    "13800000001\t13900000002\t李四\r\n"
)


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF16_LE + UNICODE_TEXT.encode("utf-16-le"),  # Excel's "Unicode Text"
        codecs.BOM_UTF16_BE + UNICODE_TEXT.encode("utf-16-be"),
        UNICODE_TEXT.encode("utf-16-le"),
        UNICODE_TEXT.encode("utf-16-be"),
    ],
    ids=["le-bom", "be-bom", "le", "be"],
)
def test_utf16_with_or_without_bom(store, tmp_path, data) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes(data)
    report = upload(store, path, settings())
    assert report.accepted == 2
    assert [r[0][-1] for r in rows_of(store, report.campaign_id)] == ["张三", "李四"]
    assert store.campaign(report.campaign_id).passthrough == ("客户姓名",)


def test_binary_file_with_zero_bytes_is_still_binary(store, tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(SheetError, match="binary"):
        upload(store, path, settings())


def test_gbk_text_after_an_ascii_start_is_refused_whole(store, tmp_path) -> None:
    path = tmp_path / "late.csv"
    ascii_rows = "".join(f"13800000001,139{i:08d},x\n" for i in range(12_000))
    path.write_bytes(
        ("Caller,Callee,Name\n" + ascii_rows).encode()
        + "13800000001,13912345678,张三\n".encode("gbk")
    )
    with pytest.raises(SheetError, match="save it again as CSV UTF-8"):
        upload(store, path, settings(), chunk_rows=1000)
    assert stored_nothing(store)


# --- Unicode digits ---------------------------------------------------------------------


def test_full_width_and_other_compatibility_digits_are_normalised(store, tmp_path) -> None:
    text = (
        "Caller,Callee,Broker\n"
        "１３８００００００01,１３９ ００００ ０００１,\n"  # full width, mixed with ASCII
        # full-width + and -
        "13800000001,＋８６ １３９－００００－０００２,０２１５１２３４５６８\n"
        "13800000001,𝟏𝟑𝟗𝟎𝟎𝟎𝟎𝟎𝟎𝟎𝟑,\n"  # mathematical bold digits
        "13800000001,1390000000٤,\n"  # an Arabic-Indic digit: NFKC keeps it, so refused
    )
    path = tmp_path / "fw.csv"
    path.write_text(text)
    report = upload(store, path, settings())
    records = rows_of(store, report.campaign_id)
    assert [(r[2], state) for r, state, _ in records] == [
        ("13900000001", "PENDING"),
        ("13900000002", "PENDING"),
        ("13900000003", "PENDING"),
        ("1390000000٤", "REJECTED"),
    ]
    assert [r[1] for r, _, _ in records[:3]] == ["13800000001"] * 3
    assert records[1][0][3] == "02151234568"
    assert records[3][2]["error_code"] == "Sheet.InvalidNumber"


def test_full_width_timeout_is_read(store, tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Caller,Callee,TimeoutSeconds\n13800000001,13900000001,４５\n")
    report = upload(store, path, settings())
    assert rows_of(store, report.campaign_id)[0][0][5] == "45"


def test_dnc_list_in_utf16_with_full_width_digits(store, tmp_path) -> None:
    dnc = tmp_path / "dnc.txt"
    dnc.write_bytes(
        codecs.BOM_UTF16_LE + "１３９００００００01\r\n139-0000-0002\r\n".encode("utf-16-le")
    )
    assert load_dnc(str(dnc)) == frozenset({"13900000001", "13900000002"})
    sheet = tmp_path / "s.csv"
    sheet.write_text("Caller,Callee\n13800000001,13900000001\n13800000001,13900000003\n")
    report = upload(store, sheet, settings(), dnc=load_dnc(str(dnc)))
    assert report.rejected == {"Sheet.DoNotCall": 1}


def test_dnc_list_as_xlsx_and_empty(tmp_path) -> None:
    path = xlsx(tmp_path / "dnc.csv", ["phone"], [13900000001], ["１３９００００００02"])
    assert load_dnc(str(path)) == frozenset({"phone", "13900000001", "13900000002"})
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert load_dnc(str(empty)) == frozenset()


def test_unreadable_dnc_list_names_the_file(tmp_path) -> None:
    path = tmp_path / "dnc.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SheetError, match=r"dnc\.bin: do-not-call file: .*binary"):
        load_dnc(str(path))


# --- repeated headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["Caller,Callee,Callee", "Caller,Callee,被叫号码", "Caller,callee,CALLEE"]
)
def test_two_callee_columns_are_refused_naming_both(store, tmp_path, header) -> None:
    path = tmp_path / "two.csv"
    path.write_text(f"{header}\n13800000001,13900000001,13900000002\n")
    with pytest.raises(SheetError) as info:
        upload(store, path, settings())
    first, second = header.split(",")[1:]
    assert f"{first!r} (column 2) and {second!r} (column 3) both hold the callee" in str(info.value)
    assert stored_nothing(store)


def test_repeated_passthrough_headers_stay_distinct_columns(store, tmp_path) -> None:
    path = xlsx(
        tmp_path / "notes.xlsx",
        ["Caller", "Note", "Callee", "Note", "Note (2)", "Note"],
        [13800000001, "a", 13900000001, "b", "c", "d"],
    )
    report = upload(store, path, settings())
    campaign = store.campaign(report.campaign_id)
    assert campaign.passthrough == ("Note", "Note (3)", "Note (2)", "Note (4)")
    assert rows_of(store, report.campaign_id)[0][0][-4:] == ["a", "b", "c", "d"]


def test_repeated_passthrough_headers_in_csv(store, tmp_path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("Caller,Callee,Note,Note\n13800000001,13900000001,a,b\n")
    report = upload(store, path, settings())
    assert store.campaign(report.campaign_id).passthrough == ("Note", "Note (2)")
    assert rows_of(store, report.campaign_id)[0][0][-2:] == ["a", "b"]


def test_passthrough_column_named_like_our_own_columns_does_not_clobber_them(
    store, tmp_path
) -> None:
    path = tmp_path / "own.csv"
    path.write_text("Caller,Callee,reason,row\n13800000001,13900000001,vip,7\n")
    report = upload(store, path, settings())
    assert report.accepted == 1
    assert store.campaign(report.campaign_id).passthrough == ("reason (2)", "row (2)")
    [(record, state, _)] = rows_of(store, report.campaign_id)
    assert (record[0], state, record[-2:]) == (1, "PENDING", ["vip", "7"])


def test_trailing_delimiter_on_every_row_does_not_shift_columns(store, tmp_path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("Caller,Callee\n13800000001,13900000001,\n13800000001,13900000002,\n")
    report = upload(store, path, settings())
    assert report.accepted == 2
    assert [r[2] for r, _, _ in rows_of(store, report.campaign_id)] == [
        "13900000001",
        "13900000002",
    ]


# --- XLSX formulas ----------------------------------------------------------------------


def test_formula_cells_are_read_by_their_saved_result(store, tmp_path) -> None:
    path = xlsx(
        tmp_path / "f.xlsx",
        ["Caller", "Callee", "Note"],
        [13800000001, '="139"&"00000001"', '=IF(1,"","x")'],
    )
    with_saved_results(path, {"B2": "13900000001", "C2": ""})
    report = upload(store, path, settings())
    [(record, state, _)] = rows_of(store, report.campaign_id)
    assert (record[2], state, record[-1]) == ("13900000001", "PENDING", "")


def test_formula_without_a_saved_result_gets_a_clear_reason(store, tmp_path) -> None:
    path = xlsx(
        tmp_path / "f.xlsx",
        ["Caller", "Callee", "Note"],
        [13800000001, '="139"&"00000001"', "=1+1"],
        [13800000001, 13900000002, "=1+1"],
    )
    report = upload(store, path, settings())
    records = rows_of(store, report.campaign_id)
    assert [state for _, state, _ in records] == ["REJECTED", "PENDING"]
    result = records[0][2]
    assert result["error_code"] == "Sheet.UnsavedFormula"
    assert "'Callee'" in result["error_message"] and "save it" in result["error_message"]
    # A pass-through cell keeps the formula's text rather than nothing.
    assert records[1][0][-1] == "=1+1"


# --- readable messages ------------------------------------------------------------------


def test_a_megabyte_of_garbage_gives_a_short_message(store, tmp_path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_text(("x" * 300 + ",") * 3500)
    with pytest.raises(SheetError) as info:
        upload(store, path, settings())
    assert len(str(info.value)) < 400
    assert stored_nothing(store)


def test_a_long_garbage_header_gives_a_short_message(store, tmp_path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_text("y" * 1_000_000 + "\n1\n")
    with pytest.raises(SheetError, match="no callee column") as info:
        upload(store, path, settings())
    assert len(str(info.value)) < 400


def test_a_long_bad_cell_is_cut_in_the_row_reason(store, tmp_path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("Caller,Callee\n13800000001," + "9" * 5000 + "\n")
    report = upload(store, path, settings())
    [(_, state, result)] = rows_of(store, report.campaign_id)
    assert state == "REJECTED" and len(result["error_message"]) < 200
