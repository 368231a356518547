"""Every operator mistake is one short line on stderr naming what is wrong, exit status 2 for
the operator's input and 1 for a failure at run time, never a traceback (unless -v asks for
it), and nothing left behind. The real entry point (in-process; the worker as a process), a
real Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from openpyxl import Workbook
from support import cli_env, run_dialer

from dialer.engine.embedded import free_port

SAMPLE = str(Path(__file__).resolve().parents[2] / "campaigns" / "sample.csv")
UPLOAD = ["upload", SAMPLE, "--broker", "02151234567", "--instance-id", "ccc-test"]


def dialer(*args: str, redis_url: str, namespace: str = "dialer"):
    return run_dialer(*args, env=cli_env(redis_url, namespace))


def one_line(done: subprocess.CompletedProcess, status: int) -> str:
    """The single stderr line of a command that failed with `status`."""
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert len(lines[0]) < 300, lines[0]
    return lines[0]


@pytest.fixture
def url(redis_server) -> str:
    return redis_server.url


def stored_nothing(url: str, namespace: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return list(client.scan_iter(match=f"{namespace}:*")) == []
    finally:
        client.close()


def unused_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


# --- Redis --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [UPLOAD, ["status", "abc123"], ["start", "abc123"]])
def test_redis_unreachable_is_a_runtime_failure_on_one_line(command) -> None:
    target = unused_redis_url()
    line = one_line(dialer(*command, redis_url=target), 1)
    assert f"cannot reach Redis at {target}" in line


def test_redis_password_is_not_shown() -> None:
    done = dialer("status", "abc123", redis_url=f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0")
    line = one_line(done, 1)
    assert "s3cret-pw" not in line and "***" in line


@pytest.mark.parametrize("value", ["garbage", "amqp://guest@localhost//", "http://x:6379"])
def test_cli_refuses_a_broker_url_that_is_not_redis(value) -> None:
    line = one_line(dialer(*UPLOAD, redis_url=value), 2)
    assert "DIALER_REDIS_URL must look like redis://" in line


def test_worker_refuses_a_broker_url_that_is_not_redis_instead_of_trying_amqp(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_"))}
    env["DIALER_REDIS_URL"] = "garbage"
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool", "threads"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "DIALER_REDIS_URL must look like redis://" in output
    assert "amqp" not in output and "Traceback" not in output


def test_verbose_shows_the_traceback_before_the_line() -> None:
    for args in (["-v", *UPLOAD], [*UPLOAD, "-v"]):
        done = dialer(*args, redis_url=unused_redis_url())
        assert done.returncode == 1
        assert "Traceback" in done.stderr
        assert done.stderr.splitlines()[-1].startswith("dialer: cannot reach Redis")


def test_unknown_campaign_is_one_line(url, namespace) -> None:
    line = one_line(dialer("status", "nosuchid", redis_url=url, namespace=namespace), 2)
    assert "nosuchid" in line


# --- options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout-seconds", "100000"),
        ("--timeout-seconds", "0"),
        ("--timeout-seconds", "abc"),
        ("--callee-daily-cap", "-1"),
        ("--callee-monthly-cap", "-5"),
        ("--broker-daily-cap", "-1"),
        ("--rate", "1e9/s"),
        ("--rate", "1000000000/s"),
        ("--rate", "0/s"),
        ("--rate", "fast"),
        ("--broker", "abc"),
        ("--broker", "12"),
        ("--broker", "O21-5123-4567"),  # a letter O typed for the zero
        ("--additional-broker", "021-5123-456７x"),
        ("--broker", "０２１５１２３４５6٧"),
        ("--additional-broker", "abc"),
        ("--broker-rate", "02151234567"),
        ("--broker-rate", "abc=2/s"),  # the message quotes the part that is wrong
        ("--broker-rate", "02151234567=5000/s"),
        ("--max-attempts", "0"),
        ("--pair-guard-s", "nan"),
        ("--pair-guard-s", "-1"),
        ("--window", "25:00-26:00"),
        ("--timezone", "Mars/Olympus"),
    ],
)
def test_bad_option_value_is_refused_naming_the_option(url, namespace, option, value) -> None:
    done = dialer(*UPLOAD, f"{option}={value}", redis_url=url, namespace=namespace)
    line = one_line(done, 2)
    assert f"argument {option}" in line
    assert any(repr(part) in line for part in (value, *value.split("=")))
    assert stored_nothing(url, namespace)


def test_run_refuses_a_negative_worker_count(url, namespace) -> None:
    done = dialer("run", *UPLOAD[1:], "--workers", "-1", redis_url=url, namespace=namespace)
    assert "argument --workers" in one_line(done, 2)


def test_unknown_command_and_missing_argument_are_one_line(url) -> None:
    assert "invalid choice" in one_line(dialer("frobnicate", redis_url=url), 2)
    assert "required: sheet" in one_line(dialer("upload", redis_url=url), 2)


@pytest.mark.parametrize("encoding", ["klingon", "latin1", "ascii", "cp1252"])
def test_export_encoding_outside_the_known_list_is_refused_and_writes_nothing(
    url, tmp_path, encoding
) -> None:
    out = tmp_path / "results.csv"
    done = dialer("export", "abc123", "-o", str(out), "--encoding", encoding, redis_url=url)
    line = one_line(done, 2)
    assert f"--encoding {encoding}" in line and "utf-8, gbk or gb18030" in line
    assert not out.exists()


def test_brokers_are_normalised_like_sheet_numbers(url, namespace, tmp_path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("Caller,Callee\n13800000001,13900000001\n13800000001,13900000002\n")
    done = dialer(
        "upload",
        str(sheet),
        "--instance-id",
        "ccc-test",
        "--json",
        "--broker",
        "０２１ ５１２３ ４５６７",
        "--broker",
        "+86 21 5123-4567",
        "--broker-rate",
        "０２１５１２３４５６７=2/s",
        redis_url=url,
        namespace=namespace,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["brokers"] == {"02151234567": {"rows": 2, "rate_per_s": 2.0}}


# --- sheets -------------------------------------------------------------------------------


def xlsx(path: Path, *rows: list) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_xlsx_saved_with_a_csv_name_uploads(url, namespace, tmp_path) -> None:
    path = xlsx(tmp_path / "list.csv", ["Caller", "Callee"], [13800000001, 13900000001])
    done = dialer("upload", str(path), *UPLOAD[2:], "--json", redis_url=url, namespace=namespace)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == 1


def test_xlsx_with_two_note_columns_uploads(url, namespace, tmp_path) -> None:
    path = xlsx(
        tmp_path / "notes.xlsx",
        ["Caller", "Callee", "Note", "Note"],
        [13800000001, 13900000001, "a", "b"],
    )
    done = dialer("upload", str(path), *UPLOAD[2:], "--json", redis_url=url, namespace=namespace)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == 1


def test_csv_with_two_callee_columns_is_refused_naming_them(url, namespace, tmp_path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("Caller,Callee,Callee\n13800000001,13900000001,13900000002\n")
    done = dialer("upload", str(path), *UPLOAD[2:], redis_url=url, namespace=namespace)
    line = one_line(done, 2)
    assert "'Callee' (column 2) and 'Callee' (column 3) both hold the callee" in line
    assert stored_nothing(url, namespace)


def test_a_megabyte_of_garbage_is_one_short_line(url, namespace, tmp_path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(32, 127)) * 11_000)
    done = dialer("upload", str(path), *UPLOAD[2:], redis_url=url, namespace=namespace)
    assert str(path) in one_line(done, 2)
    assert stored_nothing(url, namespace)


def test_missing_sheet_and_missing_dnc_file_are_one_line(url, namespace, tmp_path) -> None:
    missing = tmp_path / "nope.csv"
    done = dialer("upload", str(missing), *UPLOAD[2:], redis_url=url, namespace=namespace)
    assert "No such file" in one_line(done, 2)
    done = dialer(*UPLOAD, "--dnc", str(missing), redis_url=url, namespace=namespace)
    assert "do-not-call" in one_line(done, 2)
    assert stored_nothing(url, namespace)
