"""`dialer users` and `dialer audit` in-process on the real Redis, and shell commands landing
in the audit trail as the OS user who ran them."""

from __future__ import annotations

import getpass
import json
import socket
import time

import pytest
from support import NUMBERS

from dialer.accounts.audit import Trail
from dialer.accounts.directory import Directory
from dialer.cli.main import main
from dialer.engine import AccountStore, Keys


@pytest.fixture
def dialer(redis_server, namespace, monkeypatch, capsys):
    monkeypatch.setenv("DIALER_REDIS_URL", redis_server.url)
    monkeypatch.setenv("DIALER_NAMESPACE", namespace)
    monkeypatch.setenv("CCC_INSTANCE_ID", "ccc-test")

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            status = main(list(argv))
        except SystemExit as exc:  # argparse's own refusals
            status = int(exc.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_users_add_list_disable_enable_reset(dialer, redis_client, namespace) -> None:
    status, out, _ = dialer(
        "users", "add", "li-wei", "--role", "operator", "--url", "https://dialer.example.com/"
    )
    assert status == 0
    assert "https://dialer.example.com/login?link=" in out and "li-wei (operator)" in out
    assert dialer("users", "add", "zhao", "--role", "agent", "--phone", "138-0000-0009")[0] == 0
    status, out, _ = dialer("users", "list", "--json")
    listed = {a["name"]: a for a in json.loads(out)}
    assert listed["zhao"]["phone"] == "13800000009" and listed["li-wei"]["disabled"] is False
    assert "li-wei" in dialer("users", "list")[1]

    directory = Directory(AccountStore(redis_client, Keys(namespace)))
    version = directory.get("li-wei").version
    assert dialer("users", "disable", "li-wei")[0] == 0
    assert directory.get("li-wei").disabled and directory.get("li-wei").version > version
    assert dialer("users", "enable", "li-wei")[0] == 0
    assert not directory.get("li-wei").disabled
    status, out, _ = dialer("users", "reset", "li-wei")
    assert status == 0 and "http://127.0.0.1:8000/login?link=" in out

    for argv, says in (
        (("users", "add", "li-wei", "--role", "viewer"), "already an account 'li-wei'"),
        (("users", "add", "Bad Name", "--role", "viewer"), "account name 'Bad Name'"),
        (("users", "add", "web-token", "--role", "viewer"), "account name 'web-token'"),
        (("users", "add", "x", "--role", "viewer", "--phone", "12"), "phone '12'"),
        (("users", "disable", "nobody"), "no account 'nobody'"),
    ):
        status, _, err = dialer(*argv)
        assert status == 2 and err.startswith("dialer: ") and says in err, (argv, err)
        assert "Traceback" not in err
    assert dialer("users", "add", "x", "--role", "boss")[0] == 2


def test_shell_commands_are_in_the_audit_trail_as_the_os_user(dialer, tmp_path) -> None:
    status, out, _ = dialer("upload", "campaigns/sample.csv", "--broker", NUMBERS[0], "--json")
    assert status == 0
    cid = json.loads(out)["id"]
    for verb in ("start", "pause", "resume", "cancel"):
        assert dialer(verb, cid)[0] == 0, verb
    assert dialer("start", cid)[0] == 2  # cancelled: refused by the engine, recorded as failed
    assert dialer("export", cid, "-o", str(tmp_path / "r.csv"), "--masked")[0] == 0
    assert dialer("report", cid, "-o", str(tmp_path / "r.html"))[0] == 0
    assert dialer("users", "add", "guest", "--role", "viewer")[0] == 0
    assert dialer("delete", cid, "--yes")[0] == 0

    status, out, _ = dialer("audit", "--json", "--who", getpass.getuser())
    entries = json.loads(out)
    assert status == 0 and entries
    assert {e["role"] for e in entries} == {"shell"}
    assert {e["address"] for e in entries} == {f"cli@{socket.gethostname()}"}
    seen = [(e["action"], e["target"], e["outcome"]) for e in reversed(entries)]
    assert seen == [
        ("upload", cid, "ok"),
        ("start", cid, "ok"),
        ("pause", cid, "ok"),
        ("resume", cid, "ok"),
        ("cancel", cid, "ok"),
        ("start", cid, "failed"),
        ("export", cid, "ok"),
        ("report", cid, "ok"),
        ("users.add", "guest", "ok"),
        ("delete", cid, "ok"),
    ]
    upload = entries[-1]
    assert upload["detail"]["accepted"] > 0 and upload["detail"]["file"] == "campaigns/sample.csv"
    assert entries[0]["detail"]["rows"] == upload["detail"]["total"]  # delete
    export = next(e for e in entries if e["action"] == "export")
    assert (
        export["detail"]["masked"] is True and export["detail"]["rows"] == upload["detail"]["total"]
    )

    status, out, _ = dialer("audit", "--since", "1h")
    assert status == 0 and "users.add" in out and "guest" in out and "when (UTC)" in out
    status, _, err = dialer("audit", "--since", "last tuesday")
    assert status == 2 and "--since" in err
    assert dialer("audit", "--who", "nobody")[1].strip() == "no audit entries"


def test_the_trail_keeps_entries_for_the_retention_time_only(redis_client, namespace) -> None:
    store = AccountStore(redis_client, Keys(namespace))
    trail = Trail(store, retention_days=0.4 / 86_400)  # 0.4 s
    trail.record("a", "start", target="c1")
    time.sleep(0.6)
    trail.record("b", "pause", target="c1")
    assert [(e.who, e.action) for e in trail.entries()] == [("b", "pause")]
    kept = Trail(store, retention_days=365)
    kept.record("c", "resume")
    assert [e.who for e in kept.entries()] == ["c", "b"]
    assert [e.who for e in kept.entries(who="b")] == ["b"]


def test_a_redial_on_the_shell_is_in_the_audit_trail(
    dialer, make_engine, simulator, tmp_path
) -> None:
    from test_redial import client_for, drive, start

    engine = make_engine(
        depth=20, cdr_margin_s=0.0, reconcile_wait_s=0.0, records_poll_s=0.0, records_max_lag_s=0.0
    )
    simulator.faults.drop_rate = 1.0  # placed, answer lost: UNKNOWN
    cid = start(engine, tmp_path, 2, outcomes=False)
    assert drive(engine, client_for(simulator), cid) == ["UNKNOWN"] * 2
    assert dialer("redial", cid, "--status", "UNKNOWN", "--yes")[0] == 0
    entries = json.loads(dialer("audit", "--json")[1])
    redial = next(e for e in entries if e["action"] == "redial")
    assert redial["target"] == cid and redial["who"] == getpass.getuser()
    assert redial["detail"]["moved"] == 2 and redial["detail"]["rows"] == "UNKNOWN"
