"""Who may use the console: the API token, browser sessions derived from it, CSRF tokens,
and the slow-down after failed sign-ins.

A session cookie is `nonce.issued.signature`, signed with an HMAC keyed by the token, so it
needs no server-side store and every session dies when the token changes. Its CSRF token is
another HMAC of the same nonce. Every comparison is constant-time."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from starlette.requests import Request

from dialer.web.errors import Forbidden, Unauthorized
from dialer.web.settings import WebSettings

COOKIE = "dialer_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FAILURE_WINDOW_S = 15 * 60


def _same(a: str, b: str) -> bool:
    # Digests first, so the comparison takes the same time whatever the lengths.
    return hmac.compare_digest(
        hashlib.sha256(a.encode()).digest(), hashlib.sha256(b.encode()).digest()
    )


@dataclass(frozen=True)
class Session:
    nonce: str
    issued: int


class Auth:
    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _sign(self, purpose: str, value: str) -> str:
        key = self.settings.token.encode()
        return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, presented: str) -> bool:
        return _same(presented, self.settings.token)

    # --- sessions -----------------------------------------------------------------------

    def new_session_cookie(self) -> str:
        nonce, issued = secrets.token_urlsafe(16), str(int(time.time()))
        return f"{nonce}.{issued}.{self._sign('session', nonce + '.' + issued)}"

    def session(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE, "")
        parts = raw.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        nonce, issued, signature = parts
        if not _same(signature, self._sign("session", nonce + "." + issued)):
            return None
        if time.time() - int(issued) > self.settings.session_max_age_s:
            return None
        return Session(nonce, int(issued))

    def csrf_token(self, session: Session) -> str:
        return self._sign("csrf", session.nonce)

    # --- the check every protected request passes ---------------------------------------

    async def require(self, request: Request) -> str:
        """'token' or 'session' when the request may go on; raises Unauthorized/Forbidden.
        A change made through a session must carry its CSRF token (header or form field)."""
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, presented = header.partition(" ")
            if scheme.lower() == "bearer" and self.token_ok(presented.strip()):
                return "token"
            await self.failed(request)
            raise Unauthorized("the bearer token is not valid", "Auth.InvalidToken")
        session = self.session(request)
        if session is None:
            raise Unauthorized("sign in first, or send Authorization: Bearer <token>")
        if request.method not in SAFE_METHODS:
            presented = request.headers.get(CSRF_HEADER, "")
            if not presented and request.headers.get("content-type", "").startswith(
                ("multipart/form-data", "application/x-www-form-urlencoded")
            ):
                field = (await request.form()).get(CSRF_FIELD)
                presented = field if isinstance(field, str) else ""
            if not presented or not _same(presented, self.csrf_token(session)):
                raise Forbidden("this change needs the page's CSRF token")
        return "session"

    # --- failed sign-ins ----------------------------------------------------------------

    async def failed(self, request: Request) -> None:
        """Count a failed sign-in from this address and wait before answering: nothing for
        the first few, then twice as long for each further one (capped)."""
        address = request.client.host if request.client else "?"
        now = time.monotonic()
        recent = self._failures[address]
        while recent and now - recent[0] > FAILURE_WINDOW_S:
            recent.popleft()
        recent.append(now)
        s = self.settings
        extra = len(recent) - s.free_failures
        if extra > 0:
            await asyncio.sleep(min(s.failure_delay_s * 2 ** (extra - 1), s.max_failure_delay_s))

    def succeeded(self, request: Request) -> None:
        self._failures.pop(request.client.host if request.client else "?", None)
