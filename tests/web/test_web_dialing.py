"""Campaigns driven through the API that really dial: real `celery worker` subprocesses, the
simulator over HTTP. Downloads must be what the CLI writes; /metrics must show the calls."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
import requests
from openpyxl import load_workbook
from support import NUMBERS
from web_support import sheet, wait_for_outcomes


def cells(xlsx: bytes) -> list[list]:
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


@pytest.mark.timeout(180)
def test_campaign_started_from_the_api_dials_to_done_and_downloads_match_the_cli(
    console, workers, tmp_path
) -> None:
    created = console.create(sheet(24, bad=("12345",)), name="回访名单.csv", rate="4/s")
    cid = created["id"]
    pool = workers(console.env)
    pool.start()
    started = console.post(f"/api/campaigns/{cid}/start")
    assert started.json() == {"id": cid, "status": "RUNNING"}
    scraped = ""
    deadline = time.monotonic() + 90
    while console.get(f"/api/campaigns/{cid}").json()["status"] != "DONE":
        assert time.monotonic() < deadline
        metrics = console.get("/metrics").text
        if "dialer_calls_placed_total{" in metrics:
            scraped = metrics
        time.sleep(0.3)
    doc = console.get(f"/api/campaigns/{cid}").json()
    assert doc["counts"] == {"DISPATCHED": 24, "REJECTED": 1} and doc["done"] == 25
    # Each row rang a caller of its own: the page's callers table, masked as status masks.
    callers = doc["callers"]
    assert sum(c["calls"] for c in callers) == 24 and len(callers) == 24
    assert all(re.fullmatch(r"138\*{4}\d{4}", c["masked"]) for c in callers)
    assert {c["now"] for c in callers} <= {"in a call", "wrap-up", "free"}
    assert doc["waits"] == [] and doc["stalled"] is None and doc["pause_code"] == ""

    assert re.search(
        rf'dialer_calls_placed_total{{broker="{NUMBERS[0]}",campaign="{cid}"}} \d', scraped
    )
    rows_metric = rf'dialer_campaign_rows{{campaign="{cid}",name="回访名单",state="REJECTED"}} 1'
    assert re.search(rows_metric, scraped)
    assert re.search(r"^dialer_workers_alive [1-9]", scraped, flags=re.M)

    wait_for_outcomes(console, cid)
    api_csv = console.get(f"/api/campaigns/{cid}/results.csv")
    assert api_csv.status_code == 200
    done = console.cli("export", cid, "-o", str(tmp_path / "cli.csv"))
    assert done.returncode == 0, done.stderr
    assert api_csv.content == (tmp_path / "cli.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(api_csv.content.decode("utf-8-sig"))))
    assert len(rows) == 25 and rows[0]["客户姓名"] == "客户0"

    for query, args in (("?masked=true", ["--masked"]), ("?encoding=gbk", ["--encoding", "gbk"])):
        api = console.get(f"/api/campaigns/{cid}/results.csv{query}").content
        console.cli("export", cid, "-o", str(tmp_path / "variant.csv"), *args)
        assert api == (tmp_path / "variant.csv").read_bytes(), query

    api_xlsx = console.get(f"/api/campaigns/{cid}/results.xlsx")
    assert api_xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    console.cli("export", cid, "-o", str(tmp_path / "cli.xlsx"))
    assert cells(api_xlsx.content) == cells((tmp_path / "cli.xlsx").read_bytes())

    assert_reports_are_the_clis(console, cid, tmp_path)


def assert_reports_are_the_clis(console, cid: str, tmp_path) -> None:
    """The API's report is byte for byte `dialer report --lang`'s, in either language, taken
    from `?lang=` or else from the request's Accept-Language (as pages choose theirs)."""
    url = f"{console.url}/api/campaigns/{cid}/report.html"
    asks = {
        "en": [{}, {"params": {"lang": "en"}}, {"headers": {"Accept-Language": "en-US"}}],
        "zh_CN": [
            {"params": {"lang": "zh_CN"}},
            {"headers": {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}},
        ],
    }
    for lang, ways in asks.items():
        for way in ways:
            headers = {**console.auth, **way.get("headers", {})}

            def api(way=way, headers=headers) -> bytes:
                got = requests.get(url, headers=headers, params=way.get("params"), timeout=60)
                assert got.status_code == 200 and got.headers["content-type"].startswith(
                    "text/html"
                )
                return got.content

            before = api()
            done = console.cli("report", cid, "-o", str(tmp_path / "cli.html"), "--lang", lang)
            assert done.returncode == 0, done.stderr
            after = api()
            # The report names the minute it was made: one of the two was made in the CLI's.
            assert (tmp_path / "cli.html").read_bytes() in (before, after), (lang, way)
    zh = after.decode("utf-8")
    assert '<html lang="zh-CN">' in zh and zh.count("<svg") == 1
    for words in (
        "任务 回访名单",
        "设置",
        "各状态行数",
        "通话结果",
        "各中间号",
        "各主叫坐席",
        "失败和结果未知的行",
        "已发起 <code",
        "已接通",
        "回访名单.csv",
        "号码无效",
    ):
        assert words in zh, words
    assert "Rows by status" not in zh and "Per broker" not in zh
    bad = requests.get(url, headers=console.auth, params={"lang": "fr"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"] == "Request.Invalid"


@pytest.mark.timeout(180)
def test_pause_stops_dialing_and_resume_finishes(console, workers, simulator) -> None:
    cid = console.create(sheet(40), rate="4/s")["id"]
    workers(console.env).start()
    console.post(f"/api/campaigns/{cid}/start")
    deadline = time.monotonic() + 30
    while console.get(f"/api/campaigns/{cid}").json()["counts"].get("DISPATCHED", 0) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    paused = console.post(f"/api/campaigns/{cid}/pause")
    assert paused.json() == {"id": cid, "status": "PAUSED"}
    time.sleep(1.0)  # a call already past its last check may still land
    placed = len(simulator.config.calls_log.read_text().splitlines())
    time.sleep(2.0)
    assert len(simulator.config.calls_log.read_text().splitlines()) == placed
    doc = console.get(f"/api/campaigns/{cid}").json()
    assert doc["status"] == "PAUSED" and doc["pause_reason"] == "paused by operator"
    assert doc["pause_code"] == "Operator.Pause"
    assert console.post(f"/api/campaigns/{cid}/resume").json()["status"] == "RUNNING"
    final = console.wait_status(cid, {"DONE"}, timeout_s=60)
    assert final["counts"] == {"DISPATCHED": 40}
