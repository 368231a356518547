"""The do-not-call list (`dialer dnc`): one list for every campaign, checked as each call
begins — a number added while a campaign runs is never rung after that. Real Redis, the CLI's
entry point in-process, real `celery worker` processes and the simulator."""

from __future__ import annotations

import json

import pytest
from support import NUMBERS, calls_log, engine_env, new_campaign, wait_until

from dialer.ccc.simulator.faults import Span
from dialer.cli.main import main
from dialer.engine.dnc import DoNotCall
from dialer.models import CampaignStatus


@pytest.fixture
def cli_env(monkeypatch, redis_server, namespace) -> None:
    for name in ("DIALER_REDIS_URL", "DIALER_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIALER_REDIS_URL", redis_server.url)
    monkeypatch.setenv("DIALER_NAMESPACE", namespace)


def listed(capsys) -> list[str]:
    capsys.readouterr()
    assert main(["dnc", "list", "--json"]) == 0
    return [e["number"] for e in json.loads(capsys.readouterr().out)]


def test_dnc_add_remove_import_and_list_normalise_numbers_as_a_sheet_does(
    cli_env, capsys, tmp_path
) -> None:
    assert main(["dnc", "add", "+86 139 0000 0001", "021-5123-4567"]) == 0
    assert "2 added" in capsys.readouterr().out
    assert main(["dnc", "add", "13900000001"]) == 0
    assert "0 added" in capsys.readouterr().out
    assert listed(capsys) == ["02151234567", "13900000001"]
    numbers = tmp_path / "dnc.txt"
    numbers.write_text("13900000002\n13900000003\n")
    assert main(["dnc", "import", str(numbers)]) == 0
    assert main(["dnc", "remove", "13900000001"]) == 0
    assert listed(capsys) == ["02151234567", "13900000002", "13900000003"]


def test_a_bad_number_is_one_line_naming_it(cli_env, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["dnc", "add", "12345"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'12345'" in err[0] and "Traceback" not in err[0]


def test_a_number_added_mid_campaign_is_never_rung_again(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    # Nobody answers; each customer is tried again 2 s after each call ends, three times.
    simulator.faults.update(
        {"ring_s": Span(1, 2), "talk_s": Span(30, 60), "time_scale": 60, "callee_answer": 0.0}
    )
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "Caller,Callee\n" + "".join(f"1380000000{i},1390000000{i}\n" for i in range(3))
    )
    cid = new_campaign(
        engine,
        sheet,
        pool=NUMBERS[:1],
        rate_per_s=5.0,
        wrap_up_s=0.2,
        pair_guard_s=0,
        recycle={"CALLEE_NO_ANSWER": [2.0]},
        max_contacts=3,
    )
    w = workers(
        engine_env(
            redis_server.url,
            namespace,
            simulator.url,
            DIALER_CALLER_LOOKUP_S="0.3",
            DIALER_RECORDS_POLL_S="0.3",
            DIALER_CDR_MARGIN_S="0.3",
        )
    )
    w.start()
    wait_until(
        lambda: any(c["callee"] == "13900000000" for c in calls_log(simulator.config.calls_log)),
        30,
        "the first call",
    )
    DoNotCall(engine.store).add(["13900000000"])
    wait_until(
        lambda: (
            engine.store.campaign(cid).status is CampaignStatus.DONE
            and not engine.store.records_campaigns()
        ),
        120,
        "the campaign to finish",
    )
    rung = [c["callee"] for c in calls_log(simulator.config.calls_log)]
    assert rung.count("13900000000") == 1
    assert rung.count("13900000001") == 3 and rung.count("13900000002") == 3
    state, result = next(
        (s.split("|")[0], r) for rec, s, r in engine.store.iter_rows(cid) if int(rec[0]) == 1
    )
    assert state == "FAILED" and result["error_code"] == "Dnc.Listed"
