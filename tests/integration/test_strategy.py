"""The contact strategy end to end: real Redis, real `celery worker` processes, the simulator.
An agent's leg that rang out is no contact (the row goes to another agent, or waits for its
own, and ends with its reason after the misses allowed); a customer who did not answer is
tried again by the campaign's recycle rule, no sooner than its delay after the call's release."""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter, defaultdict

from support import NUMBERS, calls_log, engine_env, new_campaign, wait_until

from dialer.campaign.status import render, status_view
from dialer.ccc.simulator.faults import Span
from dialer.cli.progress import watch
from dialer.engine import Engine
from dialer.models import CampaignStatus
from dialer.results.calls import export_calls
from dialer.results.export import export
from dialer.results.report import render_html

AGENTS = ("13800000001", "13800000002", "13800000003", "13800000004")
AWAY = AGENTS[0]
# Calls ring 1-2 s and talk 30-60 s, sixty times faster; a leg not answered rings out at the
# row's TimeoutSeconds (30 s: half a second here).
TIMED = {"ring_s": Span(1, 2), "talk_s": Span(30, 60), "time_scale": 60}


def pool_sheet(path, n: int):
    path.write_text("Callee\n" + "".join(f"139{i:08d}\n" for i in range(n)))
    return path


def run(engine: Engine, simulator, redis_server, namespace, workers, cid: str) -> list[dict]:
    w = workers(
        engine_env(
            redis_server.url,
            namespace,
            simulator.url,
            DIALER_CALLER_LOOKUP_S="0.3",
            DIALER_RECORDS_POLL_S="0.3",
            DIALER_CDR_MARGIN_S="0.3",
        )
    )
    w.start()
    wait_until(
        lambda: (
            engine.store.campaign(cid).status is CampaignStatus.DONE
            and not engine.store.records_campaigns()
        ),
        120,
        "the campaign to finish with every record in",
    )
    return calls_log(simulator.config.calls_log)


def read_csv(path, written: int, expected: int) -> list[dict[str, str]]:
    assert written == expected
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def by_callee(placed: list[dict]) -> dict[str, list[dict]]:
    calls: dict[str, list[dict]] = defaultdict(list)
    for call in sorted(placed, key=lambda c: c["start_ms"]):
        calls[call["callee"]].append(call)
    return calls


def test_a_pool_row_whose_agent_missed_goes_to_another_agent_and_costs_no_contact(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.update({**TIMED, "away_callers": AWAY})
    cid = new_campaign(
        engine,
        pool_sheet(tmp_path / "s.csv", 16),
        pool=NUMBERS[:2],
        rate_per_s=5.0,
        agents=AGENTS,
        wrap_up_s=0.2,
        max_agent_misses=3,
        agent_miss_wait_s=3.0,
    )
    placed = run(engine, simulator, redis_server, namespace, workers, cid)
    calls = by_callee(placed)
    assert len(calls) == 16
    missed = 0
    for callee, tries in calls.items():
        # Every customer was rung, once: their leg rang on the last call only.
        assert [t["caller"] == AWAY for t in tries] == [True] * (len(tries) - 1) + [False]
        assert tries[-1]["caller_answered_ms"] is not None, callee
        missed += len(tries) - 1
    assert missed >= 1  # the away agent was offered rows, and missed them
    results = {r: res for r, (_, _s, res) in enumerate(engine.store.iter_rows(cid), 1)}
    states = {r: s.split("|")[0] for r, (_, s, _res) in enumerate(engine.store.iter_rows(cid), 1)}
    assert set(states.values()) == {"DISPATCHED"}
    assert sum(int(r.get("agent_misses") or 0) for r in results.values()) == missed
    for result in results.values():
        assert result["contacts"] == 1  # a missed agent leg is no contact
        assert result["outcome"] == "CONNECTED" and result["caller"] != AWAY
        assert [h["outcome"] for h in result["history"]][-1] == "CONNECTED"

    # Status counts each agent's misses; the report shows reach against calls.
    report = status_view(engine, cid)
    assert {c.number: c.missed for c in report.callers}[AWAY] == missed
    assert f"{missed} missed (rang out)" in render(report)
    # ... and, as the report does, customers reached against calls, on which contact.
    doc = report.as_dict()
    assert doc["customers"] == {
        "dialled": 16,
        "reached": 16,
        "calls": len(placed),
        "agent_misses": missed,
        "funnel": [{"contact": 1, "reached": 16, "reached_so_far": 16}],
    }
    assert doc["outcomes"] == {"CONNECTED": 16}
    assert f"customers: 16 of 16 dialled reached (100.0%), in {len(placed)} calls" in render(report)
    assert "reached on contact: 1st 16 (16 by then)" in render(report)
    page = render_html(engine.store, cid, "en")
    assert f"16 of 16 customers dialled were reached (100.0%), in {len(placed)} calls" in page
    # The results sheet shows the strategy; the call log has a line per call placed.
    sheet = read_csv(tmp_path / "r.csv", export(engine.store, cid, tmp_path / "r.csv"), 16)
    assert sum(int(r["agent_misses"]) for r in sheet) == missed
    assert {r["contacts"] for r in sheet} == {"1"} and {r["next_contact_at"] for r in sheet} == {""}
    missed_row = next(r for r in sheet if r["agent_misses"] != "0")
    assert "CALLER_NO_ANSWER 138****0001" in missed_row["history"]
    log = read_csv(
        tmp_path / "c.csv", export_calls(engine.store, cid, tmp_path / "c.csv"), len(placed)
    )
    assert sorted(r["job_id"] for r in log) == sorted(c["job_id"] for c in placed)
    assert {(r["agent"], r["outcome"]) for r in log if r["agent"] == AWAY} == {
        (AWAY, "CALLER_NO_ANSWER")
    }


def test_a_row_naming_an_away_agent_ends_with_its_reason_after_the_misses_allowed(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.update({**TIMED, "away_callers": AWAY})
    sheet = tmp_path / "s.csv"
    sheet.write_text(f"Caller,Callee\n{AWAY},13900000001\n{AGENTS[1]},13900000002\n")
    cid = new_campaign(
        engine,
        sheet,
        pool=NUMBERS[:1],
        rate_per_s=5.0,
        wrap_up_s=0.2,
        max_agent_misses=2,
        agent_miss_wait_s=1.0,
        # Off: the pair guard (60 s from each call of the pair) would hold the second try
        # for a minute, and hide whether it waited for the agent.
        pair_guard_s=0,
    )
    placed = run(engine, simulator, redis_server, namespace, workers, cid)
    calls = by_callee(placed)
    assert [c["caller"] for c in calls["13900000001"]] == [AWAY, AWAY]
    assert all(c["caller_answered_ms"] is None for c in calls["13900000001"])
    # The second try waited for the agent: no sooner than the wait after the first rang out.
    first, second = calls["13900000001"]
    assert second["start_ms"] >= first["release_ms"] + 1000
    result = engine.store.result_of(cid, 1)
    assert result["outcome"] == "CALLER_NO_ANSWER"
    assert result["outcome_code"] == "Strategy.AgentMisses"
    assert result["agent_misses"] == 2 and int(result.get("contacts") or 0) == 0
    assert engine.store.result_of(cid, 2)["contacts"] == 1
    # The missed calls never rang the customer: they are off the callee's caps.
    caps = engine.store.r.hgetall(engine.keys.callee_caps("13900000001"))
    assert caps and {int(v) for v in caps.values()} == {0}
    answered = engine.store.r.hgetall(engine.keys.callee_caps("13900000002"))
    assert {int(v) for v in answered.values()} == {1}


def own_callers_sheet(path, n: int):
    path.write_text("Caller,Callee\n" + "".join(f"1380{i:07d},139{i:08d}\n" for i in range(n)))
    return path


def test_a_customer_who_did_not_answer_is_rung_again_no_sooner_than_the_delay_after_release(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    # Each customer ignores the first ring and answers the second.
    simulator.faults.update({**TIMED, "callee_answer_by_ring": "0,1"})
    cid = new_campaign(
        engine,
        own_callers_sheet(tmp_path / "s.csv", 6),
        pool=NUMBERS[:2],
        rate_per_s=5.0,
        wrap_up_s=0.2,
        recycle={"CALLEE_NO_ANSWER": [3.0]},
        max_contacts=3,
        pair_guard_s=0,
    )
    placed = run(engine, simulator, redis_server, namespace, workers, cid)
    calls = by_callee(placed)
    assert len(calls) == 6
    for callee, (first, second) in calls.items():
        assert first["established_ms"] is None and second["established_ms"] is not None
        assert second["start_ms"] >= first["release_ms"] + 3000, callee  # never early
    for row in range(1, 7):
        result = engine.store.result_of(cid, row)
        assert result["contacts"] == 2 and result["outcome"] == "CONNECTED"
        assert [h["outcome"] for h in result["history"]] == ["CALLEE_NO_ANSWER", "CONNECTED"]
        assert result["previous_job_ids"] == [result["history"][0]["job_id"]]


def test_max_contacts_ends_the_row_and_an_unknown_row_is_never_recycled(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.update({**TIMED, "callee_answer": 0.0})
    cid = new_campaign(
        engine,
        own_callers_sheet(tmp_path / "s.csv", 4),
        pool=NUMBERS[:2],
        rate_per_s=5.0,
        wrap_up_s=0.2,
        recycle={"CALLEE_NO_ANSWER": [1.0]},
        max_contacts=2,
        pair_guard_s=0,
    )
    w = workers(
        engine_env(
            redis_server.url,
            namespace,
            simulator.url,
            DIALER_CALLER_LOOKUP_S="0.3",
            DIALER_RECORDS_POLL_S="0.3",
            DIALER_CDR_MARGIN_S="0.3",
            DIALER_RECONCILE_WAIT_S="1",
        )
    )
    # Row 1's first answer is lost: UNKNOWN, then found in the records — and not rung again.
    simulator.faults.update({"drop_rate": 1.0})
    w.start()
    wait_until(lambda: engine.store.counts(cid).get("UNKNOWN"), 30, "a row UNKNOWN")
    simulator.faults.update({"drop_rate": 0.0})
    wait_until(
        lambda: (
            engine.store.campaign(cid).status is CampaignStatus.DONE
            and not engine.store.records_campaigns()
        ),
        120,
        "the campaign to finish with every record in",
    )
    calls = by_callee(calls_log(simulator.config.calls_log))
    unknown = [r for r in range(1, 5) if engine.store.result_of(cid, r).get("reconcile_code")]
    assert unknown
    for row in range(1, 5):
        result = engine.store.result_of(cid, row)
        rung = calls[f"139{row - 1:08d}"]
        if row in unknown:
            assert len(rung) == 1 and not result.get("contacts")
        else:
            assert len(rung) == 2 and result["contacts"] == 2
            assert result["outcome_code"] == "Strategy.MaxContacts"


def test_max_contacts_holds_when_a_worker_is_killed_and_its_messages_redelivered(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.update({**TIMED, "callee_answer": 0.0, "latency_ms": 300})
    cid = new_campaign(
        engine,
        own_callers_sheet(tmp_path / "s.csv", 8),
        pool=NUMBERS[:2],
        rate_per_s=5.0,
        wrap_up_s=0.2,
        recycle={"CALLEE_NO_ANSWER": [1.0]},
        max_contacts=3,
        pair_guard_s=0,
    )
    w = workers(
        engine_env(
            redis_server.url,
            namespace,
            simulator.url,
            DIALER_CALLER_LOOKUP_S="0.3",
            DIALER_RECORDS_POLL_S="0.3",
            DIALER_CDR_MARGIN_S="0.3",
            DIALER_RECONCILE_WAIT_S="1",
        )
    )
    victim = w.start()
    w.start()
    # Kill a worker while calls are in flight, twice over the campaign: its messages are
    # redelivered to the others, and its DIALING rows go UNKNOWN.
    for _ in range(2):
        wait_until(lambda: engine.store.counts(cid).get("DIALING"), 60, "a call in flight")
        w.kill(victim)
        victim = w.start()
    wait_until(
        lambda: (
            engine.store.campaign(cid).status is CampaignStatus.DONE
            and not engine.store.records_campaigns()
        ),
        180,
        "the campaign to finish with every record in",
    )
    calls = by_callee(calls_log(simulator.config.calls_log))
    assert len(calls) == 8
    for callee, tries in calls.items():
        assert len(tries) <= 3, callee  # never more than --max-contacts
        for earlier, later in itertools.pairwise(tries):
            assert later["start_ms"] >= earlier["release_ms"] + 1000, callee  # never at once
    for _, state, result in engine.store.iter_rows(cid):
        assert int(result.get("contacts") or 0) <= 3
        if state.startswith("DISPATCHED") and not result.get("reconcile_code"):
            assert result["contacts"] == 3 and result["outcome_code"] == "Strategy.MaxContacts"


def test_campaigns_sharing_agents_take_them_by_priority_then_by_weight(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    # Three campaigns, each with rows enough to keep both shared agents busy the whole time:
    # A (priority 1, weight 3) and B (priority 1, weight 1) share agents 3:1; L (priority 0)
    # waits behind them but still gets one agent in ten.
    simulator.faults.update(TIMED)
    shared = AGENTS[:2]
    share = {"A": (1, 3.0), "B": (1, 1.0), "L": (0, 1.0)}
    by_broker = {}
    for n, (name, (priority, weight)) in enumerate(share.items()):
        sheet = tmp_path / f"{name}.csv"
        sheet.write_text("Callee\n" + "".join(f"139{n}{i:07d}\n" for i in range(100)))
        cid = new_campaign(
            engine,
            sheet,
            name=name,
            pool=(NUMBERS[n],),
            rate_per_s=5.0,
            agents=shared,
            wrap_up_s=0.2,
            priority=priority,
            weight=weight,
        )
        by_broker[NUMBERS[n]] = (name, cid)
    w = workers(
        engine_env(
            redis_server.url,
            namespace,
            simulator.url,
            DIALER_CALLER_LOOKUP_S="0.3",
            DIALER_RECORDS_POLL_S="0.3",
            DIALER_CDR_MARGIN_S="0.3",
        )
    )
    w.start()
    wait_until(lambda: len(calls_log(simulator.config.calls_log)) >= 64, 240, "64 calls placed")
    for _, cid in by_broker.values():
        engine.cancel(cid)
    placed = sorted(calls_log(simulator.config.calls_log), key=lambda c: c["start_ms"])
    # Each agent in one call at a time, whichever campaign placed it.
    for agent in shared:
        theirs = [c for c in placed if c["caller"] == agent]
        for earlier, later in itertools.pairwise(theirs):
            assert later["start_ms"] >= earlier["release_ms"], agent
    # Judged after the first calls (taken as each campaign first came, before any waited).
    got = Counter(by_broker[c["broker"]][0] for c in placed[6:64])
    assert 1 <= got["L"] <= 12, got  # never starved, and clearly behind
    assert 0.6 <= got["A"] / (got["A"] + got["B"]) <= 0.9, got  # 3:1 is 0.75


def test_a_campaign_is_not_done_while_a_call_record_may_send_a_customer_round_again(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    # Every customer ignores the first ring: each row's first record recycles it. What `dialer
    # run` and `dialer status --watch` wait for (progress.watch) must not end before that.
    simulator.faults.update({**TIMED, "callee_answer_by_ring": "0,1"})
    cid = new_campaign(
        engine,
        own_callers_sheet(tmp_path / "s.csv", 3),
        pool=NUMBERS[:2],
        rate_per_s=5.0,
        wrap_up_s=0.2,
        recycle={"CALLEE_NO_ANSWER": [1.0]},
        max_contacts=3,
        pair_guard_s=0,
    )
    w = workers(
        engine_env(
            redis_server.url,
            namespace,
            simulator.url,
            DIALER_CALLER_LOOKUP_S="0.3",
            DIALER_RECORDS_POLL_S="0.3",
            DIALER_CDR_MARGIN_S="0.3",
        )
    )
    w.start()
    final = watch(engine, cid, interval_s=0.1, stream=io.StringIO())
    assert final.status is CampaignStatus.DONE
    # Done means done: every customer was rung twice, and nothing is left to look up.
    assert len(calls_log(simulator.config.calls_log)) == 6
    assert not engine.store.records_campaigns()
    assert {engine.store.result_of(cid, row)["contacts"] for row in (1, 2, 3)} == {2}
