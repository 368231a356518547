"""`dialer call` and `dialer simulator` as a user runs them: the real entry point, in-process
against the simulator in a thread, and once as two processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import run_dialer

from dialer.ccc.simulator import Simulator, SimulatorConfig

DIALER = [sys.executable, "-m", "dialer.cli"]
KEYS = {"cli-id": "cli-secret"}


@pytest.fixture
def cli_simulator(tmp_path) -> Iterator[tuple[str, Path]]:
    """The simulator (in a thread) and its calls log."""
    log = tmp_path / "calls.jsonl"
    config = SimulatorConfig(numbers=("02151234567",), access_keys=KEYS, calls_log=log)
    with Simulator(config) as sim:
        yield sim.url, log


@pytest.fixture
def simulator_process(tmp_path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "calls.jsonl"
    proc = subprocess.Popen(
        [
            *DIALER,
            "simulator",
            "--port",
            "0",
            "--number",
            "02151234567",
            "--access-key-id",
            "cli-id",
            "--access-key-secret",
            "cli-secret",
            "--calls-log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    url = re.search(r"http://\S+", line).group(0)
    yield url, log
    proc.terminate()
    proc.wait(timeout=10)


def call_env(url: str, secret: str = "cli-secret") -> dict[str, str]:
    return {
        **os.environ,
        "CCC_ENDPOINT": url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "cli-id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
        "CCC_INSTANCE_ID": "ccc-test",
    }


def run_call(url: str, *args: str, secret: str = "cli-secret") -> subprocess.CompletedProcess:
    return run_dialer("call", *args, env=call_env(url, secret))


def test_dialer_call_as_a_process_prints_job_id_and_the_simulator_process_logs_it(
    simulator_process,
) -> None:
    url, log = simulator_process
    done = subprocess.run(
        [*DIALER, "call", "13800000000", "13900000000", "--broker", "02151234567"],
        env=call_env(url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    assert re.fullmatch(r"job-\d+", job_id)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["callee"], e["job_id"]) for e in entries] == [("13900000000", job_id)]


def test_dialer_call_json(cli_simulator) -> None:
    url, _ = cli_simulator
    done = run_call(url, "13800000000", "13900000000", "--broker", "02151234567", "--json")
    body = json.loads(done.stdout)
    assert body["ok"] is True and body["job_id"].startswith("job-")


def test_dialer_call_error_exits_non_zero_with_code(cli_simulator) -> None:
    url, log = cli_simulator
    done = run_call(url, "13800000000", "13900000000", "--broker", "01000000000")
    assert done.returncode == 1
    assert "NotExists.Number" in done.stderr
    assert "Traceback" not in done.stderr
    assert not log.exists() or log.read_text() == ""


def test_dialer_call_wrong_secret_is_reported_without_the_secret(cli_simulator) -> None:
    url, _ = cli_simulator
    done = run_call(url, "13800000000", "13900000000", "--broker", "02151234567", secret="s3cr3t-x")
    assert done.returncode == 1
    assert "SignatureDoesNotMatch" in done.stderr
    assert "s3cr3t-x" not in done.stderr + done.stdout


def test_dialer_call_without_credentials_is_a_clear_error(cli_simulator) -> None:
    url, _ = cli_simulator
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD")}
    env["CCC_ENDPOINT"] = url
    done = run_dialer("call", "1", "2", "--broker", "3", "--instance-id", "i", env=env)
    assert done.returncode == 2
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in done.stderr
    assert "Traceback" not in done.stderr


def test_dialer_call_normalises_full_width_numbers(cli_simulator) -> None:
    url, log = cli_simulator
    done = run_call(
        url, "１３８ ０００００ ０００", "+86 139-0000-0000", "--broker", "０２１５１２３４５６７"
    )
    assert done.returncode == 0, done.stderr
    [entry] = [json.loads(line) for line in log.read_text().splitlines()]
    assert (entry["caller"], entry["callee"]) == ("13800000000", "13900000000")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["1３8000000٠0", "13900000000", "--broker", "02151234567"], "CALLER"),
        (["13800000000", "abc", "--broker", "02151234567"], "CALLEE"),
        (["13800000000", "13900000000", "--broker", "abc"], "--broker"),
        (
            ["13800000000", "13900000000", "--broker", "02151234567", "--timeout-seconds", "601"],
            "--timeout-seconds",
        ),
    ],
)
def test_dialer_call_refuses_a_bad_value_before_dialling(cli_simulator, args, named) -> None:
    url, log = cli_simulator
    done = run_call(url, *args)
    assert done.returncode == 2
    assert named in done.stderr and len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert not log.exists() or log.read_text() == ""
