"""`dialer export` and `dialer report` mistakes, run as an operator runs them: one short line,
exit status 2, no traceback, and no file left behind (nor an existing one spoiled)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import redis
from support import ALWAYS, cli_env, run_dialer

from dialer.engine import CampaignStore, Keys
from dialer.models import CampaignSettings
from dialer.sheets.upload import upload


@pytest.fixture
def campaign(redis_server, redis_client: redis.Redis, namespace: str, tmp_path):
    """An uploaded campaign (one row carries an emoji, which GBK cannot write) and the
    environment that points the CLI at it."""
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "Caller,Callee,Note\n13800000001,13900000001,张三\n13800000001,13900000002,ok 👍\n",
        encoding="utf-8",
    )
    store = CampaignStore(redis_client, Keys(namespace))
    settings = CampaignSettings("t", "ccc-test", pool=("02151234567",), windows=ALWAYS)
    cid = upload(store, sheet, settings).campaign_id
    env = cli_env(redis_server.url, namespace)
    out = tmp_path / "out"
    out.mkdir()
    return cid, env, out


def dialer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run_dialer(*args, env=env)


def assert_one_line_mistake(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 200, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    for word in words:
        assert word in lines[0], lines[0]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("command", ["export", "report"])
def test_output_into_a_missing_folder_is_one_line(campaign, command) -> None:
    cid, env, out = campaign
    target = out / "nowhere" / ("r.csv" if command == "export" else "r.html")
    done = dialer(env, command, cid, "-o", str(target))
    assert_one_line_mistake(done, str(out / "nowhere"), "does not exist")
    assert files_in(out) == []


@pytest.mark.parametrize("command", ["export", "report"])
def test_unknown_campaign_leaves_no_file(campaign, command) -> None:
    _, env, out = campaign
    target = out / ("r.csv" if command == "export" else "r.html")
    done = dialer(env, command, "nosuchid", "-o", str(target))
    assert_one_line_mistake(done, "nosuchid")
    assert files_in(out) == []


def test_unknown_encoding_names_the_choices(campaign) -> None:
    cid, env, out = campaign
    done = dialer(env, "export", cid, "-o", str(out / "r.csv"), "--encoding", "klingon")
    assert_one_line_mistake(done, "--encoding klingon", "utf-8, gbk or gb18030")
    assert files_in(out) == []


def test_encoding_mistakes_are_found_before_redis_is_asked(campaign) -> None:
    cid, env, out = campaign
    env = {**env, "DIALER_REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens there
    done = dialer(env, "export", cid, "-o", str(out / "r.csv"), "--encoding", "latin1")
    assert_one_line_mistake(done, "--encoding latin1")
    done = dialer(env, "export", cid, "-o", str(out / "r.xlsx"), "--encoding", "gbk")
    assert_one_line_mistake(done, "--encoding", ".csv")


def test_unwritable_text_in_gbk_is_refused_and_the_old_file_kept(campaign) -> None:
    cid, env, out = campaign
    target = out / "r.csv"
    target.write_text("the previous export\n")
    done = dialer(env, "export", cid, "-o", str(target), "--encoding", "gbk")
    assert_one_line_mistake(done, "row 2", "Note", "gbk", "utf-8")
    assert target.read_text() == "the previous export\n"
    assert files_in(out) == ["r.csv"]  # no temporary file left beside it


@pytest.mark.parametrize(
    ("name", "words"),
    [("r.txt", [".csv or .xlsx"]), ("", ["is a folder"])],
)
def test_export_to_a_wrong_name_is_one_line(campaign, name, words) -> None:
    cid, env, out = campaign
    done = dialer(env, "export", cid, "-o", str(out / name) if name else str(out))
    assert_one_line_mistake(done, *words)
    assert files_in(out) == []


def test_report_must_be_html(campaign) -> None:
    cid, env, out = campaign
    done = dialer(env, "report", cid, "-o", str(out / "report.pdf"))
    assert_one_line_mistake(done, ".html")
    assert files_in(out) == []


def test_export_and_report_replace_an_existing_file_whole(campaign) -> None:
    cid, env, out = campaign
    (out / "r.csv").write_text("old")
    (out / "r.html").write_text("old")
    done = dialer(env, "export", cid, "-o", str(out / "r.csv"), "--encoding", "GB18030")
    assert done.returncode == 0, done.stderr
    assert "2 rows written" in done.stdout
    assert "张三" in (out / "r.csv").read_bytes().decode("gb18030")
    assert dialer(env, "report", cid, "-o", str(out / "r.html")).returncode == 0
    assert (out / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert files_in(out) == ["r.csv", "r.html"]
    assert oct((out / "r.csv").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_column_name_gbk_cannot_write_is_named(campaign, redis_client, namespace) -> None:
    _, env, out = campaign
    sheet = out.parent / "h.csv"
    sheet.write_text("Caller,Callee,满意度 👍\n13800000001,13900000001,5\n", encoding="utf-8")
    settings = CampaignSettings("h", "ccc-test", pool=("02151234567",), windows=ALWAYS)
    cid = upload(CampaignStore(redis_client, Keys(namespace)), sheet, settings).campaign_id
    done = dialer(env, "export", cid, "-o", str(out / "r.csv"), "--encoding", "gbk")
    assert_one_line_mistake(done, "满意度 👍", "gbk")
    assert files_in(out) == []
