"""Our client against the simulator over real HTTP: success, each documented error, and the
transport failures that decide whether a call may have been placed."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Simulator
from dialer.engine.embedded import free_port
from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    OutcomeUnknown,
    PermanentCallError,
    TransientCallError,
    WorkerFatal,
)
from dialer.settings import Credentials

CREDS = Credentials("testid", "testsecret")
CALL = {
    "instance_id": "ccc-test",
    "caller": "13800000000",
    "callee": "13900000000",
    "broker": "02151234567",
}


def client(sim: Simulator, **kw) -> CccClient:
    return CccClient(sim.url, kw.pop("credentials", CREDS), **kw)


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_call_is_accepted_and_parsed(simulator: Simulator, version: str) -> None:
    result = client(simulator, signature_version=version).start_back2back_call(
        **CALL, additional_broker="02151234568", timeout_seconds=45, tags="batch=7 & note:a*b~c/é+"
    )
    assert result.code == "OK"
    assert result.http_status_code == 200
    assert result.job_id and result.job_id.startswith("job-")
    assert result.call_context and result.call_context.call_type == "BACK2BACK"
    assert result.call_context.channel_contexts[0].destination == "13800000000"
    placed = simulator.state.snapshot()
    assert len(placed) == 1
    assert placed[0].tags == "batch=7 & note:a*b~c/é+"
    assert placed[0].timeout_seconds == 45
    assert placed[0].additional_broker == "02151234568"
    assert placed[0].job_id == result.job_id
    assert placed[0].request_id == result.request_id


def test_calls_log_has_one_line_per_accepted_call(simulator: Simulator) -> None:
    c = client(simulator)
    c.start_back2back_call(**CALL)
    with pytest.raises(BrokerUnavailable):
        c.start_back2back_call(**{**CALL, "broker": "01000000000"})
    lines = simulator.config.calls_log.read_text().splitlines()
    assert [json.loads(line)["callee"] for line in lines] == ["13900000000"]


def test_request_is_post_with_params_in_query_and_empty_body(simulator: Simulator) -> None:
    seen: list[requests.PreparedRequest] = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request))
    client(simulator, session=session).start_back2back_call(**CALL)
    request = seen[0]
    assert request.method == "POST"
    assert "Callee=13900000000" in request.url
    assert not request.body


@pytest.mark.parametrize(
    ("change", "error", "code", "status"),
    [
        ({"caller": " "}, PermanentCallError, "Parameter.Blank", 400),
        ({"instance_id": "nope"}, CampaignFatal, "NotExists.InstanceId", 404),
        ({"broker": "01000000000"}, BrokerUnavailable, "NotExists.Number", 404),
    ],
)
def test_documented_errors_map_to_classes(simulator, change, error, code, status) -> None:
    with pytest.raises(error) as info:
        client(simulator).start_back2back_call(**{**CALL, **change})
    assert info.value.code == code
    assert info.value.http_status == status
    assert info.value.request_id
    assert simulator.state.snapshot() == []


def test_unknown_additional_broker_is_broker_unavailable(simulator: Simulator) -> None:
    with pytest.raises(BrokerUnavailable) as info:
        client(simulator).start_back2back_call(**CALL, additional_broker="01000000000")
    # Which number was refused shows, masked as every number in a CCC message is.
    assert "0100000****" in info.value.message and "01000000000" not in str(info.value)


def test_cti_failure_is_transient(simulator: Simulator) -> None:
    simulator.faults.fail_rate = 1.0
    with pytest.raises(TransientCallError) as info:
        client(simulator).start_back2back_call(**CALL)
    assert (info.value.code, info.value.http_status) == ("InternalService.CTI", 500)


def test_wrong_secret_is_the_workers_problem_and_its_message_shows_no_number(
    simulator: Simulator,
) -> None:
    bad = Credentials("testid", "not-the-secret")
    for version in ("v1", "v3"):
        with pytest.raises(WorkerFatal) as info:
            client(simulator, credentials=bad, signature_version=version).start_back2back_call(
                **CALL
            )
        assert info.value.code == "SignatureDoesNotMatch"
        assert "not-the-secret" not in str(info.value)
        # V1's answer quotes the string to sign, parameters and all.
        for number in (CALL["caller"], CALL["callee"], CALL["broker"]):
            assert number not in str(info.value)


def test_unknown_access_key_is_the_workers_problem(simulator: Simulator) -> None:
    with pytest.raises(WorkerFatal) as info:
        client(simulator, credentials=Credentials("ghost", "x")).start_back2back_call(**CALL)
    assert info.value.code == "InvalidAccessKeyId.NotFound"


def test_clock_skew_is_refused(simulator: Simulator) -> None:
    skewed = client(simulator, clock=lambda: 1_000_000_000.0)
    with pytest.raises(WorkerFatal) as info:
        skewed.start_back2back_call(**CALL)
    assert info.value.code == "InvalidTimeStamp.Expired"


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_reused_nonce_is_refused_and_transient(simulator: Simulator, version: str) -> None:
    fixed = client(simulator, nonce=lambda: "same-nonce", signature_version=version)
    fixed.start_back2back_call(**CALL)
    with pytest.raises(TransientCallError) as info:
        fixed.start_back2back_call(**CALL)
    assert info.value.code == "SignatureNonceUsed"
    assert len(simulator.state.snapshot()) == 1


@pytest.mark.timing  # two requests inside the simulator's one second
def test_throttling_is_transient(simulator: Simulator) -> None:
    simulator.faults.max_qps = 1
    c = client(simulator)
    c.start_back2back_call(**CALL)
    with pytest.raises(TransientCallError) as info:
        c.start_back2back_call(**CALL)
    assert info.value.code == "Throttling.User"


def test_read_timeout_after_send_is_outcome_unknown(simulator: Simulator) -> None:
    simulator.faults.hang_rate = 1.0
    simulator.faults.hang_s = 2.0
    with pytest.raises(OutcomeUnknown) as info:
        client(simulator, read_timeout_s=0.3).start_back2back_call(**CALL)
    assert info.value.code == "Client.ReadTimeout"
    assert len(simulator.state.snapshot()) == 1


def test_connection_dropped_after_send_is_outcome_unknown(simulator: Simulator) -> None:
    simulator.faults.drop_rate = 1.0
    with pytest.raises(OutcomeUnknown) as info:
        client(simulator).start_back2back_call(**CALL)
    assert info.value.code == "Client.ConnectionLost"
    assert len(simulator.state.snapshot()) == 1


def test_connection_refused_is_transient() -> None:
    c = CccClient(f"http://127.0.0.1:{free_port()}", CREDS)
    with pytest.raises(TransientCallError) as info:
        c.start_back2back_call(**CALL)
    assert info.value.code == "Client.ConnectFailed"
    assert "13900000000" not in str(info.value)


def test_secret_never_in_repr_or_logs(simulator: Simulator, caplog) -> None:
    # Third-party DEBUG logs (urllib3 prints URLs) are kept at WARNING by the CLI's logging setup.
    caplog.set_level(logging.DEBUG, logger="dialer")
    c = client(simulator, credentials=Credentials("testid", "testsecret"))
    c.start_back2back_call(**CALL)
    assert "testsecret" not in repr(c)
    assert "testsecret" not in repr(Credentials("testid", "testsecret"))
    assert "testsecret" not in caplog.text
    assert "1390000****" in caplog.text
    assert "13900000000" not in caplog.text


def test_call_detail_record_for_placed_call(simulator: Simulator) -> None:
    c = client(simulator)
    job_id = c.start_back2back_call(**CALL).job_id
    cdr = c.get_call_detail_record(instance_id="ccc-test", contact_id=job_id)
    assert cdr.contact_id == job_id
    assert cdr.called_number == "13900000000"
    assert cdr.contact_disposition in {"Success", "NoAnswer", "Reject"}
    assert cdr.release_reason and cdr.release_reason.split()[0].isdigit()
    with pytest.raises(PermanentCallError):
        c.get_call_detail_record(instance_id="ccc-test", contact_id="job-0")


def test_list_call_detail_records_filters_and_pages(simulator: Simulator) -> None:
    c = client(simulator)
    for callee in ("13900000001", "13900000002", "13900000001"):
        c.start_back2back_call(**{**CALL, "callee": callee})

    def page(number: int) -> dict:
        params = {
            "InstanceId": "ccc-test",
            "PageNumber": str(number),
            "PageSize": "1",
            "CalledNumber": "13900000001",
        }
        return c.call("ListCallDetailRecords", params)

    body = page(1)
    assert body["Data"]["TotalCount"] == 2
    assert len(body["Data"]["List"]) == 1
    assert body["Data"]["List"][0]["Broker"] == "02151234567"
    page2 = page(2)
    assert page2["Data"]["TotalCount"] == 0
    assert len(page2["Data"]["List"]) == 1


def test_release_call(simulator: Simulator) -> None:
    c = client(simulator)
    job_id = c.start_back2back_call(**CALL).job_id
    body = c.call("ReleaseCall", {"InstanceId": "ccc-test", "JobId": job_id})
    assert body["Data"]["CallContext"]["ChannelContexts"][0]["ChannelState"] == "RELEASED"
    with pytest.raises(PermanentCallError) as info:
        c.call("ReleaseCall", {"InstanceId": "ccc-test", "JobId": "job-1"})
    assert info.value.code == "NotExists.JobId"
