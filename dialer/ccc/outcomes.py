"""The one place where CCC answers and transport failures become the dialer's exception classes.

Two error body shapes exist: the CCC envelope (`Code`, `Message`, `HttpStatusCode`, `Params`,
`RequestId`) and the API gateway's (`Code`, `Message`, `RequestId`, `HostId`, `Recommend`).
Both carry `Code`, which is all the classification needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import requests
import urllib3.exceptions

from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    CccError,
    CccUnreachable,
    OutcomeUnknown,
    PermanentCallError,
    Throttled,
    TransientCallError,
    WorkerFatal,
)
from dialer.phones import mask_text

_URL_IN_TEXT = re.compile(r"url: \S+")

# Codes that mean nothing in this campaign can work until an operator acts: a wrong instance,
# a key without permission for the action.
_CAMPAIGN_FATAL_CODES = frozenset({"NotExists.InstanceId", "Forbidden.RAM"})
# Codes about the key or the clock that signed the request: the worker that sent it is
# misconfigured (another worker, with its own key and clock, may be fine).
_WORKER_FATAL_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidAccessKeySecret",
        "IncompleteSignature",
        "InvalidTimeStamp.Expired",
        "IllegalTimestamp",
    }
)
_WORKER_FATAL_PREFIXES = ("InvalidAccessKeyId", "Forbidden.AccessKey")
# Refused before anything happened, and not about the row: a reused nonce (a fresh one on the
# next try fixes it), throttling.
_THROTTLED_CODES = frozenset({"SignatureNonceUsed"})
# Answered by something in front of CCC, not by CCC: the request went no further.
_UNREACHABLE_STATUSES = frozenset({502, 503})


def error_class_for(code: str, http_status: int | None) -> type[CccError]:
    if code.startswith("Throttling") or code in _THROTTLED_CODES:
        return Throttled
    if code == "ServiceUnavailable" or http_status in _UNREACHABLE_STATUSES:
        return CccUnreachable
    if code == "InternalService.CTI":
        return TransientCallError
    if code == "NotExists.Number":
        return BrokerUnavailable
    if code in _WORKER_FATAL_CODES or code.startswith(_WORKER_FATAL_PREFIXES):
        return WorkerFatal
    if code in _CAMPAIGN_FATAL_CODES:
        return CampaignFatal
    if code.startswith("Parameter."):
        return PermanentCallError
    if http_status == 504:
        # A gateway timeout means the request was handed on and may have been carried out.
        return OutcomeUnknown
    if http_status is not None and http_status >= 500:
        return TransientCallError
    return PermanentCallError


def error_from_response(http_status: int, body: bytes) -> CccError:
    """The exception for a non-success HTTP answer (either body shape, or no JSON at all)."""
    parsed = _json_object(body)
    code = str(parsed.get("Code") or f"HTTP.{http_status}")
    message = _private(str(parsed.get("Message") or ""))
    request_id = parsed.get("RequestId")
    cls = error_class_for(code, http_status)
    return cls(
        code,
        message,
        http_status=http_status,
        request_id=str(request_id) if request_id else None,
        params=_params(parsed),
    )


def parse_success(http_status: int, body: bytes) -> dict[str, Any]:
    """The JSON object of a 2xx answer. A 2xx whose body is not whole JSON is a torn answer:
    CCC acted on the request but we cannot see what it said, so the outcome is unknown."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise OutcomeUnknown(
            "Client.TornResponse",
            f"HTTP {http_status} answer was not complete JSON ({len(body)} bytes)",
            http_status=http_status,
        ) from None
    if not isinstance(parsed, dict):
        raise OutcomeUnknown("Client.TornResponse", "answer was not a JSON object")
    code = parsed.get("Code")
    if code not in (None, "OK", "200"):
        # CCC can put an error code in a 200 envelope; its HttpStatusCode then says what it is.
        status = parsed.get("HttpStatusCode")
        status = int(status) if isinstance(status, int | str) and str(status).isdigit() else None
        cls = error_class_for(str(code), status)
        raise cls(
            str(code),
            _private(str(parsed.get("Message") or "")),
            http_status=status or http_status,
            request_id=parsed.get("RequestId"),
            params=_params(parsed),
        )
    return parsed


def error_from_transport(exc: requests.RequestException) -> CccError:
    """Translate a requests failure. The question is only: could CCC have seen the request?"""
    if isinstance(exc, requests.ConnectTimeout):
        return CccUnreachable("Client.ConnectTimeout", _describe(exc))
    if isinstance(exc, requests.ReadTimeout):
        return OutcomeUnknown("Client.ReadTimeout", "no answer before the read timeout")
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return CccUnreachable("Client.ConnectFailed", _describe(exc))
    if isinstance(exc, requests.ConnectionError):
        if _never_connected(exc):
            return CccUnreachable("Client.ConnectFailed", _describe(exc))
        return OutcomeUnknown("Client.ConnectionLost", _describe(exc))
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return OutcomeUnknown("Client.TornResponse", _describe(exc))
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return WorkerFatal("Client.InvalidEndpoint", _describe(exc))
    return OutcomeUnknown("Client.RequestFailed", _describe(exc))


def _never_connected(exc: requests.ConnectionError) -> bool:
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    )


def _describe(exc: BaseException) -> str:
    # requests puts the request URL in its texts, and ours holds the phone numbers: cut it out
    # so these texts can go into logs and results sheets.
    text = _URL_IN_TEXT.sub("url: /?…", " ".join(str(exc).split()))
    return _private(text)[:300]


def _private(message: str) -> str:
    """An error text fit for logs, pause reasons and results sheets: CCC's messages can quote
    the request (a V1 SignatureDoesNotMatch echoes the whole string to sign, callee and all),
    so every phone number in them is masked here, where every CCC error is built."""
    return mask_text(message)


def _params(parsed: Mapping[str, Any]) -> tuple[str, ...]:
    raw = parsed.get("Params")
    return tuple(str(p) for p in raw) if isinstance(raw, list) else ()


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
