"""What Redis pays, read from `INFO commandstats` (commands run inside Lua scripts included):

1. per placed call: Lua script calls and Redis commands, Celery's own transport included,
   over a campaign of B brokers x R rows at `--rate` per broker, two `celery worker`
   processes, call records off;
2. idle: commands per second with two idle workers and no campaign (the baseline), then with
   50 campaigns started but outside their calling window plus 50 paused;
3. with `--replica`: the Redis gets a replica (a second redis-server on 127.0.0.1), so every
   claim waits for it (`WAIT 1`, sent with BEGIN_DIAL in one round trip): first the claim's
   round trip timed in this process, row by row, with and without the WAIT (p50/p99), then the
   campaign above runs with the replica. Compare calls/s with a run without `--replica`.

    python bench/redis_cost.py [--brokers 4] [--rows-per-broker 300] [--rate 5]
                               [--idle-campaigns 50] [--idle-seconds 10] [--skip-idle]
                               [--replica] [--claims 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness
import redis

from dialer.calendar import Calendar
from dialer.engine import CampaignStore, Caps, Engine, Keys
from dialer.engine.client import Client
from dialer.engine.embedded import EmbeddedRedis
from dialer.models import CampaignSettings, Timing


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def claim_latency(engine: Engine, tmp, numbers: tuple[str, ...], claims: int) -> list[float]:
    """BEGIN_DIAL's round trip, in ms, for `claims` rows claimed one after another."""
    sheet = tmp / f"claims-{engine.timing.min_replicas}.csv"
    harness.write_sheet(sheet, claims, numbers)
    settings = CampaignSettings(
        "claims", "ccc-test", rate_per_s=1000.0, windows=("00:00-24:00",), outcomes=False
    )
    cid = harness.upload_sheet(engine, sheet, settings)
    engine.start(cid)
    caps = Caps("20260101", "202601", 0, 0, 0, 0, 0)
    taken: list[float] = []
    campaign = engine.store.campaign(cid)
    calendar = Calendar.of(settings.windows, settings.timezone)
    while len(taken) < claims:
        jobs, _ = engine.feed(campaign, calendar, max_rows=claims)
        if not jobs:
            break
        for job in jobs:
            started = time.perf_counter()
            begun = engine.begin_dial(job, caps, 0.0)
            taken.append((time.perf_counter() - started) * 1000)
            assert begun.begun_at_ms and not begun.unreplicated, begun
    engine.cancel(cid)
    return taken


def attach_replica(primary: EmbeddedRedis, data_dir: Path) -> EmbeddedRedis:
    replica = EmbeddedRedis(data_dir).start()
    client = redis.Redis(port=replica.port)
    client.replicaof("127.0.0.1", primary.port)
    while client.info("replication")["master_link_status"] != "up":
        time.sleep(0.1)
    client.close()
    return replica


def claim_figures(numbers: tuple[str, ...], claims: int) -> None:
    """The claim's round trip with and without WAIT, on a primary with one replica."""
    with tempfile.TemporaryDirectory() as tmp:
        primary = EmbeddedRedis(Path(tmp) / "primary").start()
        replica = attach_replica(primary, Path(tmp) / "replica")
        try:
            client = Client.from_url(primary.url)
            for label, wanted in (("no WAIT", 0), ("WAIT 1", None)):
                # A namespace each: the rows left DIALING hold their callers.
                store = CampaignStore(client, Keys(f"claims{wanted}"))
                timing = Timing(depth=claims, lookahead_ms=3_600_000, min_replicas=wanted)
                before = commandstats(client)
                taken = claim_latency(Engine(store, timing), Path(tmp), numbers, claims)
                waits = diff(commandstats(client), before).get("wait", 0)
                print(
                    f"claim round trip, {label}: p50 {percentile(taken, 0.5):.2f} ms, "
                    f"p99 {percentile(taken, 0.99):.2f} ms over {len(taken)} claims "
                    f"({waits} WAIT sent)"
                )
        finally:
            replica.cleanup()
            primary.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=4)
    parser.add_argument("--rows-per-broker", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--idle-campaigns", type=int, default=50)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--replica", action="store_true", help="a replica: every claim WAITs")
    parser.add_argument("--claims", type=int, default=300)
    args = parser.parse_args()
    numbers = harness.brokers(args.brokers)
    rows = args.brokers * args.rows_per_broker
    if args.replica:
        claim_figures(numbers, args.claims)
    with harness.environment(numbers, latency_ms=20) as ctx:
        engine = ctx["engine"]
        client = redis.Redis.from_url(ctx["redis"].url)
        replica = attach_replica(ctx["redis"], ctx["tmp"] / "replica") if args.replica else None
        sheet = ctx["tmp"] / "sheet.csv"
        harness.write_sheet(sheet, rows, numbers)
        settings = CampaignSettings(
            "cost", "ccc-test", rate_per_s=args.rate, windows=("00:00-24:00",), outcomes=False
        )
        cid = harness.upload_sheet(engine, sheet, settings)
        harness.start_workers(ctx, 2, 16)
        time.sleep(4)
        idle_base = 0.0 if args.skip_idle else rate_over(client, args.idle_seconds)

        before = commandstats(client)
        engine.start(cid)
        expected_s = rows / (args.brokers * args.rate)
        calls = harness.wait_calls(ctx["log"], rows, timeout_s=expected_s * 3)
        spent = diff(commandstats(client), before)
        n = max(1, len(calls))
        stamps = sorted(c["ts"] for c in calls)
        per_s = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
        print(
            f"{args.brokers} brokers x {args.rows_per_broker} rows at {args.rate:g}/s each, "
            f"2 workers, records off{', one replica' if replica else ''}: {len(calls)} calls, "
            f"{per_s:.2f} calls/s (ideal {args.brokers * args.rate:g}), "
            f"{harness.figures(calls, args.rate, args.rows_per_broker)['duplicates']} "
            "twice"
        )
        print(
            f"per placed call: {lua_calls(spent) / n:.2f} Lua calls, "
            f"{sum(spent.values()) / n:.1f} Redis commands"
        )
        top = sorted(spent.items(), key=lambda kv: -kv[1])[:12]
        print("  most used: " + ", ".join(f"{k} {v / n:.1f}" for k, v in top))
        if replica is not None:
            print(f"  WAIT {spent.get('wait', 0) / n:.2f} per placed call")
            replica.cleanup()
        if args.skip_idle:
            return

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
        print(
            f"idle: {idle_base:.0f} commands/s with 2 idle workers and no campaign; "
            f"{idle:.0f}/s with {args.idle_campaigns} campaigns outside their window + "
            f"{args.idle_campaigns} paused (+{idle - idle_base:.0f}/s)"
        )


if __name__ == "__main__":
    main()
