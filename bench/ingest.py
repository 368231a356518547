"""Ingest a generated 1,000,000-row sheet; print seconds, peak RSS and Redis bytes per row.

    python bench/ingest.py [--rows 1000000]

Uses DIALER_REDIS_URL if set (in a throwaway namespace it deletes afterwards), else a private
redis-server."""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path

import redis

from dialer.engine import CampaignStore, Keys
from dialer.engine.embedded import EmbeddedRedis
from dialer.models import CampaignSettings
from dialer.sheets.upload import upload


def generate(path: Path, rows: int) -> None:
    rng = random.Random(1)
    agents = [f"138{rng.randrange(10**8):08d}" for _ in range(50)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("主叫号码,被叫号码,客户姓名,订单号\n")
        for i in range(rows):
            f.write(f"{agents[i % 50]},1{39 + i % 50}{i:08d},客户{i % 997},ord-{i}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "big.csv"
        generate(sheet, args.rows)
        print(f"sheet: {args.rows} rows, {sheet.stat().st_size / 1e6:.1f} MB")
        server = None
        url = os.environ.get("DIALER_REDIS_URL")
        if not url:
            server = EmbeddedRedis(Path(tmp) / "redis").start()
            url = server.url
        client = redis.Redis.from_url(url)
        store = CampaignStore(client, Keys(f"bench{uuid.uuid4().hex[:8]}"))
        before = int(client.info("memory")["used_memory"])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        pool = tuple(f"0215123{i:04d}" for i in range(10))
        report = upload(store, sheet, CampaignSettings("bench", "ccc-test", pool=pool))
        elapsed = time.perf_counter() - started
        used = int(client.info("memory")["used_memory"]) - before
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"accepted={report.accepted} rejected={sum(report.rejected.values())}")
        print(f"ingest seconds={elapsed:.1f} ({args.rows / elapsed:,.0f} rows/s)")
        print(f"peak RSS={peak / 1024:.0f} MiB (before ingest {rss_before / 1024:.0f} MiB)")
        print(f"redis used_memory delta={used / 1e6:.1f} MB, bytes/row={used / args.rows:.0f}")
        store.delete(report.campaign_id)
        if server:
            server.cleanup()


if __name__ == "__main__":
    main()
