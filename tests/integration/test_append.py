"""Leads added to a campaign that exists (`dialer append`): validated as an upload is,
de-duplicated against the campaign's rows, numbered on after them, and dialled — paced,
capped, do-not-call honoured — by real `celery worker` processes against the simulator."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from support import NUMBERS, calls_log, engine_env, new_campaign, wait_until, write_sheet

from dialer.models import CampaignStatus

DIALER = [sys.executable, "-m", "dialer.cli"]


def dialer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*DIALER, *args], env=env, capture_output=True, text=True, timeout=60)


def leads(path: Path, callees: list[str], first_caller: int = 500) -> Path:
    path.write_text(
        "Caller,Callee,CrmId\n"
        + "".join(f"1380{first_caller + i:07d},{c},crm-{c}\n" for i, c in enumerate(callees))
    )
    return path


def appended(env: dict[str, str], cid: str, sheet: Path, *extra: str) -> dict:
    done = dialer(env, "append", cid, str(sheet), "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_rows_appended_to_a_running_then_a_done_campaign_are_dialled_in_arrival_order(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    first = [f"139{i:08d}" for i in range(6)]
    path = leads(tmp_path / "s.csv", first, first_caller=0)
    cid = new_campaign(engine, path, pool=NUMBERS[:1], rate_per_s=4.0)
    env = engine_env(redis_server.url, namespace, simulator.url)
    workers(env).start()
    wait_until(lambda: len(calls_log(simulator.config.calls_log)) >= 2, 30, "calls under way")
    (tmp_path / "dnc.txt").write_text("13700000003\n")
    more = ["13700000001", "13700000002", first[0], "1.37E+10", "13700000003"]
    got = appended(env, cid, leads(tmp_path / "more.csv", more), "--dnc", str(tmp_path / "dnc.txt"))
    assert (got["total"], got["accepted"]) == (5, 2)
    assert got["rejected_by_reason"] == {
        "Sheet.Duplicate": 1,
        "Sheet.InvalidNumber": 1,
        "Sheet.DoNotCall": 1,
    }
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 60, "DONE")
    # A DONE campaign takes new rows and runs again.
    last = appended(env, cid, leads(tmp_path / "last.csv", ["13700000009"], first_caller=900))
    assert last["accepted"] == 1
    wait_until(lambda: engine.store.counts(cid).get("DISPATCHED") == 9, 60, "the last row dialled")
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 30, "DONE again")

    rows = list(engine.store.iter_rows(cid))
    assert [rec[0] for rec, _, _ in rows] == list(range(1, 13))  # in the order they arrived
    assert [rec[2] for rec, _, _ in rows][6:] == [*more, "13700000009"]
    assert [rec[-1] for rec, _, _ in rows][6:8] == ["crm-13700000001", "crm-13700000002"]
    states = {rec[2]: state for rec, state, _ in rows}
    assert states["13700000001"] == states["13700000009"] == "DISPATCHED"
    assert states["13700000003"] == "REJECTED"
    callees = [c["callee"] for c in calls_log(simulator.config.calls_log)]
    assert sorted(callees) == sorted([*first, "13700000001", "13700000002", "13700000009"])
    # Paced as any row: the broker's calls (Redis clock) at least an interval apart.
    begun = sorted(r["first_attempt_at"] for _, state, r in rows if state == "DISPATCHED")
    assert min(b - a for a, b in itertools.pairwise(begun)) >= 250 * 0.98


def test_appended_rows_continue_a_partly_filled_block_and_bad_sheets_store_nothing(
    engine, redis_server, namespace, simulator, tmp_path
) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 998), start=False, pool=NUMBERS[:1])
    env = engine_env(redis_server.url, namespace, simulator.url)
    more = [f"137{i:08d}" for i in range(5)]
    sheet = tmp_path / "more.csv"
    sheet.write_text("Caller,Callee\n" + "".join(f"1381{i:07d},{c}\n" for i, c in enumerate(more)))
    assert appended(env, cid, sheet)["accepted"] == 5
    rows = list(engine.store.iter_rows(cid))
    assert [rec[0] for rec, _, _ in rows] == list(range(1, 1004))
    assert [rec[2] for rec, _, _ in rows][-6:] == [f"139{997:08d}", *more]
    assert engine.store.campaign(cid).status is CampaignStatus.READY
    bad = tmp_path / "bad.csv"
    bad.write_text("Caller,Callee,Unknown\n13810000001,13711111111,x\n")
    done = dialer(env, "append", cid, str(bad))
    assert (
        done.returncode != 0 and "'Unknown' is not one of the campaign's own columns" in done.stderr
    )
    assert engine.store.campaign(cid).total == 1003
