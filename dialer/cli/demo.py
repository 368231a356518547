"""`dialer demo`: a whole sample campaign on the embedded default — a private redis-server,
the CCC simulator and in-process workers — with nothing installed beyond the package. The
demo builds its own Settings; the process environment is left alone."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib.resources import as_file, files
from pathlib import Path
from types import FrameType

from dialer.ccc.simulator import Simulator, SimulatorConfig
from dialer.ccc.simulator.faults import Span
from dialer.cli.progress import exit_status, print_upload, watch
from dialer.engine import CampaignStore, open_engine
from dialer.engine.embedded import EmbeddedRedis
from dialer.models import CampaignSettings, CampaignStatus, parse_rate
from dialer.results.export import export
from dialer.results.report import write_report
from dialer.settings import Credentials, Settings
from dialer.sheets.upload import upload

DEMO_BROKERS = ("02151234567", "02151234568", "02151234569", "02151234570")
# Package data of the top-level `campaigns` package: found wherever the dialer is installed.
SAMPLE = "sample-pool.csv"
# The demo's agents: rows without a caller go to whichever is free longest.
DEMO_AGENTS = tuple(f"1370000{i:04d}" for i in range(1, 21))


# Runs workers for the settings while the block lasts (tasks.embedded.in_process_workers: the
# Celery layer sits above this library, so the CLI hands it in).
Workers = Callable[[Settings], AbstractContextManager[object]]


def run_demo(
    workers: Workers, output: Path, sheet: Path | None = None, rate: str = "2/s", web: bool = False
) -> int:
    if sheet is None:
        with as_file(files("campaigns").joinpath(SAMPLE)) as sample:
            return run_demo(workers, output, sample, rate, web)
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
    # Calls that take time, a hundred times faster: agents ring 2-8 s and answer 95 % of the
    # time, customers 70 %; they talk 20 s to 2 min.
    sim.faults.update(
        {
            "caller_answer": 0.95,
            "callee_answer": 0.7,
            "ring_s": Span(2, 8),
            "talk_s": Span(20, 120),
            "time_scale": 100,
        }
    )
    # SIGTERM (`kill`, a service manager) ends the demo as Ctrl-C does, by the same path.
    # Whatever way the demo ends, its redis-server goes with it (EmbeddedRedis), and the
    # simulator, workers and console are threads of this process.
    previous = _on_sigterm(_interrupt)
    try:
        server.start()
        sim.start()
        print(
            f"redis-server (private, {data}) at {server.url}, namespace demo; "
            f"CCC simulator at {sim.url} (AccessKey ID demo; its secret is in dialer/cli/demo.py)"
        )
        settings = Settings(
            redis_url=server.url,
            namespace="demo",
            ccc_endpoint=sim.url,
            instance_id="ccc-demo",
            credentials=Credentials("demo", "demo-secret"),
            # A call's record is looked up once the call can have ended (its timeout plus
            # this margin); the simulator has it at once, so the report can show outcomes.
            cdr_margin_s=1.0,
            records_qps=50.0,
            # The scaled calls last a second or two: their records are looked for as often.
            caller_lookup_s=0.3,
            records_poll_s=0.3,
        )
        return _campaign(settings, workers, sheet, output, rate, web)
    except KeyboardInterrupt:
        print("\ndialer demo: interrupted; shutting down", file=sys.stderr)
        return 130
    finally:
        sim.stop()
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
        _on_sigterm(previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _on_sigterm(handler: signal._HANDLER) -> signal._HANDLER:
    """Install `handler` for SIGTERM (only the main thread can); the one it replaces."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _campaign(
    settings: Settings, workers: Workers, sheet: Path, output: Path, rate: str, web: bool
) -> int:
    engine = open_engine(settings)
    store = engine.store
    # The simulator keeps no office hours, so the demo runs whatever the time of day.
    campaign = CampaignSettings(
        name="demo",
        instance_id="ccc-demo",
        pool=DEMO_BROKERS,
        rate_per_s=parse_rate(rate),
        windows=("00:00-24:00",),
        agents=DEMO_AGENTS,
        wrap_up_s=0.5,
        # The contact strategy, on the demo's compressed clock: a customer who did not answer
        # or was busy is tried again 5 s after the call ended, up to 3 calls in all; a pool
        # agent whose phone rang out passes the row to another agent and rests 2 s.
        recycle={"CALLEE_NO_ANSWER": [5.0], "BUSY": [5.0]},
        max_contacts=3,
        agent_miss_wait_s=2.0,
        pair_guard_s=5.0,
    )
    report = upload(store, sheet, campaign)
    print_upload(report, campaign, as_json=False)
    engine.start(report.campaign_id)
    if web:  # a daemon thread: Ctrl-C during the campaign ends it with the demo
        from dialer.web.serve import open_console, wait_until_interrupted

        console = open_console(settings, f"/campaigns/{report.campaign_id}")
    with workers(settings):
        final = watch(engine, report.campaign_id)
        _wait_for_records(store, report.campaign_id)
        # A record that sends a row round again (a recycle, another agent) runs the DONE
        # campaign again: watch it until it is done with every record in.
        while store.campaign(report.campaign_id).status is CampaignStatus.RUNNING:
            final = watch(engine, report.campaign_id)
            _wait_for_records(store, report.campaign_id)
        _print_reach(store, report.campaign_id)
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
            # The workers stay too: a campaign made in the console dials like the demo's.
            wait_until_interrupted(console)
    return exit_status(final)


def _print_reach(store: CampaignStore, cid: str) -> None:
    dialled = reached = calls = 0
    for _record, state, result in store.iter_rows(cid):
        if state.startswith("DISPATCHED"):
            dialled += 1
            reached += result.get("outcome") == "CONNECTED"
            calls += len(result.get("history") or ())
    share = reached / dialled if dialled else 0.0
    print(f"customers reached: {reached} of {dialled} dialled ({share:.1%}), in {calls} calls")


def _wait_for_records(store: CampaignStore, cid: str, timeout_s: float = 60.0) -> None:
    """Wait, a bounded time, until every placed call has its call record (or gave up on it),
    so the report shows how the calls ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        placed = waiting = 0
        for _record, state, result in store.iter_rows(cid):
            if state.startswith("DISPATCHED"):
                placed += 1
                waiting += not (result.get("outcome") or result.get("outcome_note"))
        print(f"\rcall records: {placed - waiting}/{placed}", end="", flush=True)
        if not waiting or time.monotonic() > deadline:
            print()
            return
        time.sleep(1.0)
