"""Results sheet and report from a campaign driven through every row state with the real
engine scripts, a real Redis and the simulator (rows placed in-process, one by one)."""

from __future__ import annotations

import csv
import dataclasses
import re

import pandas as pd
import pytest
import redis
from support import ALWAYS, feed_now

from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Simulator
from dialer.dialing import place_one
from dialer.engine import CampaignStore, Engine, Keys
from dialer.export import RESULT_COLUMNS, export, neutralise
from dialer.models import CampaignSettings, Timing
from dialer.report import render_html
from dialer.settings import Credentials
from dialer.upload import upload

SHEET = (
    "Caller,Callee,Tags,客户,Formula\n"
    '13800000001,13900000001,,张三,=HYPERLINK("http://x")\n'  # DISPATCHED
    "13800000001,13900000002,,李四,-2+3\n"  # FAILED
    "13800000001,13900000003,,王五,@SUM(A1)\n"  # UNKNOWN
    "13800000001,13900000004,,赵六,+1\n"  # RETRY_WAIT
    "13800000001,13900000005,,钱七,\tx\n"  # stays PENDING, later CANCELLED
    '13800000001,12345,,孙八,"\rcr"\n'  # REJECTED
)


@pytest.fixture
def driven(redis_client: redis.Redis, namespace: str, simulator: Simulator, tmp_path):
    store = CampaignStore(redis_client, Keys(namespace))
    engine = Engine(store, Timing(depth=10, lookahead_ms=10_000))
    path = tmp_path / "s.csv"
    path.write_text(SHEET, encoding="utf-8")
    settings = CampaignSettings(
        "t", "ccc-test", pool=("02151234567",), rate_per_s=100.0, windows=ALWAYS
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
        used = campaign if job.row == 4 else type(campaign)(**{**campaign.__dict__,
                                                              "settings": one_attempt})  # fmt: skip
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
        "DISPATCHED", "FAILED", "UNKNOWN", "RETRY_WAIT", "PENDING", "REJECTED"]  # fmt: skip
    dispatched, failed, unknown, retry, pending, rejected = rows
    assert dispatched["job_id"].startswith("job-") and dispatched["http_status"] == "200"
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00"
    assert re.fullmatch(iso, dispatched["dispatched_at"])
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


def test_xlsx_round_trip_with_pandas(driven, tmp_path) -> None:
    store, _, cid = driven
    out = tmp_path / "r.xlsx"
    export(store, cid, out)
    frame = pd.read_excel(out, dtype=str, keep_default_na=False)
    assert list(frame["status"]) == ["DISPATCHED", "FAILED", "UNKNOWN", "RETRY_WAIT", "PENDING",
                                     "REJECTED"]  # fmt: skip
    assert frame["callee"][0] == "13900000001"
    assert frame["Formula"][0] == '\'=HYPERLINK("http://x")'


def test_report_has_broker_table_and_both_charts(driven) -> None:
    store, _, cid = driven
    page = render_html(store, cid)
    assert '<table id="brokers">' in page and "02151234567" in page
    assert page.count("<svg") == 2
    assert 'id="timeline"' in page and 'id="breakdown"' in page
    assert "InternalService.CTI" in page and "内部CTI服务错误" in page
    assert not re.search(r'(src|href)="https?://', page), "the report must load nothing"
