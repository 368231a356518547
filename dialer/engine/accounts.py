"""People's accounts, their API tokens and sign-in links, and the audit trail, at rest in
Redis. Plain storage: what the fields mean (roles, hashes, versions) is dialer.accounts'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import redis

from dialer.engine.keys import Keys
from dialer.engine.store import text

Fields = dict[str, str]
_Entries = list[tuple[bytes, dict[bytes, bytes]]]


def _mapping(fields: Mapping[str, str]) -> dict[Any, Any]:
    # redis-py's stubs want its own key and value union; ours are str.
    return dict(fields)


def _fields(raw: object) -> Fields:
    return {text(k): text(v) for k, v in cast(dict[bytes, bytes], raw).items()}


class AccountStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    # --- accounts -----------------------------------------------------------------------

    def create(self, name: str, fields: Mapping[str, str]) -> bool:
        """Store a new account; False when the name is taken."""
        if not self.r.sadd(self.keys.accounts(), name):
            return False
        self.r.hset(self.keys.account(name), mapping=_mapping(fields))
        return True

    def get(self, name: str) -> Fields | None:
        found = _fields(self.r.hgetall(self.keys.account(name)))
        return found or None

    def names(self) -> list[str]:
        return sorted(text(n) for n in cast(set[bytes], self.r.smembers(self.keys.accounts())))

    def update(self, name: str, fields: Mapping[str, str], *, drop: tuple[str, ...] = ()) -> None:
        pipe = self.r.pipeline()
        if fields:
            pipe.hset(self.keys.account(name), mapping=_mapping(fields))
        if drop:
            pipe.hdel(self.keys.account(name), *drop)
        pipe.execute()

    def bump_version(self, name: str) -> int:
        """A new credential version: every session, token and link of the old one stops."""
        return int(self.r.hincrby(self.keys.account(name), "version", 1))

    # --- API tokens ---------------------------------------------------------------------

    def add_token(self, token_id: str, name: str, fields: Mapping[str, str]) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self.keys.api_token(token_id), mapping=_mapping({**fields, "account": name}))
        pipe.sadd(self.keys.account_tokens(name), token_id)
        pipe.execute()

    def token(self, token_id: str) -> Fields | None:
        found = _fields(self.r.hgetall(self.keys.api_token(token_id)))
        return found or None

    def token_ids(self, name: str) -> list[str]:
        ids = cast(set[bytes], self.r.smembers(self.keys.account_tokens(name)))
        return sorted(text(t) for t in ids)

    def drop_token(self, name: str, token_id: str) -> bool:
        pipe = self.r.pipeline()
        pipe.delete(self.keys.api_token(token_id))
        pipe.srem(self.keys.account_tokens(name), token_id)
        deleted, _ = pipe.execute()
        return bool(deleted)

    def drop_tokens(self, name: str) -> None:
        ids = self.token_ids(name)
        pipe = self.r.pipeline()
        for token_id in ids:
            pipe.delete(self.keys.api_token(token_id))
        pipe.delete(self.keys.account_tokens(name))
        pipe.execute()

    # --- one-time sign-in links ---------------------------------------------------------

    def add_link(self, link_id: str, fields: Mapping[str, str], ttl_s: int) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self.keys.sign_in_link(link_id), mapping=_mapping(fields))
        pipe.expire(self.keys.sign_in_link(link_id), ttl_s)
        pipe.execute()

    def take_link(self, link_id: str) -> Fields | None:
        """The link's fields, deleted in the same transaction: only one caller ever gets them."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hgetall(self.keys.sign_in_link(link_id))
        pipe.delete(self.keys.sign_in_link(link_id))
        found, _ = pipe.execute()
        return _fields(found) or None

    # --- the audit trail ----------------------------------------------------------------

    def append_audit(self, fields: Mapping[str, str], keep_after_ms: int) -> str:
        """Append an entry; entries older than `keep_after_ms` (epoch ms) are trimmed away.
        Exactly, not `~`: the trail is small (people's actions), and an entry kept past its
        retention is one kept longer than the company said it would be."""
        entry_id = self.r.xadd(
            self.keys.audit(), _mapping(fields), minid=str(max(keep_after_ms, 0)), approximate=False
        )
        return text(cast(bytes, entry_id))

    def audit_entries(
        self, since_ms: int | None = None, count: int | None = None
    ) -> list[tuple[str, Fields]]:
        """Entries in the order they were written, from `since_ms` (epoch ms) on."""
        start = str(since_ms) if since_ms is not None else "-"
        raw = cast(_Entries, self.r.xrange(self.keys.audit(), min=start, max="+", count=count))
        return [(text(entry_id), _fields(fields)) for entry_id, fields in raw]

    def latest_audit(self, count: int) -> list[tuple[str, Fields]]:
        """The newest `count` entries, newest first."""
        raw = cast(_Entries, self.r.xrevrange(self.keys.audit(), max="+", min="-", count=count))
        return [(text(entry_id), _fields(fields)) for entry_id, fields in raw]

    def now_ms(self) -> int:
        seconds, micros = self.r.time()
        return int(seconds) * 1000 + int(micros) // 1000
