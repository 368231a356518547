"""What agents did, in the results: real Redis, real `celery worker` processes, the simulator.
Agents dispose of their calls (one with a callback, taken at its time); the results sheet
(CSV and XLSX) and the call log carry each disposition, the report has a section per agent
(dispositions by code, break time by reason), and `dialer status` names an agent on break
and counts the dispositions so far."""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections.abc import Iterator

import pytest
from support import NUMBERS, engine_env, new_campaign, wait_until

from dialer.accounts.audit import Trail
from dialer.agents import Agents
from dialer.campaign.status import render, status_view
from dialer.ccc.simulator.faults import Span
from dialer.engine import AccountStore, Engine
from dialer.models import CampaignStatus
from dialer.results.calls import CALL_COLUMNS, export_calls
from dialer.results.export import RESULT_COLUMNS, export
from dialer.results.report import render_html
from dialer.settings import Settings

A, B = "13800000001", "13800000002"
ZONE = dt.timezone(dt.timedelta(hours=8))  # the campaign's (Asia/Shanghai)
TIMED = {"ring_s": Span(1, 2), "talk_s": Span(30, 60), "time_scale": 60}
FAST_RECORDS = {
    "DIALER_CALLER_LOOKUP_S": "0.3",
    "DIALER_RECORDS_POLL_S": "0.3",
    "DIALER_CDR_MARGIN_S": "0.3",
}


@pytest.fixture
def agents(engine: Engine) -> Agents:
    settings = Settings(namespace=engine.keys.namespace)
    return Agents(engine.store, Trail(AccountStore(engine.store.r, engine.keys), 30), settings)


@pytest.fixture
def start_workers(simulator, redis_server, namespace, workers) -> Iterator:
    def start() -> None:
        workers(engine_env(redis_server.url, namespace, simulator.url, **FAST_RECORDS)).start()

    yield start


def test_dispositions_and_breaks_reach_the_sheet_the_call_log_the_report_and_status(
    engine, agents, simulator, start_workers, tmp_path
) -> None:
    simulator.faults.update(TIMED)
    sheet = tmp_path / "s.csv"
    sheet.write_text("Callee,disposition\n13900000000,mine\n13900000001,mine too\n")
    cid = new_campaign(
        engine,
        sheet,
        pool=NUMBERS[:1],
        rate_per_s=5.0,
        agents=(A, B),
        wrap_up_s=0.2,
        pair_guard_s=0.0,  # the callback comes seconds later here
    )
    start_workers()
    wait_until(
        lambda: all(engine.store.result_of(cid, r).get("outcome") for r in (1, 2)),
        60,
        "both first calls' records",
    )
    first = {r: engine.store.result_of(cid, r) for r in (1, 2)}
    agents.dispose(cid, 1, agent=first[1]["caller"], code="INTERESTED", notes="wants it", who="x")
    due = engine.store.now_ms() + 3000
    local_due = dt.datetime.fromtimestamp(due / 1000, ZONE)
    agents.dispose(
        cid,
        2,
        agent=first[2]["caller"],
        code="CALLBACK",
        notes="call back",
        callback_at=local_due.strftime("%Y-%m-%dT%H:%M:%S"),
        who="x",
    )
    # A break with a reason, ended: its time counts for the day, in all and as "lunch".
    agents.presences.set(A, "BREAK", "lunch", who="x")
    time.sleep(0.01)  # a break of at least a millisecond on the Redis clock
    agents.presences.set(A, "READY", who="x")
    wait_until(
        lambda: (
            engine.store.campaign(cid).status is CampaignStatus.DONE
            and not engine.store.records_campaigns()
        ),
        90,
        "the callback placed and done",
    )
    assert engine.store.result_of(cid, 2)["callback_state"] == "taken"

    # The results sheet: the last disposition of each row; the sheet's own `disposition`
    # column keeps its data under another name.
    out = tmp_path / "r.csv"
    assert export(engine.store, cid, out) == 2
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    assert list(rows[0])[len(RESULT_COLUMNS) :] == ["disposition (sheet)"]
    one, two = rows
    assert (one["disposition"], one["disposition_notes"]) == ("INTERESTED", "wants it")
    assert one["disposition_agent"] == first[1]["caller"] and one["callback_at"] == ""
    assert one["disposition (sheet)"] == "mine"
    assert (two["disposition"], two["callback_state"]) == ("CALLBACK", "taken")
    # In the campaign's zone, to the second the agent gave.
    assert two["callback_at"] == local_due.replace(microsecond=0).isoformat(timespec="milliseconds")
    masked = tmp_path / "m.csv"
    export(engine.store, cid, masked, masked=True)
    with masked.open(encoding="utf-8-sig", newline="") as f:
        assert next(csv.DictReader(f))["disposition_agent"].endswith("****")

    from openpyxl import load_workbook

    xlsx = tmp_path / "r.xlsx"
    export(engine.store, cid, xlsx)
    book = load_workbook(xlsx).active
    header = [c.value for c in book[1]]
    at = header.index("callback_at (Asia/Shanghai)")
    assert header[at - 3 : at] == ["disposition", "disposition_notes", "disposition_agent"]
    assert book.cell(3, at + 1).value == local_due.replace(microsecond=0, tzinfo=None)

    # The call log: row 2 was called twice; only its first call was disposed of.
    log = tmp_path / "calls.csv"
    assert export_calls(engine.store, cid, log) == 3
    with log.open(encoding="utf-8-sig", newline="") as f:
        calls = list(csv.DictReader(f))
    assert list(calls[0]) == list(CALL_COLUMNS)
    got = [(c["row"], c["call"], c["disposition"], c["disposition_notes"]) for c in calls]
    assert got == [
        ("1", "1", "INTERESTED", "wants it"),
        ("2", "1", "CALLBACK", "call back"),
        ("2", "2", "", ""),
    ]

    # The report: a section per agent with their codes and the break by reason.
    page = render_html(engine.store, cid)
    assert '<table id="agents">' in page
    agents_table = page.split('<table id="agents">', 1)[1].split("</table>", 1)[0]
    assert "<code>INTERESTED</code> 1" in agents_table
    assert "<code>CALLBACK</code> 1" in agents_table
    assert "<code>lunch</code>" in agents_table
    assert "各坐席" in render_html(engine.store, cid, "zh_CN")

    # Status: B goes on break; it is named with its reason, and the codes are counted.
    agents.presences.set(B, "BREAK", "training", who="x")
    report = status_view(engine, cid)
    assert [(a.number, a.state, a.reason) for a in report.agents_away] == [(B, "BREAK", "training")]
    assert report.dispositions == {"CALLBACK": 1, "INTERESTED": 1}
    text = render(report)
    assert "agents away: 138****0002 BREAK (training, since " in text
    assert "dispositions: CALLBACK 1, INTERESTED 1" in text
    assert report.as_dict()["agents_away"][0]["masked"] == "138****0002"
