"""Alibaba's official Python SDKs, pointed at the simulator, get parsed successes and their own
error codes: proof the simulator speaks CCC's wire protocol, not just our client's dialect."""

from __future__ import annotations

import pytest

from dialer.ccc.simulator import Simulator

pytest.importorskip("alibabacloud_ccc20200701")
pytest.importorskip("aliyunsdkccc")

from alibabacloud_ccc20200701 import models as ccc_models
from alibabacloud_ccc20200701.client import Client as NewClient
from alibabacloud_tea_openapi import models as openapi_models
from aliyunsdkccc.request.v20200701.StartBack2BackCallRequest import (
    StartBack2BackCallRequest as OldRequest,
)
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient

TAGS = "batch=7 & note:a*b~c/é+"
GOOD = {
    "instance_id": "ccc-test",
    "caller": "13800000000",
    "callee": "13900000000",
    "broker": "02151234567",
}
ERRORS = [
    ({"caller": ""}, "Parameter.Blank", 400),
    ({"instance_id": "nope"}, "NotExists.InstanceId", 404),
    ({"broker": "01000000000"}, "NotExists.Number", 404),
    ({"fail": True}, "InternalService.CTI", 500),
]


def apply_change(sim: Simulator, change: dict) -> dict:
    if change.get("fail"):
        sim.faults.fail_rate = 1.0
    return {**GOOD, **{k: v for k, v in change.items() if k != "fail"}}


def new_sdk_call(sim: Simulator, algorithm: str | None, secret: str = "testsecret", **fields):
    config = openapi_models.Config(
        access_key_id="testid",
        access_key_secret=secret,
        endpoint=f"127.0.0.1:{sim.port}",
        protocol="http",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    request = ccc_models.StartBack2BackCallRequest(**fields)
    return NewClient(config).start_back_2back_call(request)


def old_sdk_call(sim: Simulator, secret: str = "testsecret", **fields) -> bytes:
    client = AcsClient("testid", secret, "cn-shanghai", auto_retry=False)
    request = OldRequest()
    request.set_endpoint(f"127.0.0.1:{sim.port}")
    request.set_protocol_type("http")
    request.set_InstanceId(fields["instance_id"])
    request.set_Caller(fields["caller"])
    request.set_Callee(fields["callee"])
    request.set_Broker(fields["broker"])
    if "tags" in fields:
        request.set_Tags(fields["tags"])
    return client.do_action_with_exception(request)


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["v3-default", "v2-rpc"])
def test_new_sdk_success_is_parsed(simulator: Simulator, algorithm: str | None) -> None:
    response = new_sdk_call(simulator, algorithm, **GOOD, tags=TAGS)
    assert response.status_code == 200
    assert response.body.code == "OK"
    context = response.body.data.call_context
    assert context.call_type == "BACK2BACK"
    assert context.job_id == simulator.state.snapshot()[0].job_id
    assert context.channel_contexts[0].originator == "02151234567"
    assert simulator.state.snapshot()[0].tags == TAGS


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["v3-default", "v2-rpc"])
@pytest.mark.parametrize(("change", "code", "status"), ERRORS)
def test_new_sdk_sees_documented_errors(simulator, algorithm, change, code, status) -> None:
    fields = apply_change(simulator, change)
    with pytest.raises(Exception) as info:
        new_sdk_call(simulator, algorithm, **fields)
    assert info.value.code == code
    assert info.value.data["HttpStatusCode"] == status
    assert simulator.state.snapshot() == []


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["v3-default", "v2-rpc"])
def test_new_sdk_wrong_secret_gets_signature_error(simulator, algorithm) -> None:
    with pytest.raises(Exception) as info:
        new_sdk_call(simulator, algorithm, secret="wrong", **GOOD)
    assert info.value.code == "SignatureDoesNotMatch"


def test_old_sdk_success_is_parsed(simulator: Simulator) -> None:
    import json

    body = json.loads(old_sdk_call(simulator, **GOOD, tags=TAGS))
    assert body["Code"] == "OK"
    assert body["Data"]["CallContext"]["JobId"] == simulator.state.snapshot()[0].job_id


@pytest.mark.parametrize(("change", "code", "status"), ERRORS)
def test_old_sdk_sees_documented_errors(simulator, change, code, status) -> None:
    fields = apply_change(simulator, change)
    with pytest.raises(ServerException) as info:
        old_sdk_call(simulator, **fields)
    assert info.value.get_error_code() == code
    assert info.value.get_http_status() == status


def test_old_sdk_recognises_wrong_secret_from_server_string_to_sign(simulator) -> None:
    # The old SDK compares the server's string-to-sign with its own and, when they match,
    # renames SignatureDoesNotMatch to InvalidAccessKeySecret: ours must match byte for byte.
    with pytest.raises(ServerException) as info:
        old_sdk_call(simulator, secret="wrong", **GOOD)
    assert info.value.get_error_code() == "InvalidAccessKeySecret"
