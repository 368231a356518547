"""The highest sustained calls/s on this machine with limits out of the way: many brokers at a
high rate each, a zero-latency simulator (by default), W worker processes. Everything (Redis,
simulator, workers, feeder) shares this machine's cores.

    python bench/ceiling.py [--brokers 100] [--rate 50] [--rows 20000] [--workers 2]
                            [--concurrency 64] [--latency-ms 0] [--no-outcomes]

With --latency-ms and few threads, the pool rather than the CPU is the limit: that shows how
throughput scales with worker processes.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

from dialer.models import CampaignSettings
from dialer.sheets.upload import upload


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator answer delay")
    parser.add_argument(
        "--no-outcomes", action="store_true", help="don't fetch each call's record afterwards"
    )
    args = parser.parse_args()
    numbers = harness.brokers(args.brokers)
    with harness.environment(numbers, latency_ms=args.latency_ms) as ctx:
        sheet = ctx["tmp"] / "sheet.csv"
        harness.write_sheet(sheet, args.rows, numbers)
        engine = ctx["engine"]
        settings = CampaignSettings(
            "ceiling",
            "ccc-test",
            rate_per_s=args.rate,
            windows=("00:00-24:00",),
            outcomes=not args.no_outcomes,
        )
        cid = upload(engine.store, sheet, settings).campaign_id
        harness.start_workers(ctx, args.workers, args.concurrency)
        harness.wait_for_workers(ctx, args.workers)
        before = harness.cpu_seconds(ctx)
        engine.start(cid)
        calls = harness.wait_calls(ctx["log"], args.rows, timeout_s=600)
        after = harness.cpu_seconds(ctx)
    stamps = sorted(c["ts"] for c in calls)
    # Sustained rate: the middle 80% of the campaign, away from ramp-up and tail.
    lo, hi = stamps[len(stamps) // 10], stamps[len(stamps) * 9 // 10]
    sustained = (len(stamps) * 8 // 10) / (hi - lo) if hi > lo else 0.0
    print(
        f"{args.brokers} brokers x {args.rate:g}/s limit ({args.brokers * args.rate:g}/s "
        f"allowed), {args.workers} workers x {args.concurrency} threads, "
        f"latency {args.latency_ms:g} ms"
    )
    print(f"calls={len(calls)} duplicates={len(calls) - len({c['callee'] for c in calls})}")
    print(
        f"overall={len(stamps) / (stamps[-1] - stamps[0]):.0f} calls/s, "
        f"sustained (middle 80%)={sustained:.0f} calls/s"
    )
    # Where the machine's time went: CPU ms per call by process, over the whole campaign.
    spent = {k: (after[k] - before[k]) * 1000 / max(1, len(calls)) for k in after}
    print(
        "CPU ms per call: "
        + ", ".join(f"{k} {v:.2f}" for k, v in spent.items())
        + f", total {sum(spent.values()):.2f}"
    )
    # CCC runs elsewhere in production: what these cores could carry without the simulator.
    own = spent["workers"] + spent["redis"]
    cores = os.cpu_count() or 1
    print(
        f"without the simulator: {cores} cores / {own:.2f} ms = at most "
        f"{cores * 1000 / own:.0f} calls/s"
    )


if __name__ == "__main__":
    main()
