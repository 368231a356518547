"""`dialer demo`: a whole sample campaign on the embedded default — a private redis-server,
the CCC simulator and in-process workers — with nothing installed beyond the package.

The Celery layer (`tasks`) reads its settings when first imported, so it is imported only
after the demo's environment is in place."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

DEMO_BROKERS = ("02151234567", "02151234568", "02151234569", "02151234570")
SAMPLE = Path(__file__).resolve().parent.parent / "campaigns" / "sample.csv"


def run_demo(output: Path, sheet: Path | None = None, rate: str = "2/s", web: bool = False) -> int:
    # Imports that read settings wait until the environment below is in place.
    from dialer.ccc.simulator import Simulator, SimulatorConfig
    from dialer.embedded_redis import EmbeddedRedis

    sheet = sheet or SAMPLE
    if not sheet.exists():
        print(f"dialer demo: sample sheet {sheet} not found; pass --sheet", file=sys.stderr)
        return 2
    output.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="dialer-demo-"))
    server = EmbeddedRedis(data / "redis")
    config = SimulatorConfig(
        instance_ids=("ccc-demo",),
        numbers=DEMO_BROKERS,
        seed=2026,
        calls_log=output / "calls.jsonl",
        access_keys={"demo": "demo-secret"},
    )
    (output / "calls.jsonl").unlink(missing_ok=True)
    sim = Simulator(config)
    sim.faults.latency_ms = 50
    sim.faults.fail_rate = 0.05  # a few CTI errors, so retries show in the results
    try:
        server.start()
        sim.start()
        print(f"redis-server (private, {data}) at {server.url}; CCC simulator at {sim.url}")
        os.environ.update(
            DIALER_REDIS_URL=server.url,
            DIALER_NAMESPACE="demo",
            CCC_ENDPOINT=sim.url,
            CCC_INSTANCE_ID="ccc-demo",
            ALIBABA_CLOUD_ACCESS_KEY_ID="demo",
            ALIBABA_CLOUD_ACCESS_KEY_SECRET="demo-secret",
        )
        return _campaign(sheet, output, rate, web)
    except KeyboardInterrupt:
        print("\ndialer demo: interrupted; shutting down", file=sys.stderr)
        return 130
    finally:
        sim.stop()
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def _campaign(sheet: Path, output: Path, rate: str, web: bool) -> int:
    from dialer.cli_campaign import print_upload, watch
    from dialer.engine import Engine
    from dialer.export import export
    from dialer.models import CampaignSettings, CampaignStatus, parse_rate
    from dialer.report import write_report
    from dialer.runtime import open_store
    from dialer.settings import Settings
    from dialer.upload import upload
    from tasks.embedded import in_process_workers

    settings = Settings.from_env()
    store = open_store(settings)
    # The simulator keeps no office hours, so the demo runs whatever the time of day.
    campaign = CampaignSettings(
        name="demo",
        instance_id="ccc-demo",
        pool=DEMO_BROKERS,
        rate_per_s=parse_rate(rate),
        windows=("00:00-24:00",),
    )
    report = upload(store, sheet, campaign)
    print_upload(report, campaign, as_json=False)
    engine = Engine(store, settings.timing())
    engine.start(report.campaign_id)
    if web:  # a daemon thread: Ctrl-C during the campaign ends it with the demo
        from dialer.web.serve import open_console, wait_until_interrupted

        console = open_console(settings, f"/campaigns/{report.campaign_id}")
    with in_process_workers(concurrency=16):
        final = watch(engine, report.campaign_id, settings)
    files = {
        "results.csv": lambda p: export(store, report.campaign_id, p),
        "results.xlsx": lambda p: export(store, report.campaign_id, p),
        "report.html": lambda p: write_report(store, report.campaign_id, p),
    }
    for name, write in files.items():
        write(output / name)
    print("demo output:")
    for name in files:
        print(f"  {(output / name).resolve()}")
    if web:
        wait_until_interrupted(console)
    return 0 if final.status is CampaignStatus.DONE else 1
