"""People's accounts: who they are (name, role, an agent's phone number), how they prove it
(a one-time sign-in link, a password, personal API tokens) and how that is taken back.

Every credential carries the account's credential *version*: disabling or resetting an
account moves the version on, so every session, token and link made before stops working on
its next use. Secrets are kept only as scrypt hashes (dialer.accounts.hashing)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import cache

from dialer.accounts.hashing import hash_secret, new_secret, verify_secret
from dialer.accounts.roles import Role
from dialer.engine.accounts import AccountStore, Fields
from dialer.errors import AccountError, AccountNotFound
from dialer.phones import is_phone, normalise_number

NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# The console token (DIALER_WEB_TOKEN) signs in as this admin; no stored account has its name.
BOOTSTRAP = "web-token"
TOKEN_PREFIX = "dlr_"
LINK_TTL_S = 24 * 3600
MIN_PASSWORD = 10
_TOKEN_CACHE_MAX = 1024


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    phone: str = ""  # an agent's own phone number
    disabled: bool = False
    version: int = 0
    has_password: bool = False
    created_ms: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role.value,
            "phone": self.phone,
            "disabled": self.disabled,
            "has_password": self.has_password,
            "created_ms": self.created_ms,
        }

    @classmethod
    def from_fields(cls, name: str, raw: Fields) -> Account:
        return cls(
            name=name,
            role=Role(raw.get("role", Role.VIEWER.value)),
            phone=raw.get("phone", ""),
            disabled=raw.get("disabled") == "1",
            version=int(raw.get("version") or 0),
            has_password=bool(raw.get("password")),
            created_ms=int(raw.get("created") or 0),
        )


@dataclass(frozen=True)
class TokenInfo:
    id: str
    label: str
    created_ms: int


def check_name(name: str) -> str:
    if not NAME.fullmatch(name) or name == BOOTSTRAP:
        raise AccountError(
            f"account name {name!r}: use 1-32 lowercase letters, digits, - or _, starting with "
            f"a letter (and not {BOOTSTRAP!r})"
        )
    return name


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(
            f"role {role!r}: must be one of {', '.join(r.value for r in Role)}"
        ) from None


def check_phone(phone: str) -> str:
    number = normalise_number(phone) if phone else ""
    if number and not is_phone(number):
        raise AccountError(f"phone {phone!r}: must be a mobile or landline number")
    return number


class Directory:
    def __init__(self, store: AccountStore) -> None:
        self.store = store
        self._verified: dict[str, bytes] = {}  # token id -> sha256 of a secret scrypt accepted

    # --- accounts -----------------------------------------------------------------------

    def add(self, name: str, role: str, phone: str = "") -> Account:
        fields = {
            "role": check_role(role).value,
            "phone": check_phone(phone),
            "disabled": "0",
            "version": "1",
            "created": str(self.store.now_ms()),
        }
        if not self.store.create(check_name(name), fields):
            raise AccountError(f"there is already an account {name!r}")
        return self.get(name)

    def find(self, name: str) -> Account | None:
        if not NAME.fullmatch(name):
            return None
        raw = self.store.get(name)
        return Account.from_fields(name, raw) if raw else None

    def get(self, name: str) -> Account:
        account = self.find(name)
        if account is None:
            raise AccountNotFound(f"no account {name!r}")
        return account

    def accounts(self) -> list[Account]:
        return [a for a in (self.find(n) for n in self.store.names()) if a is not None]

    def disable(self, name: str) -> Account:
        """Disabled, and every session and token of it ended (enabling does not revive them)."""
        self.get(name)
        self.store.update(name, {"disabled": "1"})
        self.store.bump_version(name)
        self.store.drop_tokens(name)
        return self.get(name)

    def enable(self, name: str) -> Account:
        self.get(name)
        self.store.update(name, {"disabled": "0"})
        return self.get(name)

    def reset(self, name: str) -> Account:
        """Password, tokens, sessions and links all gone; a new sign-in link is the way back."""
        self.get(name)
        self.store.update(name, {}, drop=("password",))
        self.store.bump_version(name)
        self.store.drop_tokens(name)
        return self.get(name)

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
        self.get(name)
        self.store.update(name, {"password": hash_secret(password)})

    # --- proving who one is -------------------------------------------------------------

    def check_password(self, name: str, password: str) -> Account | None:
        """The account, when it exists, is enabled and `password` is its password."""
        raw = self.store.get(name) if NAME.fullmatch(name) else None
        if not raw or not raw.get("password"):
            # The same work as a real check, so a missing name answers no faster.
            verify_secret(password, _dummy_hash())
            return None
        if not verify_secret(password, raw["password"]) or raw.get("disabled") == "1":
            return None
        return Account.from_fields(name, raw)

    def current(self, name: str, version: int) -> Account | None:
        """The account, when it is enabled and still at credential `version`."""
        account = self.find(name) if name != BOOTSTRAP else None
        if account is None or account.disabled or account.version != version:
            return None
        return account

    def issue_link(self, name: str) -> str:
        """A one-time sign-in secret (`id.secret`) for the account, good for LINK_TTL_S."""
        account = self.get(name)
        link_id, secret = secrets.token_hex(8), new_secret()
        fields = {"account": name, "version": str(account.version), "hash": hash_secret(secret)}
        self.store.add_link(link_id, fields, LINK_TTL_S)
        return f"{link_id}.{secret}"

    def redeem_link(self, presented: str) -> Account | None:
        link_id, _, secret = presented.partition(".")
        if not re.fullmatch(r"[0-9a-f]{16}", link_id) or not secret:
            return None
        raw = self.store.take_link(link_id)
        if raw is None or not verify_secret(secret, raw.get("hash", "")):
            return None
        return self.current(raw.get("account", ""), int(raw.get("version") or -1))

    def issue_token(self, name: str, label: str = "") -> tuple[TokenInfo, str]:
        """A personal API token: (what is kept about it, the token itself — shown once)."""
        account = self.get(name)
        token_id, secret = secrets.token_hex(8), new_secret()
        created = self.store.now_ms()
        self.store.add_token(
            token_id,
            name,
            {
                "version": str(account.version),
                "hash": hash_secret(secret),
                "label": label[:80],
                "created": str(created),
            },
        )
        return TokenInfo(token_id, label[:80], created), f"{TOKEN_PREFIX}{token_id}_{secret}"

    def check_token(self, presented: str) -> Account | None:
        """The account of a personal API token, when the token and its account are current."""
        token_id, _, secret = presented.removeprefix(TOKEN_PREFIX).partition("_")
        if not presented.startswith(TOKEN_PREFIX) or not re.fullmatch(r"[0-9a-f]{16}", token_id):
            return None
        raw = self.store.token(token_id)
        if raw is None:
            self._verified.pop(token_id, None)
            return None
        digest = hashlib.sha256(secret.encode()).digest()
        known = self._verified.get(token_id)
        # scrypt costs ~50 ms: a token already proven is compared by its digest. The check of
        # the account and its version below still runs on every request.
        if known is None or not hmac.compare_digest(known, digest):
            if not verify_secret(secret, raw.get("hash", "")):
                return None
            if len(self._verified) >= _TOKEN_CACHE_MAX:
                self._verified.clear()
            self._verified[token_id] = digest
        return self.current(raw.get("account", ""), int(raw.get("version") or -1))

    def tokens(self, name: str) -> list[TokenInfo]:
        found = []
        for token_id in self.store.token_ids(name):
            raw = self.store.token(token_id)
            if raw:
                found.append(TokenInfo(token_id, raw.get("label", ""), int(raw.get("created", 0))))
        return found

    def revoke_token(self, name: str, token_id: str) -> bool:
        if token_id not in self.store.token_ids(name):
            return False
        self._verified.pop(token_id, None)
        return self.store.drop_token(name, token_id)


@cache
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(16))
