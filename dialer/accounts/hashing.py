"""Secrets kept only as hashes: scrypt (memory-hard, in the standard library) with a random
salt per secret, stored as `scrypt$N$r$p$salt$hash`; checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# 2**14 x 8 x 128 bytes = 16 MiB and some 50 ms a check: the parameters scrypt's author
# recommends for interactive sign-in.
N, R, P = 2**14, 8, 1
_DKLEN = 32
_MAXMEM = 64 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=_MAXMEM)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_derive(secret, salt, N, R, P))}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` is the one `stored` was made from. A malformed `stored` is False."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(secret, _unb64(salt), int(n), int(r), int(p))
        return hmac.compare_digest(derived, _unb64(digest))
    except ValueError:
        return False


def new_secret() -> str:
    """A random secret for a token or a sign-in link: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings, whatever their lengths."""
    return hmac.compare_digest(
        hashlib.sha256(a.encode()).digest(), hashlib.sha256(b.encode()).digest()
    )
