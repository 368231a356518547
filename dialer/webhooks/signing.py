"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the receiver checks
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with a secret `whsec_<base64 key>`,
as the `standardwebhooks` packages do. During a rotation each secret signs, newest first,
and the signatures go space-separated in one header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random

from dialer.errors import ConfigError

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret: 24 random bytes, as Svix and the Standard Webhooks libraries make."""
    return PREFIX + base64.b64encode(random.token_bytes(24)).decode()


def check_secret(secret: str, what: str) -> str:
    """The secret if it reads as one; a ConfigError naming `what` (never the secret) if not."""
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except ValueError:
        key = b""
    if not key:
        raise ConfigError(
            f"{what} must be 'whsec_' followed by base64 (e.g. a secret that "
            "`dialer upload --webhook URL` printed)"
        )
    return secret


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: tuple[str, ...], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per secret."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }
