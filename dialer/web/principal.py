"""Who a request comes from, once dialer.web.auth has checked it."""

from __future__ import annotations

from dataclasses import dataclass

from dialer.accounts.roles import Permission, Role, allows, sees_whole_numbers


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
