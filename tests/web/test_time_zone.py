"""A campaign's times read in its own zone everywhere a person sees them: the console's pages,
the CLI, the results sheet and the report — never the server's zone, never a fixed +08:00."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from test_web_pages import signed_in
from web_support import sheet, wait_for_outcomes

NY = "America/New_York"


def in_zone(epoch_s: float, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return dt.datetime.fromtimestamp(epoch_s, ZoneInfo(zone)).strftime(fmt)


@pytest.mark.timeout(180)
def test_a_new_york_campaign_shows_new_york_times_on_pages_cli_exports_and_report(
    console, workers
) -> None:
    cid = console.create(sheet(4), name="ny.csv", rate="10/s", timezone=NY)["id"]
    pool = workers(console.env)
    pool.start()
    assert console.post(f"/api/campaigns/{cid}/start").status_code == 200
    console.wait_status(cid, {"DONE"}, timeout_s=90)
    wait_for_outcomes(console, cid)
    listed = console.get("/api/campaigns").json()["campaigns"]
    created_s = next(c["created_at"] for c in listed if c["id"] == cid)
    ny, shanghai = in_zone(created_s, NY), in_zone(created_s, "Asia/Shanghai")
    assert ny != shanghai

    browser = signed_in(console)
    for page in ("/campaigns", f"/campaigns/{cid}"):
        html = browser.get(console.url + page, timeout=30).text
        assert f"{ny} {NY}" in html, page
        assert shanghai not in html, page

    listed = console.cli("list")
    assert listed.returncode == 0, listed.stderr
    assert f"{ny} {NY}" in listed.stdout and shanghai not in listed.stdout

    text = console.get(f"/api/campaigns/{cid}/results.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, placed = rows[0], rows[1:]
    offset = dt.datetime.fromtimestamp(created_s, ZoneInfo(NY)).strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    time_columns = [i for i, name in enumerate(header) if name.endswith("_at")]
    assert {header[i] for i in time_columns} >= {"dispatched_at", "released_at"}, header
    stamps = [row[i] for row in placed for i in time_columns if row[i]]
    assert stamps and all(s.endswith(offset) for s in stamps), stamps

    report = console.get(f"/api/campaigns/{cid}/report.html").text
    assert NY in report
    assert re.search(re.escape(in_zone(created_s, NY, "%Y-%m-%d %H:%M")), report)
    assert shanghai not in report
