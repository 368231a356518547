"""A wire-exact client for CCC 2020-07-01 RPC actions, sent the way the official SDKs send them:
POST to `/`, every parameter in the query string, an empty body."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.utils

from dialer.ccc import outcomes, signing
from dialer.ccc.responses import CallDetailRecord, CallResult
from dialer.errors import (
    CccError,
    CccUnreachable,
    ConfigError,
    OutcomeUnknown,
    PermanentCallError,
    WorkerFatal,
)
from dialer.phones import mask_number
from dialer.settings import Credentials, Settings

API_VERSION = "2020-07-01"
TAGS_MAX_BYTES = 128
PROBE_CONTACT_ID = "dialer-probe"  # no call has this id: looking it up changes nothing
log = logging.getLogger(__name__)


def _pooled_session(endpoint: str) -> requests.Session:
    # One session per client, shared by a worker's threads: size the pool for them all.
    session = requests.Session()
    session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=64))
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
    # requests re-reads proxy variables and ~/.netrc on every request; read the proxies once.
    session.proxies.update(requests.utils.get_environ_proxies(endpoint))
    session.trust_env = False
    return session


def utc_timestamp(now: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


class CccClient:
    """Signs and sends CCC requests. `session` is the transport seam: pass a configured
    requests.Session (or one with a mounted adapter) to change how bytes travel."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        *,
        session: requests.Session | None = None,
        signature_version: str = "v3",
        connect_timeout_s: float = 3.05,
        read_timeout_s: float = 10.0,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
        clock: Callable[[], float] = time.time,
        on_error: Callable[[CccError], None] | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"CCC endpoint must be an http(s) URL, not {endpoint!r}")
        if signature_version not in ("v1", "v3"):
            raise ConfigError(f"signature version must be v1 or v3, not {signature_version!r}")
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.netloc
        self._credentials = credentials
        self._session = session or _pooled_session(endpoint)
        self.signature_version = signature_version
        self.timeouts = (connect_timeout_s, read_timeout_s)
        self._nonce = nonce
        self._clock = clock
        # Told of every error a request ends in (a worker learns of a refused key this way,
        # whichever of its threads sent the request).
        self.on_error = on_error

    @classmethod
    def from_settings(
        cls, settings: Settings, *, session: requests.Session | None = None
    ) -> CccClient:
        return cls(
            settings.ccc_endpoint,
            settings.require_credentials(),
            session=session,
            signature_version=settings.signature_version,
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
        )

    def __repr__(self) -> str:
        return (
            f"CccClient(endpoint={self.endpoint!r}, "
            f"access_key_id={self._credentials.access_key_id!r}, "
            f"signature_version={self.signature_version!r})"
        )

    def close(self) -> None:
        self._session.close()

    def start_back2back_call(
        self,
        *,
        instance_id: str,
        caller: str,
        callee: str,
        broker: str,
        additional_broker: str | None = None,
        timeout_seconds: int = 30,
        tags: str | None = None,
    ) -> CallResult:
        if tags is not None and len(tags.encode()) > TAGS_MAX_BYTES:
            raise PermanentCallError(
                "Client.TagsTooLong", f"Tags is {len(tags.encode())} bytes UTF-8, limit 128"
            )
        params = {
            "InstanceId": instance_id,
            "Caller": caller,
            "Callee": callee,
            "Broker": broker,
            "TimeoutSeconds": str(timeout_seconds),
        }
        if additional_broker:
            params["AdditionalBroker"] = additional_broker
        if tags:
            params["Tags"] = tags
        log.info(
            "StartBack2BackCall caller=%s callee=%s broker=%s",
            mask_number(caller),
            mask_number(callee),
            mask_number(broker),
        )
        return CallResult.from_json(self.call("StartBack2BackCall", params))

    def get_call_detail_record(self, *, instance_id: str, contact_id: str) -> CallDetailRecord:
        body = self.call(
            "GetCallDetailRecord", {"InstanceId": instance_id, "ContactId": contact_id}
        )
        data = body.get("Data")
        return CallDetailRecord.from_json(data if isinstance(data, Mapping) else {})

    def probe(self, *, instance_id: str) -> None:
        """Whether CCC answers, and accepts this client's key and clock, without placing
        anything: one read-only lookup of a call that does not exist. Returns when CCC
        answered (whatever it said about the call); raises CccUnreachable when nothing
        answered for it (an OutcomeUnknown, no answer in time, counts the same) and
        WorkerFatal when the key or the clock was refused."""
        try:
            self.get_call_detail_record(instance_id=instance_id, contact_id=PROBE_CONTACT_ID)
        except (CccUnreachable, WorkerFatal):
            raise
        except OutcomeUnknown as exc:
            raise CccUnreachable(exc.code, exc.message) from exc
        except CccError:
            pass

    def call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Send one signed RPC request; the parsed JSON answer or a CccError subclass."""
        try:
            return self._call(action, params)
        except CccError as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise

    def _call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        if self.signature_version == "v3":
            query, headers = self._sign_v3(action, params)
        else:
            query, headers = self._sign_v1(action, params), {}
        url = f"{self.endpoint}/?{query}"
        try:
            response = self._session.post(url, headers=headers, data=b"", timeout=self.timeouts)
            body = response.content
        except requests.RequestException as exc:
            raise outcomes.error_from_transport(exc) from exc
        if response.status_code >= 300:
            raise outcomes.error_from_response(response.status_code, body)
        return outcomes.parse_success(response.status_code, body)

    def _sign_v1(self, action: str, params: Mapping[str, str]) -> str:
        signed = {
            **params,
            "Action": action,
            "Version": API_VERSION,
            "Format": "JSON",
            "AccessKeyId": self._credentials.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": self._nonce(),
            "Timestamp": utc_timestamp(self._clock()),
        }
        signed["Signature"] = signing.v1_signature(
            "POST", signed, self._credentials.access_key_secret
        )
        return signing.canonical_query(signed)

    def _sign_v3(self, action: str, params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        headers = {
            "host": self._host,
            "x-acs-action": action,
            "x-acs-version": API_VERSION,
            "x-acs-date": utc_timestamp(self._clock()),
            "x-acs-signature-nonce": self._nonce(),
            "x-acs-content-sha256": signing.EMPTY_BODY_SHA256,
        }
        canonical = signing.v3_canonical_request("POST", "/", params, headers)
        _, signed_headers = signing.v3_canonical_headers(headers)
        signature = signing.v3_signature(
            signing.v3_string_to_sign(canonical), self._credentials.access_key_secret
        )
        headers["Authorization"] = signing.v3_authorization(
            self._credentials.access_key_id, signed_headers, signature
        )
        return signing.canonical_query(params), headers
