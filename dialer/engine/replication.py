"""Which Redis primary the engine talks to, and how many of its replicas must hold a claim
before the act it guards (a call to CCC) happens.

Redis replicates asynchronously: a write the primary acknowledged may not have reached a
replica when the primary dies, and a promoted replica has never heard of it. A claim that is
lost that way lets its row be dialled again. So the claims that an act outside Redis follows
are sent with `WAIT numreplicas timeout` in the same round trip (scripts.Scripts._acked),
and the act only happens once the replicas hold them.

How many replicas: DIALER_REDIS_MIN_REPLICAS, else as many as the primary reports
(`INFO replication` connected_slaves), read on first use and again by each worker's monitor
thread, never per call. A lone Redis reports none: no WAIT is sent at all."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Primary:
    """One Redis server as it describes itself. A different `run_id` or `replid` is a
    different primary: a failover (or a restart)."""

    run_id: str
    replid: str
    role: str
    replicas: int  # replicas connected to it now

    @property
    def identity(self) -> tuple[str, str]:
        return self.run_id, self.replid


def read_primary(client: redis.Redis) -> Primary:
    """`INFO server` and `INFO replication`, in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.info("server")
    pipe.info("replication")
    server, replication = pipe.execute()
    return Primary(
        run_id=str(server.get("run_id", "")),  # INFO parses all-digit values as numbers
        replid=str(replication.get("master_replid", "")),
        role=str(replication.get("role", "")),
        replicas=int(replication.get("connected_slaves", 0)),
    )


class Replication:
    """The replicas a claim must reach (`required`) and the primary last seen."""

    def __init__(self, client: redis.Redis, *, min_replicas: int | None, timeout_ms: int) -> None:
        self.client = client
        self.min_replicas = min_replicas
        self.timeout_ms = timeout_ms
        self._seen: Primary | None = None
        self._replaced: Primary | None = None
        self._lock = threading.Lock()

    @property
    def seen(self) -> Primary | None:
        return self._seen

    def required(self) -> int:
        """Replicas that must acknowledge a claim (0: send no WAIT)."""
        if self.min_replicas is not None:
            return self.min_replicas
        seen = self._seen
        return (seen or self.refresh()).replicas

    def refresh(self) -> Primary:
        """Read the primary now (a different one than seen before is kept for `replaced`)."""
        primary = read_primary(self.client)
        with self._lock:
            before, self._seen = self._seen, primary
            if before is not None and before.identity != primary.identity:
                self._replaced = self._replaced or before
        return primary

    def replaced(self) -> Primary | None:
        """The primary seen before a failover (or a restart) that `refresh` found since the
        last call, else None."""
        with self._lock:
            before, self._replaced = self._replaced, None
        return before
