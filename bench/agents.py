"""Callers are people: the same campaign with callers paced, then paced by brokers only.

20 agents named round robin in a 2,000-row sheet, 4 brokers, simulated calls that ring and
talk (time-scaled), two `celery worker` processes. Prints, for each run, from the
simulator's calls log and request counts: caller overlaps (a caller rung while still in a
call; must be 0 when paced), calls that failed at the caller's leg because the caller was
busy, agent occupancy (time in calls / (agents x wall time)) against what the call lengths
and wrap-up allow, and CCC API requests per placed call.

    python bench/agents.py [--agents 20] [--rows 2000] [--brokers 4] [--rate 5]
                           [--talk 30-180] [--ring 2-8] [--time-scale 100] [--wrap-up-s 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

from dialer.ccc.simulator.calls import caller_overlaps
from dialer.models import CampaignSettings, CampaignStatus


def agents(n: int) -> list[str]:
    return [f"1370000{i:04d}" for i in range(1, n + 1)]


def run(args: argparse.Namespace, paced: bool) -> dict[str, float]:
    numbers = harness.brokers(args.brokers)
    sim_args = (
        "--ring-s",
        args.ring,
        "--talk-s",
        args.talk,
        "--time-scale",
        str(args.time_scale),
        "--seed",
        "7",
    )
    # The product's 2 s floors for record lookups, scaled like the calls: the run then
    # costs the requests per call, and the idle time per call, of the unscaled campaign.
    floor_s = str(2.0 / args.time_scale)
    with harness.environment(
        numbers, 20, sim_args, DIALER_CALLER_LOOKUP_S=floor_s, DIALER_RECORDS_POLL_S=floor_s
    ) as ctx:
        engine = ctx["engine"]
        people = agents(args.agents)
        sheet = ctx["tmp"] / "sheet.csv"
        with open(sheet, "w") as f:
            f.write("Caller,Callee,Broker\n")
            for i in range(args.rows):
                f.write(f"{people[i % len(people)]},139{i:08d},{numbers[i % len(numbers)]}\n")
        settings = CampaignSettings(
            "agents",
            "ccc-test",
            rate_per_s=args.rate,
            windows=("00:00-24:00",),
            wrap_up_s=args.wrap_up_s,
            caller_pacing=paced,
            pair_guard_s=0,
        )
        cid = harness.upload_sheet(engine, sheet, settings)
        harness.start_workers(ctx, 2, 32)
        harness.wait_for_workers(ctx, 2)
        engine.start(cid)
        deadline = time.monotonic() + 1800
        while engine.store.campaign(cid).status is not CampaignStatus.DONE:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # The last records: the record lookups are counted in the requests per call.
        while cid in engine.store.records_campaigns() and time.monotonic() < deadline:
            time.sleep(0.2)
        calls = harness.read_calls(ctx["log"])
        url = ctx["sim_url"] + "/_simulator/requests"
        with urllib.request.urlopen(url) as answer:
            requests = json.loads(answer.read())
    busy: dict[str, float] = defaultdict(float)
    for c in calls:
        busy[c["caller"]] += (c["release_ms"] - c["start_ms"]) / 1000
    wall = (max(c["release_ms"] for c in calls) - min(c["start_ms"] for c in calls)) / 1000
    mean_call = sum(busy.values()) / len(calls)
    occupancy = sum(busy.values()) / (args.agents * wall)
    allowed = mean_call / (mean_call + args.wrap_up_s)
    return {
        "calls": len(calls),
        "overlaps": len(caller_overlaps(calls)),
        "caller_busy": sum(bool(c["caller_busy"]) for c in calls),
        "occupancy": occupancy,
        "allowed": allowed,
        "wall_s": wall,
        "api_per_call": sum(requests.values()) / max(1, len(calls)),
        "requests": requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--brokers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--talk", default="30-180")
    parser.add_argument("--ring", default="2-8")
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--wrap-up-s", type=float, default=0.1)
    args = parser.parse_args()
    for paced in (True, False):
        figures = run(args, paced)
        label = "callers paced" if paced else "brokers only "
        share = figures["occupancy"] / figures["allowed"]
        print(
            f"{label}: {figures['calls']} calls in {figures['wall_s']:.0f} s, "
            f"caller overlaps {figures['overlaps']}, failed at the caller's leg (busy) "
            f"{figures['caller_busy']}, agent occupancy {figures['occupancy']:.2f} of "
            f"{figures['allowed']:.2f} allowed ({share:.2f}), "
            f"CCC API requests per placed call {figures['api_per_call']:.2f} "
            f"{figures['requests']}"
        )


if __name__ == "__main__":
    main()
