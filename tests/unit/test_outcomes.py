"""Edge cases of the answer -> exception mapping that the simulator does not produce on its own
(torn bodies, proxies' HTML errors), driven through a requests transport adapter."""

from __future__ import annotations

import json

import pytest
import requests
from requests.adapters import BaseAdapter

from dialer.ccc import outcomes
from dialer.ccc.client import CccClient
from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    CccUnreachable,
    NotPlaced,
    OutcomeUnknown,
    PermanentCallError,
    Throttled,
    TransientCallError,
    WorkerFatal,
)
from dialer.settings import Credentials

CALL = {"instance_id": "i", "caller": "13800000000", "callee": "13900000000", "broker": "b"}


class CannedAdapter(BaseAdapter):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__()
        self.status, self.body = status, body

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.request = request
        response.url = request.url
        return response

    def close(self) -> None:
        pass


def client_answering(status: int, body: bytes) -> CccClient:
    session = requests.Session()
    session.mount("http://", CannedAdapter(status, body))
    return CccClient("http://ccc.test", Credentials("id", "secret"), session=session)


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("Parameter.Blank", 400, PermanentCallError),
        ("Parameter.Maximum", 400, PermanentCallError),
        ("NotExists.Number", 404, BrokerUnavailable),
        ("NotExists.InstanceId", 404, CampaignFatal),
        ("Forbidden.RAM", 403, CampaignFatal),
        ("InvalidAccessKeyId.NotFound", 404, WorkerFatal),
        ("InvalidAccessKeyId.Inactive", 400, WorkerFatal),
        ("SignatureDoesNotMatch", 400, WorkerFatal),
        ("InvalidTimeStamp.Expired", 400, WorkerFatal),
        ("IllegalTimestamp", 400, WorkerFatal),
        ("InternalService.CTI", 500, TransientCallError),
        ("SomethingNew", 500, TransientCallError),
        ("Throttling", 400, Throttled),
        ("Throttling.User", 400, Throttled),
        ("Throttling.Api", 400, Throttled),
        ("SignatureNonceUsed", 400, Throttled),
        ("SomethingNew", 503, CccUnreachable),
        ("HTTP.502", 502, CccUnreachable),
        ("ServiceUnavailable", 503, CccUnreachable),
        ("SomethingNew", 400, PermanentCallError),
    ],
)
def test_error_codes_map_to_classes(code: str, status: int, cls: type) -> None:
    assert outcomes.error_class_for(code, status) is cls


def test_gateway_body_shape_is_understood() -> None:
    body = json.dumps(
        {
            "RequestId": "R1",
            "HostId": "ccc.cn-shanghai.aliyuncs.com",
            "Code": "Forbidden.RAM",
            "Message": "User not authorized to operate on the specified resource.",
            "Recommend": "https://api.aliyun.com/troubleshoot?q=Forbidden.RAM&product=CCC",
        }
    ).encode()
    with pytest.raises(CampaignFatal) as info:
        client_answering(403, body).start_back2back_call(**CALL)
    assert (info.value.code, info.value.request_id, info.value.http_status) == (
        "Forbidden.RAM",
        "R1",
        403,
    )


def test_error_code_inside_a_200_envelope_uses_its_http_status_code() -> None:
    body = json.dumps(
        {"Code": "NotExists.Number", "HttpStatusCode": 404, "Message": "m", "RequestId": "R"}
    ).encode()
    with pytest.raises(BrokerUnavailable) as info:
        client_answering(200, body).start_back2back_call(**CALL)
    assert info.value.http_status == 404


def test_torn_success_body_is_outcome_unknown() -> None:
    with pytest.raises(OutcomeUnknown) as info:
        client_answering(200, b'{"Code":"OK","Data":{"CallCon').start_back2back_call(**CALL)
    assert info.value.code == "Client.TornResponse"


def test_proxy_html_502_is_ccc_unreachable_and_costs_no_attempt() -> None:
    with pytest.raises(CccUnreachable) as info:
        client_answering(502, b"<html>Bad Gateway</html>").start_back2back_call(**CALL)
    assert info.value.code == "HTTP.502"
    assert isinstance(info.value, NotPlaced)


def test_an_internal_cti_error_is_an_attempt_not_a_refusal() -> None:
    body = json.dumps({"Code": "InternalService.CTI", "HttpStatusCode": 500}).encode()
    with pytest.raises(TransientCallError) as info:
        client_answering(500, body).start_back2back_call(**CALL)
    assert not isinstance(info.value, NotPlaced)


def test_numbers_echoed_in_a_ccc_message_are_masked() -> None:
    """A V1 SignatureDoesNotMatch quotes the whole string to sign, callee and broker too."""
    message = (
        "Specified signature is not matched with our calculation. server string to sign is:"
        "POST&%2F&AccessKeyId%3Did%26Broker%3D02151234567%26Callee%3D13900000000"
        "%26Caller%3D13800000000%26InstanceId%3Di"
    )
    body = json.dumps({"Code": "SignatureDoesNotMatch", "Message": message}).encode()
    with pytest.raises(WorkerFatal) as info:
        client_answering(400, body).start_back2back_call(**CALL)
    text = str(info.value)
    for number in ("02151234567", "13900000000", "13800000000"):
        assert number not in text
    assert "Callee%3D1390000****" in text


def test_gateway_timeout_504_is_outcome_unknown() -> None:
    with pytest.raises(OutcomeUnknown):
        client_answering(504, b"<html>Gateway Timeout</html>").start_back2back_call(**CALL)


def test_tags_over_128_bytes_refused_before_sending() -> None:
    with pytest.raises(PermanentCallError) as info:
        client_answering(200, b"{}").start_back2back_call(**CALL, tags="é" * 65)
    assert info.value.code == "Client.TagsTooLong"


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (requests.ConnectTimeout("connect"), CccUnreachable),
        (requests.ReadTimeout("read"), OutcomeUnknown),
        (requests.exceptions.ChunkedEncodingError("torn"), OutcomeUnknown),
        (requests.ConnectionError("Connection aborted. RemoteDisconnected"), OutcomeUnknown),
    ],
)
def test_transport_errors(exc: requests.RequestException, cls: type) -> None:
    assert isinstance(outcomes.error_from_transport(exc), cls)
