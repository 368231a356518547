"""Callers are people: the same campaign with callers paced, then paced by brokers only.

20 agents named round robin in a 2,000-row sheet, 4 brokers, simulated calls that ring and
talk (time-scaled), two `celery worker` processes. Prints, for each run, from the
simulator's calls log and request counts: caller overlaps (a caller rung while still in a
call; must be 0 when paced), calls that failed at the caller's leg because the caller was
busy, agent occupancy (time in calls / (agents x wall time)) against what the call lengths
and wrap-up allow, and CCC API requests per placed call.

With --workbench, the runs are callers paced by call records (as above) and agents at their
screens (--agents-sign-in): each simulated agent saves their call's disposition
--dispose-after-s (real seconds) after the simulator released it, and is free at once. It
adds the time from each disposition to that agent's next call being placed (p50/p99).

    python bench/agents.py [--agents 20] [--rows 2000] [--brokers 4] [--rate 5]
                           [--talk 30-180] [--ring 2-8] [--time-scale 100] [--wrap-up-s 0.1]
                           [--workbench [--dispose-after-s 1.0]]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

from dialer.agents import Agents, open_agents
from dialer.ccc.simulator.calls import caller_overlaps
from dialer.errors import DialerError
from dialer.models import CampaignSettings, CampaignStatus
from dialer.settings import Settings


def agents(n: int) -> list[str]:
    return [f"1370000{i:04d}" for i in range(1, n + 1)]


class Workbench:
    """Agents at their screens: each saves the disposition of a call of theirs
    `after_s` after the simulator released it (they hung up), as an agent would."""

    def __init__(self, agents_api: Agents, cid: str, log: Path, after_s: float) -> None:
        self.agents = agents_api
        self.cid = cid
        self.log = log
        self.after_ms = after_s * 1000
        self.disposed: dict[str, float] = {}  # job id -> epoch ms its disposition was saved
        self.by_agent: dict[str, list[float]] = defaultdict(list)  # agent -> disposal times
        self.stop = threading.Event()

    def run(self) -> None:
        seen = 0
        pending: list[dict] = []
        while not self.stop.is_set():
            calls = harness.read_calls(self.log)
            pending.extend(calls[seen:])
            seen = len(calls)
            now = time.time() * 1000
            for call in [c for c in pending if c["release_ms"] + self.after_ms <= now]:
                pending.remove(call)
                self._dispose(call)
            self.stop.wait(0.01)

    def _dispose(self, call: dict) -> None:
        row = int(call["callee"][3:]) + 1
        try:
            self.agents.dispose(
                self.cid, row, agent=call["caller"], code="INTERESTED", who="bench", audit=False
            )
        except DialerError:
            return  # the row's call is another by now (an agent leg missed, the row moved on)
        at = time.time() * 1000
        self.disposed[call["job_id"]] = at
        self.by_agent[call["caller"]].append(at)

    def next_call_latencies(self, calls: list[dict]) -> list[float]:
        """Seconds from each disposition to the same agent's next call placed."""
        starts: dict[str, list[float]] = defaultdict(list)
        for c in calls:
            starts[c["caller"]].append(c["start_ms"])
        out = []
        for agent, times in self.by_agent.items():
            begun = sorted(starts[agent])
            for at in times:
                later = [s for s in begun if s >= at]
                if later:
                    out.append((later[0] - at) / 1000)
        return out


def run(args: argparse.Namespace, paced: bool, workbench: bool = False) -> dict[str, float]:
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
            agents_sign_in=workbench,
            wrap_up_max_s=3600.0,
        )
        cid = harness.upload_sheet(engine, sheet, settings)
        harness.start_workers(ctx, 2, 32)
        harness.wait_for_workers(ctx, 2)
        bench = None
        if workbench:
            namespace = engine.keys.namespace
            api = open_agents(Settings(redis_url=ctx["redis"].url, namespace=namespace))
            for agent in people:
                api.presences.set(agent, "READY", who="bench", audit=False)
            bench = Workbench(api, cid, ctx["log"], args.dispose_after_s)
            threading.Thread(target=bench.run, daemon=True).start()
        engine.start(cid)
        deadline = time.monotonic() + 1800
        while engine.store.campaign(cid).status is not CampaignStatus.DONE:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # The last records: the record lookups are counted in the requests per call.
        while cid in engine.store.records_campaigns() and time.monotonic() < deadline:
            time.sleep(0.2)
        if bench is not None:
            bench.stop.set()
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
    # While every agent still had rows: from the first call to the first agent's last
    # release. The tail (agents whose rows ran out while others talk on) is the sheet's, not
    # the dialer's.
    begin = min(c["start_ms"] for c in calls)
    last: dict[str, int] = {}
    for c in calls:
        last[c["caller"]] = max(last.get(c["caller"], 0), c["release_ms"])
    end = min(last.values())
    in_window = sum(max(0, min(c["release_ms"], end) - c["start_ms"]) for c in calls) / 1000
    steady = in_window / (len(last) * (end - begin) / 1000) if end > begin else float("nan")
    wrap_up_s = args.dispose_after_s if workbench else args.wrap_up_s
    allowed = mean_call / (mean_call + wrap_up_s)
    latencies = sorted(bench.next_call_latencies(calls)) if bench else []
    return {
        "steady": steady,
        "next_p50": _quantile(latencies, 0.5),
        "next_p99": _quantile(latencies, 0.99),
        "dispositions": len(latencies),
        "calls": len(calls),
        "overlaps": len(caller_overlaps(calls)),
        "caller_busy": sum(bool(c["caller_busy"]) for c in calls),
        "occupancy": occupancy,
        "allowed": allowed,
        "wall_s": wall,
        "api_per_call": sum(requests.values()) / max(1, len(calls)),
        "requests": requests,
    }


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


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
    parser.add_argument("--workbench", action="store_true")
    parser.add_argument("--dispose-after-s", type=float, default=1.0)
    args = parser.parse_args()
    modes = ((True, False), (True, True)) if args.workbench else ((True, False), (False, False))
    for paced, workbench in modes:
        figures = run(args, paced, workbench)
        label = "agents at screens" if workbench else "callers paced" if paced else "brokers only "
        share = figures["occupancy"] / figures["allowed"]
        print(
            f"{label}: {figures['calls']} calls in {figures['wall_s']:.0f} s, "
            f"caller overlaps {figures['overlaps']}, failed at the caller's leg (busy) "
            f"{figures['caller_busy']}, agent occupancy {figures['occupancy']:.2f} of "
            f"{figures['allowed']:.2f} allowed ({share:.2f}; "
            f"{figures['steady'] / figures['allowed']:.2f} while every agent had rows), "
            f"CCC API requests per placed call {figures['api_per_call']:.2f} "
            f"{figures['requests']}"
        )
        if workbench:
            print(
                f"  disposition to the agent's next call placed: "
                f"p50 {figures['next_p50']:.3f} s, p99 {figures['next_p99']:.3f} s "
                f"({figures['dispositions']} dispositions followed by a call)"
            )


if __name__ == "__main__":
    main()
