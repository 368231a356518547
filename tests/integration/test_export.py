"""Results sheet and report from a campaign driven through every row state with the real
engine scripts, a real Redis and the simulator (rows placed in-process, one by one).

The campaign's zone is America/Sao_Paulo (UTC-03:00), so nothing can pass by assuming the
dialer's home zone, UTC+08:00."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import redis
from support import ALWAYS, feed_now

from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Simulator
from dialer.engine import CampaignStore, Engine, Keys
from dialer.models import CampaignSettings, Timing
from dialer.results.export import RESULT_COLUMNS, export, neutralise
from dialer.results.report import render_html
from dialer.settings import Credentials
from dialer.sheets.upload import upload
from dialer.worker.dialing import place_one

ZONE = "America/Sao_Paulo"
SHEET = (
    "Caller,Callee,Tags,客户,Formula\n"
    '13800000001,13900000001,,张三,=HYPERLINK("http://x")\n'  # DISPATCHED
    "13800000002,13900000002,,李四,-2+3\n"  # FAILED
    "13800000003,13900000003,,王五,@SUM(A1)\n"  # UNKNOWN
    "13800000004,13900000004,,赵六,+1\n"  # RETRY_WAIT
    "13800000005,13900000005,,钱七,\tx\n"  # stays PENDING, later CANCELLED
    '13800000006,12345,,孙八,"\rcr"\n'  # REJECTED
)


@pytest.fixture
def driven(redis_client: redis.Redis, namespace: str, simulator: Simulator, tmp_path):
    store = CampaignStore(redis_client, Keys(namespace))
    engine = Engine(store, Timing(depth=10, lookahead_ms=10_000))
    path = tmp_path / "s.csv"
    path.write_text(SHEET, encoding="utf-8")
    settings = CampaignSettings(
        "t", "ccc-test", pool=("02151234567",), rate_per_s=100.0, windows=ALWAYS, timezone=ZONE
    )
    cid = upload(store, path, settings).campaign_id
    engine.start(cid)
    jobs = feed_now(engine, cid)
    assert [j.row for j in jobs] == [1, 2, 3, 4, 5]
    campaign = store.campaign(cid)
    client = CccClient(simulator.url, Credentials("testid", "testsecret"), read_timeout_s=0.3)
    faults = [
        {},
        {"fail_rate": 1.0},
        {"hang_rate": 1.0, "hang_s": 1.0},
        {"fail_rate": 1.0},
    ]
    one_attempt = dataclasses.replace(settings, max_attempts=1)
    for job, fault in zip(jobs[:4], faults, strict=True):
        for name in ("fail_rate", "hang_rate"):
            setattr(simulator.faults, name, 0.0)
        for name, value in fault.items():
            setattr(simulator.faults, name, value)
        used = (
            campaign
            if job.row == 4
            else type(campaign)(**{**campaign.__dict__, "settings": one_attempt})
        )
        place_one(engine, client, used, job)
    return store, engine, cid


def read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_export_has_every_status_in_source_order(driven, tmp_path) -> None:
    store, engine, cid = driven
    out = tmp_path / "r.csv"
    assert export(store, cid, out) == 6
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = read_csv(out)
    assert list(rows[0])[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    assert list(rows[0])[len(RESULT_COLUMNS) :] == ["客户", "Formula"]
    assert [r["status"] for r in rows] == [
        "DISPATCHED",
        "FAILED",
        "UNKNOWN",
        "RETRY_WAIT",
        "PENDING",
        "REJECTED",
    ]
    dispatched, failed, unknown, retry, pending, rejected = rows
    assert dispatched["job_id"].startswith("job-") and dispatched["http_status"] == "200"
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-03:00"
    assert re.fullmatch(iso, dispatched["dispatched_at"])
    assert re.fullmatch(iso, dispatched["first_attempt_at"])
    stored = store.result_of(cid, 1)["dispatched_at"]
    parsed = dt.datetime.fromisoformat(dispatched["dispatched_at"])
    assert parsed.timestamp() == pytest.approx(stored / 1000, abs=0.001)
    assert failed["error_code"] == "InternalService.CTI" and failed["http_status"] == "500"
    assert unknown["error_code"] == "Client.ReadTimeout" and unknown["attempts"] == "1"
    assert retry["attempts"] == "1" and retry["error_code"] == "InternalService.CTI"
    assert pending["attempts"] == "0" and pending["job_id"] == ""
    assert rejected["error_code"] == "Sheet.InvalidNumber" and rejected["callee"] == "12345"
    assert [r["客户"] for r in rows] == ["张三", "李四", "王五", "赵六", "钱七", "孙八"]

    engine.cancel(cid)
    export(store, cid, out)
    assert read_csv(out)[4]["status"] == "CANCELLED"


def test_csv_injection_is_neutralised_but_numbers_stay(driven, tmp_path) -> None:
    store, _, cid = driven
    out = tmp_path / "r.csv"
    export(store, cid, out)
    formulas = [r["Formula"] for r in read_csv(out)]
    assert formulas == ['\'=HYPERLINK("http://x")', "'-2+3", "'@SUM(A1)", "'+1", "'\tx", "'\rcr"]
    assert read_csv(out)[0]["callee"] == "13900000001"
    assert neutralise("13900000001") == "13900000001"


def test_masked_export(driven, tmp_path) -> None:
    store, _, cid = driven
    out = tmp_path / "r.csv"
    export(store, cid, out, masked=True)
    rows = read_csv(out)
    assert rows[0]["callee"] == "1390000****" and rows[0]["caller"] == "1380000****"
    assert "13900000001" not in out.read_text(encoding="utf-8-sig")


def test_gbk_export(driven, tmp_path) -> None:
    store, _, cid = driven
    out = tmp_path / "r.csv"
    export(store, cid, out, encoding="gbk")
    assert "张三" in out.read_bytes().decode("gbk")


def test_xlsx_has_frozen_filtered_header_numbers_and_zoned_datetimes(driven, tmp_path) -> None:
    from openpyxl import load_workbook

    store, _, cid = driven
    out = tmp_path / "r.xlsx"
    assert export(store, cid, out) == 6
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["row", "caller", "callee"]
    assert f"dispatched_at ({ZONE})" in header and f"first_attempt_at ({ZONE})" in header
    assert header[len(RESULT_COLUMNS) :] == ["客户", "Formula"]
    assert all(c.font.b for c in sheet[1])
    pane = sheet.sheet_view.pane
    assert (pane.state, pane.ySplit, pane.topLeftCell) == ("frozen", 1, "A2")
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}7"
    col = {name.split(" (")[0]: i + 1 for i, name in enumerate(header)}
    assert sheet.column_dimensions["C"].width >= 11  # an 11-digit callee fits

    dispatched = {name: sheet.cell(2, i).value for name, i in col.items()}
    assert dispatched["row"] == 1 and dispatched["attempts"] == 1
    assert dispatched["http_status"] == 200 and isinstance(dispatched["http_status"], int)
    assert dispatched["callee"] == "13900000001"  # text: a landline's leading 0 survives
    when = sheet.cell(2, col["dispatched_at"])
    assert when.is_date and when.number_format == "yyyy-mm-dd hh:mm:ss"
    stored_ms = store.result_of(cid, 1)["dispatched_at"]
    local = dt.datetime.fromtimestamp(stored_ms / 1000, ZoneInfo(ZONE)).replace(tzinfo=None)
    assert abs(when.value - local) < dt.timedelta(milliseconds=2)
    assert sheet.cell(3, col["http_status"]).value == 500
    assert sheet.cell(6, col["attempts"]).value == 0
    assert sheet.cell(6, col["dispatched_at"]).value is None  # PENDING: empty, not ""
    assert sheet.cell(7, col["status"]).value == "REJECTED"


def test_xlsx_text_is_never_a_formula(driven, tmp_path) -> None:
    from openpyxl import load_workbook

    store, _, cid = driven
    out = tmp_path / "r.xlsx"
    export(store, cid, out)
    sheet = load_workbook(out).active
    from openpyxl.utils import get_column_letter

    formula_column = get_column_letter(len(RESULT_COLUMNS) + 2)  # after 客户
    formula = [c.value for c in sheet[formula_column][1:]]
    assert formula == ['=HYPERLINK("http://x")', "-2+3", "@SUM(A1)", "+1", "\tx", "\rcr"]
    assert all(c.data_type == "s" and c.quotePrefix for c in sheet[formula_column][1:])
    frame = pd.read_excel(out, dtype=str, keep_default_na=False)
    assert list(frame["status"]) == [
        "DISPATCHED",
        "FAILED",
        "UNKNOWN",
        "RETRY_WAIT",
        "PENDING",
        "REJECTED",
    ]
    assert list(frame["客户"]) == ["张三", "李四", "王五", "赵六", "钱七", "孙八"]


def test_masked_xlsx_hides_every_full_number(driven, tmp_path) -> None:
    store, _, cid = driven
    out = tmp_path / "r.xlsx"
    export(store, cid, out, masked=True)
    frame = pd.read_excel(out, dtype=str, keep_default_na=False)
    cells = " ".join(" ".join(row) for row in frame.astype(str).itertuples(index=False))
    assert not re.search(r"1[3-9]\d{9}", cells), "a full mobile number is left"
    assert frame["callee"][0] == "1390000****"
    assert frame["broker"][0] == "0215123****"


def _redial_row_4(store, engine, cid, simulator) -> None:
    """Row 4 waited after a CTI error; let its retry come due and place it successfully."""
    for name in ("fail_rate", "hang_rate"):
        setattr(simulator.faults, name, 0.0)
    campaign = store.campaign(cid)
    client = CccClient(simulator.url, Credentials("testid", "testsecret"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        engine.upkeep(campaign)
        jobs = [j for j in feed_now(engine, cid) if j.row == 4]
        if jobs:
            assert place_one(engine, client, campaign, jobs[0]) == "DISPATCHED"
            return
        time.sleep(0.2)
    raise AssertionError("row 4 never came due again")


def test_report_counts_retries_with_reasons_and_lists_failed_rows(
    driven, simulator, tmp_path
) -> None:
    store, engine, cid = driven
    _redial_row_4(store, engine, cid, simulator)
    placed_at = store.result_of(cid, 1)["dispatched_at"]
    engine.patch_result(
        cid,
        1,
        {
            "outcome": "CONNECTED",
            "talk_seconds": 42,
            "established_at": placed_at + 5000,
            "released_at": placed_at + 47000,
        },
    )
    page = render_html(store, cid)

    retries = _table(page, "retries")
    assert "InternalService.CTI" in retries
    assert re.search(
        r"InternalService\.CTI</code></td><td class=\"num\">1</td>"
        r"<td class=\"num\">1</td>",
        retries,
    ), retries
    outcomes = _table(page, "outcomes")
    assert "CONNECTED" in outcomes and "no call record yet" in outcomes
    settings = _table(page, "settings")
    assert "00:00-24:00 (America/Sao_Paulo)" in settings and "100/s" in settings

    problems = _table(page, "problems")
    assert problems.count("<tr>") == 1 + 2  # header, row 2 FAILED, row 3 UNKNOWN
    assert "1390000****" in problems and "13900000002" not in problems
    assert "Client.ReadTimeout" in problems
    assert "last attempt (America/Sao_Paulo)" in problems
    assert "all times America/Sao_Paulo, UTC-03:00" in page
    assert not re.search(r"1[3-9]\d{9}", page), "the report shows a full phone number"


def test_report_has_one_chart_and_loads_nothing(driven) -> None:
    store, _, cid = driven
    page = render_html(store, cid)
    assert '<table id="brokers">' in page and "02151234567" in page
    assert page.count("<svg") == 1 and 'id="timeline"' in page
    assert "Rows by status" not in page.split('id="timeline"')[1]  # no chart repeating a table
    assert "InternalService.CTI" in page and "内部CTI服务错误" in page
    assert not re.search(r'(src|href)="https?://', page), "the report must load nothing"
    assert "America/Sao_Paulo" in page.split("<svg", 1)[1]  # the chart's axis names the zone


def test_report_in_chinese_has_the_english_figures_in_chinese_words(driven) -> None:
    store, _, cid = driven
    en, zh = render_html(store, cid), render_html(store, cid, "zh_CN")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    for table in ("totals", "outcomes", "failures", "brokers", "problems"):
        cells = [re.findall(r'<td class="num">(.*?)</td>', _table(p, table)) for p in (en, zh)]
        assert cells[0] == cells[1] and cells[0], table
    for words in (
        "<h2>设置</h2>",
        "<h2>各状态行数</h2>",
        "<h2>通话结果</h2>",
        "<h2>按错误码统计的失败和拒绝</h2>",
        "<h2>各中间号</h2>",
        "<h2>失败和结果未知的行</h2>",
        "最后一次尝试（America/Sao_Paulo）",
        "所有时间均为 America/Sao_Paulo, UTC-03:00",
        "内部CTI服务错误；已重试。",
        "失败 <code",
        "结果未知 <code",
    ):
        assert words in zh, words
    # Codes stay as the results sheet has them; only the words around them change.
    assert "InternalService.CTI" in _table(zh, "failures") and "Client.ReadTimeout" in zh
    assert "Rows by status" not in zh and "meaning" not in zh


def _table(page: str, table_id: str) -> str:
    start = page.index(f'<table id="{table_id}">')
    return page[start : page.index("</table>", start)]


def test_a_sheet_column_named_like_a_results_column_is_kept_under_a_distinct_name(
    redis_client: redis.Redis, namespace: str, tmp_path
) -> None:
    store = CampaignStore(redis_client, Keys(namespace))
    path = tmp_path / "crm.csv"
    path.write_text(
        "Caller,Callee,note,status,outcome,note (sheet)\n"
        "13800000001,13900000001,call after 5,VIP,won,x\n"
    )
    settings = CampaignSettings("t", "ccc-test", pool=("02151234567",), windows=ALWAYS)
    cid = upload(store, path, settings).campaign_id
    out = tmp_path / "r.csv"
    assert export(store, cid, out) == 1
    with open(out, encoding="utf-8-sig", newline="") as f:
        header, line = list(csv.reader(f))
    assert len(header) == len(set(header))
    assert header[len(RESULT_COLUMNS) :] == [
        "note (sheet)",
        "status (sheet)",
        "outcome (sheet)",
        "note (sheet) (sheet)",
    ]
    sheet = dict(zip(header, line, strict=True))
    assert (sheet["note (sheet)"], sheet["status (sheet)"], sheet["outcome (sheet)"]) == (
        "call after 5",
        "VIP",
        "won",
    )
    assert sheet["status"] == "PENDING" and sheet["note (sheet) (sheet)"] == "x"
