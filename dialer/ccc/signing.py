"""Request signing for Alibaba Cloud RPC APIs: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).

Both are pure functions over strings so the test vectors in ccc-api-notes.md can be checked
byte for byte, and so the simulator can verify with exactly the code the client signs with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba specifies: only A-Z a-z 0-9 - _ . ~ stay literal."""
    return quote(value, safe="~", encoding="utf-8")


def canonical_query(params: Mapping[str, str]) -> str:
    """Sorted `k=v&...` with both sides percent-encoded (shared by V1 and V3)."""
    return "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    signed = {k: v for k, v in params.items() if k != "Signature"}
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(signed))}"


def v1_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    digest = hmac.new(
        (secret + "&").encode(), v1_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def v3_canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(canonical header block, signed header list) over the headers given, lowercased."""
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    names = sorted(lowered)
    block = "".join(f"{name}:{lowered[name]}\n" for name in names)
    return block, ";".join(names)


def v3_canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str = EMPTY_BODY_SHA256,
) -> str:
    block, signed = v3_canonical_headers(headers)
    parts = (method.upper(), path or "/", canonical_query(query), block, signed, payload_sha256)
    return "\n".join(parts)


def v3_string_to_sign(canonical_request: str) -> str:
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def v3_signature(string_to_sign: str, secret: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def v3_authorization(access_key_id: str, signed_headers: str, signature: str) -> str:
    return (
        f"{V3_ALGORITHM} Credential={access_key_id},"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )
