"""`dialer demo --web`: the demo campaign with the console open on it until Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_demo_web_opens_the_console_on_the_campaign_until_ctrl_c(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_", "ALIBABA"))}
    env["HOME"] = str(tmp_path / "home")
    # The sample's first 30 rows: what is checked here is the console and the shutdown, and
    # the whole sample's run is tests/integration/test_packaging.py's.
    sample = (ROOT / "campaigns" / "sample-pool.csv").read_bytes().splitlines(keepends=True)
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(b"".join(sample[:31]))
    # Both outputs are drained all along: a child writing to a pipe nobody reads blocks once
    # the pipe's 64 KiB are full, and then it cannot finish anything, its shutdown included.
    err = open(tmp_path / "stderr.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dialer.cli",
            "demo",
            "--web",
            "--sheet",
            str(sheet),
            "--rate",
            "20/s",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        seen = []
        link = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            seen.append(line)
            if m := re.match(r"web console: (\S+)", line):
                link = m[1]
            if line.startswith("the console stays open"):
                break
        assert link, "".join(seen)
        [server] = [p for p in psutil.Process(proc.pid).children() if p.name() == "redis-server"]
        browser = requests.Session()
        page = browser.get(link, timeout=10)
        assert re.search(r"/campaigns/[0-9a-f]{12}$", page.url)
        assert "<h1>demo" in page.text
        cid = page.url.rsplit("/", 1)[1]
        status = browser.get(page.url.replace("/campaigns/", "/api/campaigns/"), timeout=10)
        assert status.json()["status"] == "DONE" and status.json()["id"] == cid
        assert proc.poll() is None  # still open after the campaign
        # The workers stay with the console: a campaign made there dials too.
        token = {"Authorization": "Bearer " + re.search(r"token=([^&]+)", link)[1]}
        api = page.url.split("/campaigns/")[0] + "/api/campaigns"
        made = requests.post(
            api,
            headers=token,
            timeout=10,
            files={"file": ("more.csv", "Callee\n13912345678\n")},
            data={
                "broker": "02151234567",
                "instance_id": "ccc-demo",
                "window": "00:00-24:00",
                "caller": "13700000001",
                "wrap_up_s": "0",
            },
        )
        assert made.status_code == 201, made.text
        more = made.json()["id"]
        assert requests.post(f"{api}/{more}/start", headers=token, timeout=10).ok
        deadline = time.monotonic() + 60
        while requests.get(f"{api}/{more}", headers=token, timeout=10).json()["status"] != "DONE":
            assert time.monotonic() < deadline, "the console's campaign never finished"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE
    finally:
        if proc.poll() is None:
            proc.kill()
    err.seek(0)
    assert "Traceback" not in err.read()
