"""What Redis pays, read from `INFO commandstats` (commands run inside Lua scripts included):

1. per placed call: Lua script calls and Redis commands, Celery's own transport included,
   over a campaign of B brokers x R rows at `--rate` per broker, two `celery worker`
   processes, call records off;
2. idle: commands per second with two idle workers and no campaign (the baseline), then with
   50 campaigns started but outside their calling window plus 50 paused.

    python bench/redis_cost.py [--brokers 4] [--rows-per-broker 300] [--rate 5]
                               [--idle-campaigns 50] [--idle-seconds 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness
import redis

from dialer.models import CampaignSettings


def commandstats(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def lua_calls(stats: dict[str, int]) -> int:
    return sum(n for name, n in stats.items() if name in ("evalsha", "eval", "fcall"))


def rate_over(client: redis.Redis, seconds: float) -> float:
    before = commandstats(client)
    time.sleep(seconds)
    return sum(diff(commandstats(client), before).values()) / seconds


def closed_window() -> str:
    """A one-hour calling window that opens two hours from now (UTC)."""
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    end = start + dt.timedelta(hours=1)
    return f"{start:%H:00}-{end:%H:00}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=4)
    parser.add_argument("--rows-per-broker", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--idle-campaigns", type=int, default=50)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    numbers = harness.brokers(args.brokers)
    rows = args.brokers * args.rows_per_broker
    with harness.environment(numbers, latency_ms=20) as ctx:
        engine = ctx["engine"]
        client = redis.Redis.from_url(ctx["redis"].url)
        sheet = ctx["tmp"] / "sheet.csv"
        harness.write_sheet(sheet, rows, numbers)
        settings = CampaignSettings(
            "cost", "ccc-test", rate_per_s=args.rate, windows=("00:00-24:00",), outcomes=False
        )
        cid = harness.upload_sheet(engine, sheet, settings)
        harness.start_workers(ctx, 2, 16)
        time.sleep(4)
        idle_base = rate_over(client, args.idle_seconds)

        before = commandstats(client)
        engine.start(cid)
        expected_s = rows / (args.brokers * args.rate)
        calls = harness.wait_calls(ctx["log"], rows, timeout_s=expected_s * 3)
        spent = diff(commandstats(client), before)
        n = max(1, len(calls))
        print(f"{args.brokers} brokers x {args.rows_per_broker} rows at {args.rate:g}/s each, "
              f"2 workers, records off: {len(calls)} calls")  # fmt: skip
        print(f"per placed call: {lua_calls(spent) / n:.2f} Lua calls, "
              f"{sum(spent.values()) / n:.1f} Redis commands")  # fmt: skip
        top = sorted(spent.items(), key=lambda kv: -kv[1])[:12]
        print("  most used: " + ", ".join(f"{k} {v / n:.1f}" for k, v in top))

        small = ctx["tmp"] / "small.csv"
        harness.write_sheet(small, 10, numbers)
        closed = CampaignSettings(
            "idle", "ccc-test", windows=(closed_window(),), timezone="UTC", outcomes=False
        )
        opened = CampaignSettings("idle", "ccc-test", windows=("00:00-24:00",), outcomes=False)
        for _ in range(args.idle_campaigns):
            engine.start(harness.upload_sheet(engine, small, closed))
            paused = harness.upload_sheet(engine, small, opened)
            engine.start(paused)
            engine.pause(paused)
        time.sleep(3)
        idle = rate_over(client, args.idle_seconds)
        print(f"idle: {idle_base:.0f} commands/s with 2 idle workers and no campaign; "
              f"{idle:.0f}/s with {args.idle_campaigns} campaigns outside their window + "
              f"{args.idle_campaigns} paused (+{idle - idle_base:.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
