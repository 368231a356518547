"""CCC API requests per placed call, with call outcomes fetched in bulk: a campaign against the
simulator (its own process) with timed calls, real `celery worker` processes, the record
settings at their defaults (DIALER_RECORDS_POLL_S 2, DIALER_RECORDS_BUDGET 0.08). Counts every
request the simulator received, by action, once every outcome is in, and how long each outcome
took to arrive after its record was written.

    python bench/records.py [--rows 1200] [--brokers 4] [--rate 5] [--time-scale 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

from dialer.models import CampaignSettings, CampaignStatus


def write_pairs(path, rows: int) -> None:
    """Every row its own caller: no call fails because its caller is busy."""
    with open(path, "w") as f:
        f.write("Caller,Callee\n")
        for i in range(rows):
            f.write(f"138{i:08d},139{i:08d}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1200)
    parser.add_argument("--brokers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0, help="calls/s per broker")
    parser.add_argument("--ring-s", default="2-10")
    parser.add_argument("--talk-s", default="30-180")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--cdr-delay-ms", type=float, default=2000.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    numbers = harness.brokers(args.brokers)
    timed = (
        "--caller-answer",
        "0.9",
        "--callee-answer",
        "0.8",
        "--ring-s",
        args.ring_s,
        "--talk-s",
        args.talk_s,
        "--time-scale",
        str(args.time_scale),
        "--cdr-delay-ms",
        str(args.cdr_delay_ms),
    )
    with harness.environment(numbers, 20.0, sim_args=timed) as ctx:
        # The record settings as shipped: no test shortcuts.
        for name in ("DIALER_CDR_MARGIN_S", "DIALER_RECORDS_QPS"):
            ctx["env"].pop(name, None)
        sheet = ctx["tmp"] / "sheet.csv"
        write_pairs(sheet, args.rows)
        engine = ctx["engine"]
        settings = CampaignSettings(
            "bench",
            "ccc-test",
            pool=numbers,
            rate_per_s=args.rate,
            windows=("00:00-24:00",),
            pair_guard_s=0,
        )
        cid = harness.upload_sheet(engine, sheet, settings)
        harness.start_workers(ctx, args.workers, 16)
        harness.wait_for_workers(ctx, args.workers)
        started = time.time()
        engine.start(cid)
        while engine.store.campaign(cid).status is not CampaignStatus.DONE:
            time.sleep(1)
        dialled = time.time() - started
        deadline = time.time() + 600
        while cid in engine.store.records_campaigns() and time.time() < deadline:
            time.sleep(1)
        settled = time.time() - started
        with urllib.request.urlopen(f"{ctx['sim_url']}/_simulator/requests") as answer:
            requests = json.load(answer)
        calls = {c["job_id"]: c for c in harness.read_calls(ctx["log"])}
        results = [r for _, state, r in engine.store.iter_rows(cid) if state == "DISPATCHED"]

    placed = requests.get("StartBack2BackCall", 0)
    lookups = sum(n for action, n in requests.items() if action != "StartBack2BackCall")
    lags = [
        (r["record_found_at"] - calls[r["job_id"]]["release_ms"] - args.cdr_delay_ms) / 1000
        for r in results
        if r.get("record_found_at")
    ]
    print(
        f"{args.rows} rows, {args.brokers} brokers x {args.rate:g}/s, ring {args.ring_s} s, "
        f"talk {args.talk_s} s at x{args.time_scale:g}, records {args.cdr_delay_ms:g} ms "
        f"after release"
    )
    print(f"dialled in {dialled:.0f} s, every outcome in after {settled:.0f} s")
    print(f"requests: {requests}")
    print(
        f"calls placed {placed}; record requests {lookups} ({lookups / placed:.3f} per call); "
        f"total {(placed + lookups) / placed:.3f} CCC API requests per placed call"
    )
    print(
        f"outcomes: {len(lags)} of {len(results)} dispatched calls; after the record was "
        f"written: median {statistics.median(lags):.1f} s, p90 "
        f"{statistics.quantiles(lags, n=10)[-1]:.1f} s, max {max(lags):.1f} s"
    )


if __name__ == "__main__":
    main()
