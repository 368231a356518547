"""Export a finished 200,000-row campaign to CSV and to XLSX; print the seconds of each and
their ratio (the XLSX should stay within 4x of the CSV).

    python bench/export.py [--rows 200000] [--keep DIR]

The campaign is uploaded from a generated sheet into a private redis-server, then every row
is given a plausible end (placed with a call record, failed, unknown, retried first) by
writing its state and result as the engine would, paced 20 calls/s from 2026-03-02 09:00
Asia/Shanghai. --keep DIR also leaves results.csv, results.xlsx and report.html there."""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis

from dialer.engine import CampaignStore, Keys
from dialer.engine.embedded import EmbeddedRedis
from dialer.models import CampaignSettings
from dialer.results.export import export
from dialer.results.report import write_report
from dialer.sheets.upload import upload

START_MS = 1_772_413_200_000  # 2026-03-02 09:00 Asia/Shanghai
OUTCOMES = (
    ("CONNECTED", 55),
    ("CALLEE_NO_ANSWER", 20),
    ("CALLER_NO_ANSWER", 8),
    ("BUSY", 8),
    ("REJECTED_BY_CARRIER", 5),
    ("FAILED_OTHER", 4),
)


def generate(path: Path, rows: int) -> None:
    rng = random.Random(1)
    agents = [f"138{rng.randrange(10**8):08d}" for _ in range(50)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("主叫号码,被叫号码,客户姓名,订单号,备注\n")
        for i in range(rows):
            callee = f"1{39 + i % 50}{i:08d}" if i % 97 else "1.39182E+10"  # a few rejected
            f.write(f"{agents[i % 50]},{callee},客户{i % 997},ord-{i},回访 {i % 7}\n")


def settle(store: CampaignStore, cid: str, rows: int, brokers: tuple[str, ...]) -> None:
    """Give every accepted row an end, as workers and the call-record poller would."""
    rng = random.Random(2)
    outcomes = [name for name, weight in OUTCOMES for _ in range(weight)]
    states: dict[str, str] = {}
    results: dict[str, str] = {}
    rejected = {text.decode() for text in store.r.hkeys(store.keys.result(cid))}

    def flush() -> None:
        if states:
            store.r.hset(store.keys.state(cid), mapping=states)
            store.r.hset(store.keys.result(cid), mapping=results)
            states.clear()
            results.clear()

    for row in range(1, rows + 1):
        if str(row) in rejected:
            continue
        at = START_MS + row * 50 + rng.randrange(40)
        attempts = 1 if rng.random() < 0.93 else rng.randint(2, 3)
        result: dict[str, object] = {
            "broker": brokers[row % len(brokers)],
            "attempts": attempts,
            "first_attempt_at": at - (attempts - 1) * 4000,
            "last_attempt_at": at,
        }
        if attempts > 1:
            result["retry_code"] = "InternalService.CTI"
        luck = rng.random()
        if luck < 0.03:
            state = "FAILED"
            result |= {
                "error_code": "InternalService.CTI",
                "http_status": 500,
                "error_message": "An internal CTI service error occurred.",
            }
        elif luck < 0.035:
            state = "UNKNOWN"
            result |= {
                "error_code": "Client.ReadTimeout",
                "error_message": "no answer before the read timeout",
            }
        else:
            state = "DISPATCHED"
            outcome = rng.choice(outcomes)
            ring = rng.randint(3000, 20000)
            talk = rng.randint(10, 300) if outcome == "CONNECTED" else 0
            result |= {
                "job_id": f"job-{uuid.UUID(int=rng.getrandbits(128))}",
                "http_status": 200,
                "request_id": str(uuid.UUID(int=rng.getrandbits(128))).upper(),
                "dispatched_at": at,
                "outcome": outcome,
                "talk_seconds": talk,
                "release_initiator": "callee",
                "release_reason": "200 - normal call clearing",
                "established_at": at + ring if talk else None,
                "released_at": at + ring + talk * 1000,
            }
        states[str(row)] = state
        results[str(row)] = json.dumps(result)
        if len(states) >= 5000:
            flush()
    flush()


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="leave the exported files in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        sheet = Path(tmp) / "big.csv"
        generate(sheet, args.rows)
        server = EmbeddedRedis(Path(tmp) / "redis").start()
        try:
            store = CampaignStore(redis.Redis.from_url(server.url), Keys("bench"))
            brokers = tuple(f"0215123{i:04d}" for i in range(20))
            settings = CampaignSettings("bench", "ccc-test", pool=brokers, rate_per_s=1.0)
            cid = upload(store, sheet, settings).campaign_id
            settle(store, cid, args.rows, brokers)
            print(f"campaign: {args.rows} rows, results in a private Redis")
            csv_s = timed(lambda: export(store, cid, out / "results.csv"))
            xlsx_s = timed(lambda: export(store, cid, out / "results.xlsx"))
            print(f"csv   {csv_s:6.1f} s  {(out / 'results.csv').stat().st_size / 1e6:6.1f} MB")
            print(f"xlsx  {xlsx_s:6.1f} s  {(out / 'results.xlsx').stat().st_size / 1e6:6.1f} MB")
            print(f"xlsx / csv = {xlsx_s / csv_s:.2f}")
            if args.keep:
                report_s = timed(lambda: write_report(store, cid, out / "report.html"))
                print(f"report {report_s:5.1f} s  (files kept in {out})")
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
