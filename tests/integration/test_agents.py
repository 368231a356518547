"""Agents at work end to end: real Redis, real `celery worker` processes, the simulator. An
away agent goes on break after the misses allowed and is rung no more; with sign-in only
READY agents are rung, each sees the customer card before their phone rings and frees
themselves with the call's disposition; a callback rings its owner at its time, or anyone
after its grace; a silent screen goes OFFLINE; a wrap-up left open gets AUTO and a break.
Every presence change and disposition is in the audit trail."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from support import NUMBERS, calls_log, engine_env, new_campaign, wait_until

from dialer.accounts.audit import Trail
from dialer.agents import Agents, State
from dialer.ccc.simulator.faults import Span
from dialer.engine import AccountStore, Engine
from dialer.models import CampaignStatus
from dialer.settings import Settings

A, B, C = "13800000001", "13800000002", "13800000003"
# Calls ring 1-2 s and talk 30-60 s, sixty times faster; an unanswered leg rings out at the
# row's TimeoutSeconds (30 s: half a second here).
TIMED = {"ring_s": Span(1, 2), "talk_s": Span(30, 60), "time_scale": 60}
FAST_RECORDS = {
    "DIALER_CALLER_LOOKUP_S": "0.3",
    "DIALER_RECORDS_POLL_S": "0.3",
    "DIALER_CDR_MARGIN_S": "0.3",
}


@pytest.fixture
def agents(engine: Engine) -> Agents:
    settings = Settings(namespace=engine.keys.namespace)
    trail = Trail(AccountStore(engine.store.r, engine.keys), 30)
    return Agents(engine.store, trail, settings)


@pytest.fixture
def start_workers(simulator, redis_server, namespace, workers) -> Iterator:
    def start(**env: str) -> None:
        pool = workers(
            engine_env(redis_server.url, namespace, simulator.url, **FAST_RECORDS, **env)
        )
        pool.start()

    yield start


def pool_sheet(path, n: int, with_names: bool = False):
    header = "Callee,Name,Notes\n" if with_names else "Callee\n"
    rows = "".join(
        f"139{i:08d},Customer {i},VIP {i}\n" if with_names else f"139{i:08d}\n" for i in range(n)
    )
    path.write_text(header + rows)
    return path


def audit(agents: Agents, action: str) -> list:
    return [e for e in agents.trail.entries(limit=500) if e.action == action]


def test_an_away_agent_goes_on_break_after_the_misses_allowed_and_is_rung_no_more(
    engine, agents, simulator, start_workers, tmp_path
) -> None:
    simulator.faults.update({**TIMED, "away_callers": A})
    cid = new_campaign(
        engine,
        pool_sheet(tmp_path / "s.csv", 12),
        pool=NUMBERS[:2],
        rate_per_s=5.0,
        agents=(A, B, C),
        wrap_up_s=0.2,
        max_agent_misses=3,
        agent_miss_wait_s=0.5,
        agent_missed_max=2,
    )
    start_workers()
    wait_until(
        lambda: (
            engine.store.campaign(cid).status is CampaignStatus.DONE
            and not engine.store.records_campaigns()
        ),
        120,
        "the campaign to finish",
    )
    rung = [c for c in calls_log(simulator.config.calls_log) if c["caller"] == A]
    # Held until each missed call's record came: the second miss put A on break.
    assert len(rung) == 2 and all(c["caller_answered_ms"] is None for c in rung)
    presence = agents.presences.get(A)
    assert presence.state is State.BREAK and presence.reason == "System.MissedRings"
    assert presence.missed == 2
    entries = [e for e in audit(agents, "presence.break") if e.target == A]
    assert entries and entries[0].who == "system"
    # Every customer was reached by the others.
    assert {r.get("outcome") for _, _, r in engine.store.iter_rows(cid)} == {"CONNECTED"}
    # Ready again: the count starts over, and A is offered calls.
    assert agents.presences.set(A, "READY", who="sup").missed == 0
    assert [e.who for e in audit(agents, "presence.ready")] == ["sup"]


def test_signed_in_agents_see_the_card_first_and_free_themselves_with_the_disposition(
    engine, agents, simulator, start_workers, tmp_path
) -> None:
    simulator.faults.update(TIMED)
    cid = new_campaign(
        engine,
        pool_sheet(tmp_path / "s.csv", 4, with_names=True),
        pool=NUMBERS[:1],
        rate_per_s=5.0,
        agents=(A, B),
        agents_sign_in=True,
        wrap_up_max_s=600.0,
        agent_notes="Offer the spring plan",
    )
    start_workers()
    time.sleep(2.0)  # workers up, feeding: nobody is signed in, so nobody is rung
    assert calls_log(simulator.config.calls_log) == []
    assert engine.store.row_state(cid, 1) == "PENDING"

    agents.presences.set(A, "READY", who="alice", account="alice", screen=True)
    seen: dict[int, tuple[str, float]] = {}  # row -> first state seen on A's desk, when
    disposed = set()
    deadline = time.monotonic() + 90
    while len(disposed) < 4 and time.monotonic() < deadline:
        agents.presences.beat(A)
        for card in agents.desk_of(A, own=True)["calls"]:
            row = card["row"]
            seen.setdefault(row, (card["state"], time.time() * 1000))
            assert card["campaign"] == cid and card["customer"]["Name"] == f"Customer {row - 1}"
            assert card["agent_notes"] == "Offer the spring plan"
            assert card["callee_masked"].endswith("****")
            if card["state"] in ("in_call", "ended") and row not in disposed:
                saved = agents.dispose(
                    cid, row, agent=A, code="INTERESTED", notes="yes", who="alice"
                )
                assert saved["job_id"] and saved["agent"] == A
                disposed.add(row)
                # Free at once, whatever the record: no call holds A now.
                assert [h for h in agents.store.holds(A) if h.row == row] == []
        time.sleep(0.05)
    assert disposed == {1, 2, 3, 4}
    placed = calls_log(simulator.config.calls_log)
    assert {c["caller"] for c in placed} == {A}  # B never signed in: never rung
    for call in placed:
        row = int(call["callee"][-2:]) + 1
        state, at = seen[row]
        # The card was on A's screen while the call was reserved, before the phone rang.
        assert state == "reserved" and at <= call["start_ms"], (row, state, at, call["start_ms"])
    assert agents.desk_of(B)["calls"] == []  # never another agent's customer
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 60, "done")
    result = engine.store.result_of(cid, 1)
    assert result["disposition"]["code"] == "INTERESTED" and result["disposition"]["notes"] == "yes"
    assert len(audit(agents, "disposition.save")) == 4


def _local(ms: int) -> str:
    """A time as an agent types it, in the campaign's zone (Asia/Shanghai: UTC+8)."""
    zone = dt.timezone(dt.timedelta(hours=8))
    return dt.datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%dT%H:%M:%S")


def test_a_callback_rings_its_owner_at_its_time_and_goes_to_anyone_after_its_grace(
    engine, agents, simulator, start_workers, tmp_path
) -> None:
    simulator.faults.update(TIMED)
    cid = new_campaign(
        engine,
        pool_sheet(tmp_path / "s.csv", 2),
        pool=NUMBERS[:1],
        rate_per_s=5.0,
        agents=(A, B),
        wrap_up_s=0.2,
        callback_grace_s=2.0,
        pair_guard_s=0.0,  # a real callback comes minutes later; the guard is a minute
    )
    start_workers()
    wait_until(
        lambda: all(engine.store.result_of(cid, r).get("outcome") for r in (1, 2)),
        60,
        "both first calls' records",
    )
    first = {r: engine.store.result_of(cid, r)["caller"] for r in (1, 2)}
    now = engine.store.now_ms()
    due = {1: now + 3000, 2: now + 3000}
    for row in (1, 2):
        agent = first[row]
        saved = agents.dispose(
            cid, row, agent=agent, code="CALLBACK", callback_at=_local(due[row]), who="x"
        )
        assert saved["applied"]  # the record was in: the callback waits now
    # Row 2's owner goes on break: their callback goes to the other agent after the grace.
    away = first[2]
    agents.presences.set(away, "BREAK", "lunch", who="x")
    wait_until(
        lambda: (
            engine.store.campaign(cid).status is CampaignStatus.DONE
            and not engine.store.records_campaigns()
        ),
        90,
        "both callbacks placed and done",
    )
    placed = sorted(calls_log(simulator.config.calls_log), key=lambda c: c["start_ms"])
    by_row = {r: [c for c in placed if int(c["callee"][-2:]) + 1 == r] for r in (1, 2)}
    assert len(by_row[1]) == 2 and len(by_row[2]) == 2
    back1, back2 = by_row[1][1], by_row[2][1]
    # Seconds of the due time in whole ms: the local time given drops the milliseconds.
    assert back1["caller"] == first[1] and back1["start_ms"] >= due[1] - 1000
    assert back2["caller"] != away and back2["start_ms"] >= due[2] - 1000 + 2000
    assert engine.store.result_of(cid, 2)["callback_state"] == "expired"
    assert engine.store.result_of(cid, 1)["callback_state"] == "taken"
    assert len(audit(agents, "callback.schedule")) == 2


def test_a_silent_screen_goes_offline_and_a_wrap_up_left_open_gets_auto_and_a_break(
    engine, agents, simulator, start_workers, tmp_path
) -> None:
    simulator.faults.update(TIMED)
    cid = new_campaign(
        engine,
        pool_sheet(tmp_path / "s.csv", 1),
        pool=NUMBERS[:1],
        rate_per_s=5.0,
        agents=(A,),
        agents_sign_in=True,
        wrap_up_max_s=1.0,
    )
    agents.presences.set(A, "READY", who="alice", account="alice", screen=True)
    agents.presences.set(B, "READY", who="bob", account="bob", screen=True)
    start_workers(DIALER_AGENT_SILENT_S="600")
    # A keeps their screen alive but never disposes of the call.
    wait_until(
        lambda: agents.presences.beat(A).state is State.BREAK,
        60,
        "A's open wrap-up to be closed",
    )
    assert agents.presences.get(A).reason == "System.WrapUpTimeout"
    result = engine.store.result_of(cid, 1)
    assert result["disposition"]["code"] == "AUTO" and result["outcome"] == "CONNECTED"
    assert [e.who for e in audit(agents, "disposition.save")] == ["system"]


def test_a_signed_in_agent_whose_screen_goes_silent_goes_offline(
    engine, agents, start_workers
) -> None:
    agents.presences.set(A, "READY", who="alice", account="alice", screen=True)
    start_workers(DIALER_AGENT_SILENT_S="1")
    wait_until(lambda: agents.presences.get(A).state is State.OFFLINE, 30, "A to go OFFLINE")
    assert agents.presences.get(A).reason == "System.ScreenSilent"
    entries = audit(agents, "presence.offline")
    assert entries and entries[0].who == "system" and entries[0].target == A
