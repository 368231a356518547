"""The contact strategy against one pass: the same pool campaign twice, against the simulator.

20 agents (2 of them away from the phone half the time: their leg rings out), customers who
answer 60 % of the rings, calls that ring and talk (time-scaled), two `celery worker`
processes. Run 1: one pass (an agent's miss ends the row, nobody is tried again). Run 2: the
strategy (`--max-agent-misses 3`, `--recycle CALLEE_NO_ANSWER=DELAY`, `--max-contacts 3`; the
delay is time-scaled like the calls). Prints, side by side: customers reached; calls placed;
agent misses; lateness of recycled calls against their due time (previous release + delay;
p50/p99; early ones counted, there must be none); release of an agent's missed call to the
next agent's call beginning (p50, record lookup included); Redis commands per placed call
(INFO commandstats).

    python bench/strategy.py [--agents 20] [--away 2] [--rows 400] [--brokers 4] [--rate 5]
                             [--time-scale 100] [--delay-s 600] [--away-period-s 10]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness
import redis

from dialer.models import CampaignSettings, CampaignStatus


def agents(n: int) -> tuple[str, ...]:
    return tuple(f"1370000{i:04d}" for i in range(1, n + 1))


def post_faults(url: str, changes: dict) -> None:
    request = urllib.request.Request(
        url + "/_simulator/faults",
        json.dumps(changes).encode(),
        {"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()


def commands(client: redis.Redis) -> int:
    return sum(int(v["calls"]) for v in client.info("commandstats").values())


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace, strategy: bool) -> dict[str, float]:
    numbers = harness.brokers(args.brokers)
    sim_args = (
        "--ring-s",
        "2-8",
        "--talk-s",
        "20-120",
        "--time-scale",
        str(args.time_scale),
        "--callee-answer",
        "0.6",
        "--seed",
        "7",
    )
    floor_s = str(2.0 / args.time_scale)
    delay_s = args.delay_s / args.time_scale
    with harness.environment(
        numbers, 20, sim_args, DIALER_CALLER_LOOKUP_S=floor_s, DIALER_RECORDS_POLL_S=floor_s
    ) as ctx:
        engine = ctx["engine"]
        people = agents(args.agents)
        away = people[: args.away]
        sheet = ctx["tmp"] / "sheet.csv"
        sheet.write_text("Callee\n" + "".join(f"139{i:08d}\n" for i in range(args.rows)))
        more = {"max_agent_misses": 1}
        if strategy:
            more = {
                "max_agent_misses": 3,
                "recycle": {"CALLEE_NO_ANSWER": [delay_s]},
                "max_contacts": 3,
            }
        settings = CampaignSettings(
            "strategy",
            "ccc-test",
            pool=numbers,
            rate_per_s=args.rate,
            windows=("00:00-24:00",),
            agents=people,
            wrap_up_s=0.1,
            pair_guard_s=0,
            agent_miss_wait_s=30 / args.time_scale,
            # Off: the time-scaled run fits many contacts into one day, and every call placed
            # counts against the callee's daily cap (an agent's missed leg included).
            callee_daily_cap=0,
            callee_monthly_cap=0,
            **more,
        )
        cid = harness.upload_sheet(engine, sheet, settings)
        harness.start_workers(ctx, 2, 32)
        harness.wait_for_workers(ctx, 2)
        client = redis.Redis.from_url(ctx["redis"].url)
        before = commands(client)
        stop = threading.Event()

        def toggle_away() -> None:  # away half the time
            present = False
            while not stop.wait(args.away_period_s / 2):
                post_faults(ctx["sim_url"], {"away_callers": [] if present else list(away)})
                present = not present

        post_faults(ctx["sim_url"], {"away_callers": list(away)})
        threading.Thread(target=toggle_away, daemon=True).start()
        engine.start(cid)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            rows = [(s.split("|")[0], r) for _, s, r in engine.store.iter_rows(cid)]
            settled = all(
                r.get("outcome") or r.get("outcome_note") for s, r in rows if s == "DISPATCHED"
            )
            if engine.store.campaign(cid).status is CampaignStatus.DONE and settled:
                break
            time.sleep(1)
        stop.set()
        spent = commands(client) - before
        calls = harness.read_calls(ctx["log"])
    late, early, requeue = [], 0, []
    for _, result in rows:
        history = result.get("history") or []
        for prev, nxt in itertools.pairwise(history):
            if not (prev.get("released_at") and nxt.get("at")):
                continue
            if prev["outcome"] == "CALLEE_NO_ANSWER":
                lateness = (nxt["at"] - (prev["released_at"] + delay_s * 1000)) / 1000
                early += lateness < 0
                late.append(lateness)
            elif prev["outcome"] == "CALLER_NO_ANSWER":
                requeue.append((nxt["at"] - prev["released_at"]) / 1000)
    return {
        "reached": sum(r.get("outcome") == "CONNECTED" for _, r in rows) / args.rows,
        "calls": len(calls),
        "misses": sum(int(r.get("agent_misses") or 0) for _, r in rows),
        "late_p50": pct(late, 0.5),
        "late_p99": pct(late, 0.99),
        "recycled": len(late),
        "early": early,
        "requeue_p50": pct(requeue, 0.5),
        "commands_per_call": spent / max(1, len(calls)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--away", type=int, default=2)
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--brokers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--delay-s", type=float, default=600.0, help="before time-scaling")
    parser.add_argument("--away-period-s", type=float, default=10.0)
    args = parser.parse_args()
    print(
        f"{args.rows} customers, {args.agents} agents ({args.away} away half the time), "
        f"customers answer 60 %, recycle delay {args.delay_s:g} s / {args.time_scale:g}",
        flush=True,
    )
    for label, strategy in (("one pass", False), ("strategy", True)):
        f = run(args, strategy)
        print(
            f"{label:>9}: reached {f['reached']:.1%} with {f['calls']} calls, "
            f"{f['misses']} agent misses; recycled {f['recycled']} calls, late p50 "
            f"{f['late_p50']:.2f} s p99 {f['late_p99']:.2f} s, early {f['early']}; "
            f"missed agent -> next agent's call p50 {f['requeue_p50']:.2f} s; "
            f"Redis commands per placed call {f['commands_per_call']:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
