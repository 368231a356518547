"""The console's door into accounts and the audit trail (as dialer.web.backend is its door
into campaigns): the only web module besides the backend that calls into the library, so
library errors about accounts become dialer.web.errors here and nowhere else, and the names
the other web modules need (roles, permissions, outcomes) are re-exported from here."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from dialer.accounts.audit import PAGE as PAGE
from dialer.accounts.audit import Outcome, Trail, parse_since
from dialer.accounts.directory import BOOTSTRAP, Account, Directory
from dialer.accounts.directory import TOKEN_PREFIX as TOKEN_PREFIX
from dialer.accounts.hashing import same as same
from dialer.accounts.roles import Permission, Role, allows, sees_whole_numbers
from dialer.engine import AccountStore, open_accounts
from dialer.errors import AccountError, AccountNotFound, StoreError
from dialer.settings import Settings
from dialer.web.errors import BadRequest, NotFound, Unavailable

T = TypeVar("T")
USER_ACTIONS = ("disable", "enable", "reset")


@dataclass(frozen=True)
class Session:
    nonce: str
    issued: int
    name: str
    version: int


@dataclass(frozen=True)
class Principal:
    """The caller of one request: an account, or the bootstrap admin of the console token."""

    name: str
    role: Role
    via: str  # "console-token", "api-token" or "session"
    session: Session | None = None

    def may(self, permission: Permission | None) -> bool:
        return permission is None or allows(self.role, permission)

    @property
    def whole_numbers(self) -> bool:
        return sees_whole_numbers(self.role)


class People:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: AccountStore | None = None
        self._directory: Directory | None = None
        self._lock = threading.Lock()

    @property
    def directory(self) -> Directory:
        with self._lock:
            if self._directory is None:
                self._store = open_accounts(self.settings)
                self._directory = Directory(self._store)
            return self._directory

    @property
    def trail(self) -> Trail:
        return Trail(self.directory.store, self.settings.audit_retention_days)

    # --- proving who one is (dialer.web.auth) -------------------------------------------

    def current(self, name: str, version: int) -> Account | None:
        return _translated(lambda: self.directory.current(name, version))

    def check_token(self, presented: str) -> Account | None:
        return _translated(lambda: self.directory.check_token(presented))

    def check_password(self, name: str, password: str) -> Account | None:
        return _translated(lambda: self.directory.check_password(name, password))

    def redeem_link(self, presented: str) -> Account | None:
        return _translated(lambda: self.directory.redeem_link(presented))

    # --- the audit trail ----------------------------------------------------------------

    def record(
        self,
        principal: Principal,
        address: str,
        action: str,
        target: str = "",
        outcome: Outcome = Outcome.OK,
        detail: dict[str, Any] | None = None,
    ) -> None:
        _translated(
            lambda: self.trail.record(
                principal.name,
                action,
                role=principal.role.value,
                address=address,
                target=target,
                outcome=outcome,
                detail={"via": principal.via, **(detail or {})},
            )
        )

    def signed_in(self, account: Account | None, address: str, via: str) -> None:
        name, role = (account.name, account.role.value) if account else (BOOTSTRAP, "admin")
        _translated(
            lambda: self.trail.record(
                name, "sign-in", role=role, address=address, detail={"via": via}
            )
        )

    def sign_in_failed(self, name: str, address: str, via: str) -> None:
        """A failed sign-in, under the name tried only when an account has it (a password typed
        into the name field must not land in the trail)."""
        known = bool(name) and _translated(lambda: self.directory.find(name)) is not None
        _translated(
            lambda: self.trail.record(
                name if known else "",
                "sign-in",
                address=address,
                outcome=Outcome.FAILED,
                detail={"via": via},
            )
        )

    def audit(self, since: str | None, who: str | None, limit: int) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            since_ms = None
            if since:
                try:
                    since_ms = parse_since(since, self.directory.store.now_ms())
                except ValueError as exc:
                    raise BadRequest(f"since: {exc}") from None
            return [
                e.as_dict() for e in self.trail.entries(since_ms=since_ms, who=who, limit=limit)
            ]

        return _translated(read)

    # --- one's own account --------------------------------------------------------------

    def me(self, principal: Principal) -> dict[str, Any]:
        if principal.name == BOOTSTRAP:
            return {
                "name": BOOTSTRAP,
                "role": principal.role.value,
                "phone": "",
                "disabled": False,
                "has_password": False,
                "tokens": [],
                "via": principal.via,
            }
        account = _translated(lambda: self.directory.get(principal.name))
        tokens = _translated(lambda: self.directory.tokens(principal.name))
        return {**account.as_dict(), "via": principal.via, "tokens": [t.__dict__ for t in tokens]}

    def set_password(self, principal: Principal, password: str) -> None:
        _personal(principal)
        _translated(lambda: self.directory.set_password(principal.name, password))

    def new_token(self, principal: Principal, label: str) -> dict[str, Any]:
        _personal(principal)
        info, token = _translated(lambda: self.directory.issue_token(principal.name, label))
        return {**info.__dict__, "token": token}

    def revoke_token(self, principal: Principal, token_id: str) -> None:
        _personal(principal)
        if not _translated(lambda: self.directory.revoke_token(principal.name, token_id)):
            raise NotFound(f"no token {token_id!r} of yours", "Token.NotFound")

    # --- managing accounts (admins) -----------------------------------------------------

    def users(self) -> list[dict[str, object]]:
        return [a.as_dict() for a in _translated(self.directory.accounts)]

    def add(self, name: str, role: str, phone: str) -> dict[str, object]:
        """The new account and its one-time sign-in secret (for /login?link=...)."""
        account = _translated(lambda: self.directory.add(name, role, phone))
        link = _translated(lambda: self.directory.issue_link(name))
        return {**account.as_dict(), "link": link}

    def change(self, name: str, action: str) -> dict[str, object]:
        directory = self.directory
        if action == "reset":
            account = _translated(lambda: directory.reset(name))
            return {**account.as_dict(), "link": _translated(lambda: directory.issue_link(name))}
        verb = directory.disable if action == "disable" else directory.enable
        return _translated(lambda: verb(name)).as_dict()


def _personal(principal: Principal) -> None:
    if principal.name == BOOTSTRAP:
        raise BadRequest(
            "the console token is not a personal account: add one with `dialer users add`",
            "Account.NotPersonal",
        )


def _translated(call: Callable[[], T]) -> T:
    with _errors():
        return call()


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except AccountNotFound as exc:
        raise NotFound(str(exc), "Account.NotFound") from None
    except AccountError as exc:
        raise BadRequest(str(exc), "Account.Invalid") from None
    except StoreError:
        raise Unavailable("Redis cannot be reached") from None
