"""The Redis client every engine object uses: redis-py's, with its errors translated into the
dialer's in this one place (as httpx maps httpcore's), so nothing above the engine knows which
store the engine runs on.

- a lost connection, a timeout, a server still loading its data, a replica not yet promoted
  → `StoreUnavailable`
  (transient: whoever was acting waits and tries again);
- any other error Redis answers → `StoreError`.

`NoScriptError` passes through untouched: redis-py's `Script` catches it to load the script
and run it again."""

from __future__ import annotations

from typing import Any

import redis
from redis.client import Pipeline

from dialer.errors import StoreError, StoreUnavailable, clip


def translate(exc: Exception) -> Exception:
    """The dialer's error for a Redis-client error (or the error itself, if it is none)."""
    # ReadOnlyError: the endpoint still leads to a replica being promoted; nothing was written.
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | redis.ReadOnlyError | OSError):
        return StoreUnavailable(f"Redis cannot be reached: {clip(str(exc), 160)}")
    if isinstance(exc, redis.RedisError):
        return StoreError(f"Redis answered an error: {clip(str(exc), 160)}")
    return exc


class _Translating:
    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[misc]
        except redis.exceptions.NoScriptError:
            raise
        except (redis.RedisError, OSError) as exc:
            raise translate(exc) from exc


class TranslatingPipeline(_Translating, Pipeline):
    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return super().execute(raise_on_error)
        except (redis.RedisError, OSError) as exc:
            raise translate(exc) from exc


class Client(_Translating, redis.Redis):
    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> TranslatingPipeline:
        return TranslatingPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
