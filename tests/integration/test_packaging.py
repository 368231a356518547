"""`pip install .` in a fresh venv, then `dialer demo` from an empty folder, as a newcomer runs
it: the sample sheets ship as package data, nothing reads the checkout, no DIALER_REDIS_URL
and nothing running; the demo leaves its three files and shuts everything down. (Its
shutdown on SIGTERM and SIGKILL: tests/integration/test_demo.py.)

The wheel is built from a copy of the project (a stale `build/` in the checkout could lend it
files that no longer exist) and installed with `--no-deps` into a new venv. Downloading every
dependency again would take minutes and the network, so after the install one `.pth` line lets
the new venv see the test venv's site-packages for the dependencies; that directory is appended
to sys.path after the venv's own and its `.pth` files are not run, so the editable install of
this checkout stays invisible. The test checks that `dialer`, `tasks` and `campaigns` import from
the new venv before it runs the installed `dialer demo`."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from support import calls_log

from dialer.ccc.simulator.calls import caller_overlaps

ROOT = Path(__file__).resolve().parents[2]
SHEETS = sorted(p.name for p in (ROOT / "campaigns").iterdir() if p.suffix in (".csv", ".xlsx"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "b2b-dialer"
    junk = (".git", "build", "dist", "*.egg-info", "__pycache__", ".*cache", "venv", ".venv")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*junk, "demo-output"))
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (found,) = out.glob("b2b_dialer-*.whl")
    return found


def test_the_wheel_holds_the_sample_sheets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"sample-pool.csv", "sample.csv", "sample.xlsx"} <= set(SHEETS)
    assert {f"campaigns/{name}" for name in SHEETS} | {"campaigns/__init__.py"} <= names
    assert "dialer/cli/demo.py" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


@pytest.mark.timeout(400)
def test_installed_wheel_runs_the_demo_from_an_empty_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    done = subprocess.run([*install, str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "test-venv-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DIALER_", "CCC_", "ALIBABA", "PYTHON", "VIRTUAL_ENV"))
    }
    env["HOME"] = str(tmp_path / "home")  # nothing of the user's is touched or reused
    # The demo's private redis-server keeps its files under here (tempfile), so this test
    # can tell its own server from any other demo's on the machine.
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import campaigns, dialer, tasks\n"
            "for m in (campaigns, dialer, tasks): print(m.__file__)",
        ],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr[-2000:]
    files = where.stdout.split()
    assert len(files) == 3 and all(Path(f).is_relative_to(site) for f in files), files

    # The demo as shipped, with its own sheet; a faster rate (2/s by default) only shortens
    # the wait.
    demo = subprocess.run(
        [str(venv / "bin" / "dialer"), "demo", "--rate", "20/s"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    out = empty / "demo-output"
    for name in ("results.csv", "results.xlsx", "report.html"):
        assert (out / name).stat().st_size > 0, name
        assert str((out / name).resolve()) in demo.stdout
    with open(out / "results.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    # sample-pool.csv: 300 rows, 7 of them bad on purpose.
    assert len(rows) == 300
    assert {r["status"] for r in rows} <= {"DISPATCHED", "FAILED", "REJECTED"}
    assert sum(r["status"] == "REJECTED" for r in rows) == 7
    # Agents are paced: 20 of them share the rows, and none is rung mid-call.
    calls = calls_log(out / "calls.jsonl")
    assert caller_overlaps(calls) == [] and not any(c["caller_busy"] for c in calls)
    called = {c["caller"] for c in calls}
    assert len(called) == 20
    # Every row ends with an agent who was called; not every agent called ends a row (two
    # rings in a row unanswered put an agent on a break, System.MissedRings, and their rows
    # go to others).
    assert {r["caller"] for r in rows if r["status"] == "DISPATCHED"} <= called
    # The demo waits for its call records, so every placed call has an outcome and the
    # report shows them.
    placed = [r for r in rows if r["status"] == "DISPATCHED"]
    assert placed and all(r["outcome"] for r in placed)
    assert {"CONNECTED", "CALLEE_NO_ANSWER"} <= {r["outcome"] for r in placed}
    # The demo's contact strategy tries customers again: more are reached than the 68.6 %
    # one pass reached (#21), and some rows took more than one call.
    reach = re.search(r"customers reached: (\d+) of (\d+) dialled", demo.stdout)
    assert reach and int(reach[1]) / int(reach[2]) > 0.8, demo.stdout[-500:]
    assert any(int(r["contacts"]) > 1 for r in placed)
    assert sum(r["outcome"] == "CONNECTED" for r in placed) == int(reach[1])
    page = (out / "report.html").read_text(encoding="utf-8")
    outcomes = page[page.index('<table id="outcomes">') :]
    assert "CONNECTED" in outcomes[: outcomes.index("</table>")]
    assert "Traceback" not in demo.stderr
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "tmp")], capture_output=True)
    assert leftover.stdout == b""
    # The demo never falls back to the shared embedded Redis (a daemon that would outlive it).
    assert not (tmp_path / "home" / ".local" / "share" / "b2b-dialer").exists()
