"""Who is asking: the console token (DIALER_WEB_TOKEN, the bootstrap admin), personal API
tokens, browser sessions, CSRF tokens, and the slow-down after failed sign-ins.

A session cookie is `name~version~nonce.issued.signature`, signed with an HMAC keyed by the
console token: it needs no server-side store, and every session dies when the token changes.
A person's session also carries their account's credential version, checked against Redis on
every request, so disabling or resetting the account ends it at once. Its CSRF token is
another HMAC of the same nonce. Every comparison is constant-time. What each role may do is
dialer.web.access's business."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import defaultdict, deque

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request

from dialer.web.errors import Forbidden, Unauthorized
from dialer.web.people import BOOTSTRAP, TOKEN_PREFIX, People, Principal, Role, Session, same
from dialer.web.settings import WebSettings

COOKIE = "dialer_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FAILURE_WINDOW_S = 15 * 60
_NONCE = re.compile(r"([a-z][a-z0-9_-]{0,31})~(\d{1,12})~([A-Za-z0-9_-]{8,64})")


class Auth:
    def __init__(self, settings: WebSettings, people: People) -> None:
        self.settings = settings
        self.people = people
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _sign(self, purpose: str, value: str) -> str:
        key = self.settings.token.encode()
        return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, presented: str) -> bool:
        return same(presented, self.settings.token)

    # --- sessions -----------------------------------------------------------------------

    def new_session_cookie(self, name: str = BOOTSTRAP, version: int = 0) -> str:
        nonce = f"{name}~{version}~{secrets.token_urlsafe(16)}"
        issued = str(int(time.time()))
        return f"{nonce}.{issued}.{self._sign('session', nonce + '.' + issued)}"

    def session(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE, "")
        parts = raw.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        nonce, issued, signature = parts
        if not same(signature, self._sign("session", nonce + "." + issued)):
            return None
        if time.time() - int(issued) > self.settings.session_max_age_s:
            return None
        named = _NONCE.fullmatch(nonce)
        if named is None:
            return None
        return Session(nonce, int(issued), named[1], int(named[2]))

    def csrf_token(self, session: Session) -> str:
        return self._sign("csrf", session.nonce)

    # --- the checks every protected request passes --------------------------------------

    async def identify(self, request: Request) -> Principal:
        """The caller, from `Authorization: Bearer` or the session cookie; raises
        Unauthorized. A person's account must be enabled and at the credential version
        their token or session was made with."""
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, presented = header.partition(" ")
            presented = presented.strip()
            if scheme.lower() == "bearer" and presented.startswith(TOKEN_PREFIX):
                account = await run_in_threadpool(self.people.check_token, presented)
                if account is not None:
                    return Principal(account.name, account.role, "api-token")
            elif scheme.lower() == "bearer" and self.token_ok(presented):
                return Principal(BOOTSTRAP, Role.ADMIN, "console-token")
            await run_in_threadpool(self.people.sign_in_failed, "", address(request), "bearer")
            await self.failed(request)
            raise Unauthorized("the bearer token is not valid", "Auth.InvalidToken")
        session = self.session(request)
        if session is None:
            raise Unauthorized("sign in first, or send Authorization: Bearer <token>")
        if session.name == BOOTSTRAP:
            return Principal(BOOTSTRAP, Role.ADMIN, "session", session)
        account = await run_in_threadpool(self.people.current, session.name, session.version)
        if account is None:
            raise Unauthorized("this session has ended (account disabled or reset): sign in again")
        return Principal(account.name, account.role, "session", session)

    async def check_csrf(self, request: Request, principal: Principal) -> None:
        """A change made through a session must carry its CSRF token (header or form field)."""
        if principal.session is None or request.method in SAFE_METHODS:
            return
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented and request.headers.get("content-type", "").startswith(
            ("multipart/form-data", "application/x-www-form-urlencoded")
        ):
            field = (await request.form()).get(CSRF_FIELD)
            presented = field if isinstance(field, str) else ""
        if not presented or not same(presented, self.csrf_token(principal.session)):
            raise Forbidden("this change needs the page's CSRF token")

    # --- failed sign-ins ----------------------------------------------------------------

    async def failed(self, request: Request, account: str = "") -> None:
        """Count a failed sign-in from this address (and against this account name) and wait
        before answering: nothing for the first few, then twice as long for each further one
        (capped). The longer of the two waits applies, so spreading guesses over addresses
        does not help against one account."""
        now = time.monotonic()
        s = self.settings
        extra = 0
        for key in (f"address:{address(request)}", f"account:{account}" if account else ""):
            if not key:
                continue
            recent = self._failures[key]
            while recent and now - recent[0] > FAILURE_WINDOW_S:
                recent.popleft()
            recent.append(now)
            extra = max(extra, len(recent) - s.free_failures)
        if extra > 0:
            await asyncio.sleep(min(s.failure_delay_s * 2 ** (extra - 1), s.max_failure_delay_s))

    def succeeded(self, request: Request, account: str = "") -> None:
        self._failures.pop(f"address:{address(request)}", None)
        if account:
            self._failures.pop(f"account:{account}", None)


def address(request: Request) -> str:
    return request.client.host if request.client else "?"
