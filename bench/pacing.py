"""Pacing per broker: N brokers x R calls/s against the simulator (50 ms latency), W workers.
Prints utilisation (ideal time / actual time), worst 1-second window per broker vs its
limit, duplicates — for this engine and for a naive Celery baseline side by side.

    python bench/pacing.py [--brokers 10] [--rate 5] [--seconds 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

from dialer.models import CampaignSettings
from dialer.sheets.upload import upload


def run_engine(args: argparse.Namespace, outcomes: bool = False) -> dict:
    numbers = harness.brokers(args.brokers)
    rows_per_broker = int(args.rate * args.seconds)
    with harness.environment(numbers, args.latency_ms) as ctx:
        sheet = ctx["tmp"] / "sheet.csv"
        harness.write_sheet(sheet, rows_per_broker * args.brokers, numbers)
        engine = ctx["engine"]
        settings = CampaignSettings(
            "bench", "ccc-test", rate_per_s=args.rate, windows=("00:00-24:00",)
        )
        cid = upload(engine.store, sheet, settings).campaign_id
        harness.start_workers(ctx, args.workers, args.concurrency)
        harness.wait_for_workers(ctx, args.workers)  # start-up is not counted as pacing
        started = time.time()
        engine.start(cid)
        calls = harness.wait_calls(ctx["log"], rows_per_broker * args.brokers, args.seconds * 4)
        out = harness.figures(calls, args.rate, rows_per_broker)
        out["wall_s"] = max(c["ts"] for c in calls) - started if calls else 0.0
        if outcomes:
            # Figures above are taken; now give the last records time to land.
            deadline = time.time() + 30
            while True:
                fetched = sum("outcome" in r for _, _, r in engine.store.iter_rows(cid))
                if fetched >= len(calls) or time.time() > deadline:
                    break
                time.sleep(0.5)
            counts = engine.store.counts(cid)
            out["records"] = f"{fetched} records fetched by the end, {counts}"
        return out


def run_naive(args: argparse.Namespace) -> dict:
    numbers = harness.brokers(args.brokers)
    rows_per_broker = int(args.rate * args.seconds)
    with harness.environment(numbers, args.latency_ms) as ctx:
        ctx["env"]["NAIVE_RATE"] = f"{args.rate}/s"
        harness.start_workers(ctx, args.workers, args.concurrency, app="bench.naive_tasks")
        os.environ.update(ctx["env"])
        sys.path.insert(0, str(harness.ROOT))
        from bench import naive_tasks

        time.sleep(3)
        started = time.time()
        for i in range(rows_per_broker * args.brokers):
            naive_tasks.call.delay("13800000001", f"139{i:08d}", numbers[i % args.brokers])
        calls = harness.wait_calls(ctx["log"], rows_per_broker * args.brokers, args.seconds * 4)
        out = harness.figures(calls, args.rate, rows_per_broker)
        out["wall_s"] = max(c["ts"] for c in calls) - started if calls else 0.0
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=10)
    parser.add_argument("--rate", type=float, default=5.0, help="calls/s per broker")
    parser.add_argument("--seconds", type=float, default=20.0, help="ideal campaign length")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--outcomes", action="store_true", help="also run with call records on")
    args = parser.parse_args()
    print(
        f"{args.brokers} brokers x {args.rate:g}/s, {args.seconds:g}s ideal, {args.workers} "
        f"workers x {args.concurrency} threads, latency {args.latency_ms:g} ms"
    )
    results = {"engine": run_engine(args)}
    if args.outcomes:
        results["engine+outcomes"] = run_engine(args, outcomes=True)
    if not args.skip_naive:
        results["naive rate_limit"] = run_naive(args)
    print(
        f"{'':18} {'calls':>6} {'utilisation':>12} {'worst 1s window':>16} {'limit':>6} "
        f"{'duplicates':>11} {'wall s':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:18} {r['calls']:>6} {r['utilisation']:>12.3f} {r['worst_window']:>16} "
            f"{args.rate:>6g} {r['duplicates']:>11} {r['wall_s']:>7.1f}"
        )
        if "records" in r:
            print(f"{'':18} {r['records']}")


if __name__ == "__main__":
    main()
