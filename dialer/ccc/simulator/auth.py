"""Request authentication as the Alibaba API gateway does it: V1 (signature in the query) and
V3 (ACS3-HMAC-SHA256 Authorization header), nonce replay and timestamp skew checks."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from dialer.ccc import signing

MAX_SKEW_S = 15 * 60
_AUTH_RE = re.compile(
    r"^ACS3-HMAC-SHA256\s+Credential=(?P<ak>[^,]+),\s*SignedHeaders=(?P<signed>[^,]+),"
    r"\s*Signature=(?P<sig>[0-9a-fA-F]+)$"
)


class GatewayError(Exception):
    """An error answered in the gateway's body shape (HostId, Recommend)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Authenticated:
    access_key_id: str
    action: str
    version: str
    params: dict[str, str]


class NonceRegistry:
    """Remembers nonces for as long as their timestamp could still be accepted."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def claim(self, access_key_id: str, nonce: str, now: float) -> bool:
        with self._lock:
            if now >= self._next_purge:
                horizon = now - 2 * MAX_SKEW_S
                self._seen = {k: t for k, t in self._seen.items() if t > horizon}
                self._next_purge = now + 60
            key = (access_key_id, nonce)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


def authenticate(
    method: str,
    path: str,
    headers: Mapping[str, str],
    params: dict[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    nonces: NonceRegistry,
    now: float,
) -> Authenticated:
    """Verify the request; the access key, action and business parameters, or GatewayError.

    `headers` must be case-insensitive (http.server's Message is)."""
    authorization = headers.get("Authorization")
    if authorization:
        return _v3(method, path, headers, params, body, authorization, secrets, nonces, now)
    if "Signature" in params:
        return _v1(method, params, secrets, nonces, now)
    raise GatewayError(400, "MissingParameter", "The input parameter Signature is missing.")


def _secret_for(access_key_id: str, secrets: Mapping[str, str]) -> str:
    secret = secrets.get(access_key_id)
    if secret is None:
        raise GatewayError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return secret


def _check_time_and_nonce(
    access_key_id: str, stamp: str | None, nonce: str | None, nonces: NonceRegistry, now: float
) -> None:
    if not stamp:
        raise GatewayError(400, "MissingParameter", "The input parameter Timestamp is missing.")
    try:
        when = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        raise GatewayError(
            400, "IllegalTimestamp", f'The input parameter "Timestamp" {stamp} is not valid.'
        ) from None
    if abs(now - when) > MAX_SKEW_S:
        raise GatewayError(
            400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        )
    if not nonce:
        raise GatewayError(
            400, "MissingParameter", "The input parameter SignatureNonce is missing."
        )
    if not nonces.claim(access_key_id, nonce, now):
        raise GatewayError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")


def _mismatch(string_to_sign: str) -> GatewayError:
    return GatewayError(
        400,
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. "
        f"server string to sign is:{string_to_sign}",
    )


def _v1(
    method: str,
    params: dict[str, str],
    secrets: Mapping[str, str],
    nonces: NonceRegistry,
    now: float,
) -> Authenticated:
    access_key_id = params.get("AccessKeyId", "")
    if not access_key_id:
        raise GatewayError(400, "MissingParameter", "The input parameter AccessKeyId is missing.")
    secret = _secret_for(access_key_id, secrets)
    if params.get("SignatureMethod") != "HMAC-SHA1":
        raise GatewayError(
            400, "InvalidSignatureMethod", "Specified signature method is not valid."
        )
    given = params["Signature"]
    string_to_sign = signing.v1_string_to_sign(method, params)
    expected = signing.v1_signature(method, params, secret)
    if not hmac.compare_digest(given, expected):
        raise _mismatch(string_to_sign)
    _check_time_and_nonce(
        access_key_id, params.get("Timestamp"), params.get("SignatureNonce"), nonces, now
    )
    business = {k: v for k, v in params.items() if k not in _V1_COMMON}
    return Authenticated(
        access_key_id, params.get("Action", ""), params.get("Version", ""), business
    )


_V1_COMMON = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "Signature",
        "RegionId",
        "SecurityToken",
    }
)


def _v3(
    method: str,
    path: str,
    headers: Mapping[str, str],
    params: dict[str, str],
    body: bytes,
    authorization: str,
    secrets: Mapping[str, str],
    nonces: NonceRegistry,
    now: float,
) -> Authenticated:
    match = _AUTH_RE.match(authorization.strip())
    if not match:
        raise GatewayError(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        )
    access_key_id = match["ak"]
    secret = _secret_for(access_key_id, secrets)
    signed_names = match["signed"].split(";")
    required = {
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    }
    if not required <= set(signed_names):
        raise GatewayError(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        )
    payload_hash = headers.get("x-acs-content-sha256", "")
    if payload_hash != hashlib.sha256(body).hexdigest():
        raise GatewayError(400, "ContentSHA256NotMatched", "The content hash does not match.")
    signed_headers = {name: headers.get(name) or "" for name in signed_names}
    canonical = signing.v3_canonical_request(method, path, params, signed_headers, payload_hash)
    string_to_sign = signing.v3_string_to_sign(canonical)
    if not hmac.compare_digest(match["sig"].lower(), signing.v3_signature(string_to_sign, secret)):
        raise _mismatch(string_to_sign)
    _check_time_and_nonce(
        access_key_id, headers.get("x-acs-date"), headers.get("x-acs-signature-nonce"), nonces, now
    )
    return Authenticated(
        access_key_id, headers.get("x-acs-action", ""), headers.get("x-acs-version", ""), params
    )
