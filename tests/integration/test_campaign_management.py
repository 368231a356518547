"""`dialer list`, `dialer rows` and `dialer delete` run as an operator runs them (the real
entry point in-process, as a process where a pipe matters; a real Redis), and retention:
finished campaigns removed after N days."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis
from support import NUMBERS, cli_env, new_campaign, run_dialer, write_sheet

from dialer.campaign.manage import expire_campaigns, list_campaigns
from dialer.engine import Engine
from dialer.worker.feeder import Feeder

DAY_MS = 86_400_000


@pytest.fixture
def dialer(redis_server, namespace):
    env = cli_env(redis_server.url, namespace)

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return run_dialer(*args, env=env, stdin=stdin)

    return run


def one_line(done: subprocess.CompletedProcess, status: int = 2) -> str:
    assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300, done.stderr
    return lines[0]


def keys_of(client: redis.Redis, namespace: str, cid: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{namespace}:c:{cid}:*"))


@pytest.fixture
def three(engine: Engine, tmp_path):
    """A READY, a RUNNING and a CANCELLED campaign (uploaded in that order)."""
    sheet = tmp_path / "clients.csv"
    sheet.write_text(
        "Caller,Callee,Name\n13800000001,13900000001,张三\n13800000001,12345,坏行\n"
        "13800000001,13900000002,李四\n",
        encoding="utf-8",
    )
    ready = new_campaign(
        engine, sheet, start=False, name="ready one", pool=NUMBERS[:1], timezone="America/New_York"
    )
    running = new_campaign(engine, sheet, name="running one", pool=NUMBERS[:1])
    cancelled = new_campaign(engine, sheet, name="cancelled one", pool=NUMBERS[:1])
    engine.cancel(cancelled)
    return ready, running, cancelled


# --- list ----------------------------------------------------------------------------------


def test_list_shows_every_campaign_newest_first_with_progress_zone_and_file(dialer, three):
    ready, running, cancelled = three
    done = dialer("list")
    assert done.returncode == 0 and done.stderr == ""
    header, *lines = done.stdout.splitlines()
    assert header.split() == ["id", "name", "status", "progress", "created", "file"]
    assert [line.split()[0] for line in lines] == [cancelled, running, ready]
    assert "CANCELLED" in lines[0] and "3/3 100%" in lines[0]
    assert "RUNNING" in lines[1] and "1/3 33%" in lines[1]
    assert "America/New_York" in lines[2] and "Asia/Shanghai" in lines[1]
    assert all(line.endswith("clients.csv") for line in lines)


def test_list_filters_by_status_and_speaks_json(dialer, three):
    ready, _running, cancelled = three
    done = dialer("list", "--status", "ready", "--status", "Cancelled", "--json")
    listed = json.loads(done.stdout)
    assert [c["id"] for c in listed] == [cancelled, ready]
    assert listed[1]["created"].endswith("America/New_York")
    assert {"name", "file", "total", "done", "created_at"} <= set(listed[0])
    assert dialer("list", "--status", "DONE").stdout == "no DONE campaigns\n"


def test_list_and_the_web_console_list_the_same(engine, three):
    from dialer.settings import Settings
    from dialer.web.backend import Backend

    backend = Backend(Settings())
    backend._store = engine.store  # the console's store, on this test's Redis and namespace
    assert backend.campaigns() == [c.as_dict() for c in list_campaigns(engine)]


def test_list_refuses_an_unknown_status_in_one_line(dialer):
    line = one_line(dialer("list", "--status", "FINISHED"))
    assert "--status" in line and "READY, RUNNING, PAUSED, CANCELLED, DONE" in line
    assert "'FINISHED'" in line


# --- rows ----------------------------------------------------------------------------------


def test_rows_shows_the_matching_rows_with_their_reasons(dialer, three):
    ready, _running, _cancelled = three
    done = dialer("rows", ready, "--status", "REJECTED")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split()[:3] == ["row", "state", "caller"] and header.endswith("reason")
    assert len(lines) == 1 and lines[0].split()[:2] == ["2", "REJECTED"]
    assert "Sheet.InvalidNumber" in lines[0] and "not a valid phone number" in lines[0]


def test_rows_filters_by_code_pattern_and_state_and_masks(dialer, three):
    _ready, _running, cancelled = three
    rows = json.loads(dialer("rows", cancelled, "--code", "sheet.*", "--json").stdout)
    assert [(r["row"], r["state"], r["code"]) for r in rows] == [
        (2, "REJECTED", "Sheet.InvalidNumber")
    ]
    rows = json.loads(
        dialer("rows", cancelled, "--status", "cancelled", "--json", "--masked").stdout
    )
    assert [(r["row"], r["callee"], r["passthrough"]) for r in rows] == [
        (1, "1390000****", {"Name": "张三"}),
        (3, "1390000****", {"Name": "李四"}),
    ]


def test_rows_limit_says_when_more_rows_match(dialer, three):
    _ready, _running, cancelled = three
    done = dialer("rows", cancelled, "--limit", "1")
    assert len(done.stdout.splitlines()) == 2  # header and one row
    assert done.stderr == "dialer: the first 1 matching rows; --limit 0 shows every one\n"
    assert dialer("rows", cancelled, "--status", "FAILED").stdout == "no matching rows\n"


def test_rows_mistakes_are_one_line(dialer, three):
    ready = three[0]
    line = one_line(dialer("rows", ready, "--status", "LOST"))
    assert "--status" in line and "PENDING" in line and "'LOST'" in line
    assert "no campaign 'nosuchid'" in one_line(dialer("rows", "nosuchid"))
    assert "--limit" in one_line(dialer("rows", ready, "--limit", "-1"))


def test_rows_and_the_web_console_agree(engine, three):
    from dialer.settings import Settings
    from dialer.web.backend import Backend
    from dialer.web.errors import BadRequest

    _ready, _running, cancelled = three
    backend = Backend(Settings())
    backend._store = engine.store
    web = backend.rows(cancelled, ["REJECTED", "CANCELLED"])
    assert [(r["row"], r["state"], r["error_code"]) for r in web] == [
        (1, "CANCELLED", ""),
        (2, "REJECTED", "Sheet.InvalidNumber"),
        (3, "CANCELLED", ""),
    ]
    with pytest.raises(BadRequest, match="NONSENSE"):  # refused, as `dialer rows --state` does
        backend.rows(cancelled, ["NONSENSE"])


# --- delete --------------------------------------------------------------------------------


def test_delete_removes_every_key_of_a_cancelled_campaign(dialer, three, redis_client, namespace):
    _ready, running, cancelled = three
    assert keys_of(redis_client, namespace, cancelled)
    done = dialer("delete", cancelled, "--yes")
    assert (done.returncode, done.stdout) == (0, f"campaign {cancelled} deleted\n")
    assert keys_of(redis_client, namespace, cancelled) == []
    ids = [c.decode() for c in redis_client.zrange(f"{namespace}:campaigns", 0, -1)]
    assert cancelled not in ids and running in ids
    assert "no campaign" in one_line(dialer("status", cancelled))


def test_delete_asks_first_and_keeps_the_campaign_unless_told_yes(
    dialer, three, redis_client, namespace
) -> None:
    ready = three[0]
    refused = dialer("delete", ready, stdin="n\n")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"delete campaign {ready} (ready one, READY, 3 rows")
    assert refused.stderr.endswith("dialer: not deleted (--yes deletes without asking)\n")
    assert dialer("delete", ready, stdin="").returncode == 1  # no answer is no
    assert keys_of(redis_client, namespace, ready)
    assert dialer("delete", ready, stdin="y\n").returncode == 0
    assert keys_of(redis_client, namespace, ready) == []


@pytest.mark.parametrize("pause", [False, True])
def test_delete_refuses_a_running_or_paused_campaign_in_one_line(
    dialer, three, engine, redis_client, namespace, pause
) -> None:
    running = three[1]
    if pause:
        engine.pause(running)
    line = one_line(dialer("delete", running, "--yes"))
    status = "PAUSED" if pause else "RUNNING"
    assert line == (
        f"dialer: campaign {running} is {status}: only a READY, DONE or CANCELLED campaign can "
        f"be deleted (cancel it first: dialer cancel {running})"
    )
    assert keys_of(redis_client, namespace, running)


def test_a_campaign_started_after_the_check_is_still_not_deleted(
    engine, three, redis_client, namespace
):
    from dialer.campaign.manage import delete_campaign
    from dialer.errors import WrongStatus

    ready = three[0]
    engine.store.campaign(ready)  # what `dialer delete` checked, before someone started it
    engine.start(ready)
    with pytest.raises(WrongStatus, match="is RUNNING"):
        delete_campaign(engine, ready)  # the deletion itself checks again, atomically
    assert keys_of(redis_client, namespace, ready)


def test_delete_of_an_unknown_campaign_is_one_line(dialer):
    assert one_line(dialer("delete", "nosuchid", "--yes")) == "dialer: no campaign 'nosuchid'"


def test_delete_waits_for_calls_under_way(engine: Engine, tmp_path, redis_client, namespace):
    from support import feed_now

    from dialer.campaign.manage import delete_campaign
    from dialer.engine import Caps
    from dialer.errors import WrongStatus

    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 2), pool=NUMBERS[:1])
    job = feed_now(engine, cid)[0]
    caps = Caps("20260101", "202601", 0, 0, 0, 0, 0.0)
    engine.begin_dial(job, caps, interval_ms=0)  # the request is leaving now
    engine.cancel(cid)
    with pytest.raises(WrongStatus, match="still has 1 call"):
        delete_campaign(engine, cid)
    assert keys_of(redis_client, namespace, cid)


def test_a_call_record_arriving_after_delete_leaves_no_key(
    engine, tmp_path, redis_client, namespace
):
    from dialer.campaign.manage import delete_campaign

    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 1), start=False, pool=NUMBERS[:1])
    delete_campaign(engine, cid)
    engine.patch_result(cid, 1, {"outcome": "CONNECTED"})  # a poller that was mid-lookup
    assert keys_of(redis_client, namespace, cid) == []


# --- retention -----------------------------------------------------------------------------


def test_retention_deletes_only_finished_campaigns_older_than_the_period(
    engine: Engine, three, redis_client, namespace
) -> None:
    ready, running, cancelled = three
    now = engine.now_ms()
    assert expire_campaigns(engine, 2, now + 1 * DAY_MS) == []  # finished a day ago: kept
    assert expire_campaigns(engine, 2, now + 3 * DAY_MS) == [cancelled]
    assert keys_of(redis_client, namespace, cancelled) == []
    assert {c.id for c in list_campaigns(engine)} == {ready, running}  # never finished: kept


def test_one_feeder_sweeps_per_period_however_many_workers_run(
    engine: Engine, three, redis_client
) -> None:
    ready, _running, cancelled = three
    later = (engine.now_ms() + 3 * DAY_MS) / 1000
    first, second, third = (
        Feeder(engine, lambda jobs: None, clock=lambda: later, retention_days=2) for _ in "123"
    )
    first.refresh()  # the leader's periodic refresh sweeps
    assert cancelled not in {c.id for c in list_campaigns(engine)}
    engine.cancel(ready)  # finished now, but three days ago on the injected clock
    assert second.sweep() == []  # this period's sweep is taken
    redis_client.delete(engine.keys.retention_sweep())  # the period ends
    assert third.sweep() == [ready]


def test_retention_off_keeps_everything(engine: Engine, three) -> None:
    later = (engine.now_ms() + 400 * DAY_MS) / 1000
    feeder = Feeder(engine, lambda jobs: None, clock=lambda: later)
    feeder.refresh()
    assert len(list_campaigns(engine)) == 3


def test_retention_setting_is_read_from_the_environment() -> None:
    from dialer.errors import ConfigError
    from dialer.settings import Settings

    assert Settings.from_env({}).retention_days is None
    assert Settings.from_env({"DIALER_RETENTION_DAYS": "0"}).retention_days is None
    assert Settings.from_env({"DIALER_RETENTION_DAYS": "30"}).retention_days == 30.0
    with pytest.raises(ConfigError, match="DIALER_RETENTION_DAYS"):
        Settings.from_env({"DIALER_RETENTION_DAYS": "a month"})


# --- mistakes and pipes --------------------------------------------------------------------


@pytest.mark.parametrize("command", [["list"], ["rows", "abc123"], ["delete", "abc123", "--yes"]])
def test_unreachable_redis_is_one_line_for_the_new_commands(command) -> None:
    from dialer.engine.embedded import free_port

    target = f"redis://127.0.0.1:{free_port()}/0"
    done = run_dialer(*command, env=cli_env(target, "dialer"))
    assert f"cannot reach Redis at {target}" in one_line(done, 1)


def test_rows_piped_into_head_ends_quietly(engine: Engine, tmp_path, redis_server, namespace):
    cid = new_campaign(
        engine, write_sheet(tmp_path / "s.csv", 20_000), start=False, pool=NUMBERS[:1]
    )
    env = cli_env(redis_server.url, namespace)
    # A process: the pipe closed under it is what is tested.
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "rows", cid, "--limit", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"row ")
    proc.stdout.close()  # as `| head -1` does
    assert proc.wait(timeout=60) == 1
    assert proc.stderr is not None and proc.stderr.read() == b""
