"""Kombu's Redis transport with one fault worked around: after the broker connection drops,
Celery (5.7) closes the lost connection after collecting its transport, and acks of tasks that
finished meanwhile still go to channels of that transport. kombu then builds a Redis client
from a transport whose client is gone and raises AttributeError ('NoneType' object has no
attribute 'hostname'), which is no connection error: Celery calls it unrecoverable and the
worker process exits (seen with the threads pool; the same AttributeError is
https://github.com/celery/kombu/issues/582). Elsewhere the same reconnect leaves workers
alive but no longer consuming (https://github.com/celery/celery/issues/8030,
https://github.com/celery/celery/issues/10205): the worker's monitor watches for that
(dialer.worker.monitor.Monitor.watch_for_stall).

Here a channel of a closed connection raises redis.ConnectionError instead: a connection
error, which Celery logs ("Couldn't ack") and recovers from by reconnecting. The unacked
message is restored after the visibility timeout, and its row's compare-and-set state makes
that second delivery a no-op.

The same fix on kombu's Sentinel transport (SentinelChannel builds its pool from the same
`_connparams`), for DIALER_REDIS_URL's Sentinel form: `broker_url()` spells it as kombu
wants it (`sentinel://HOST:PORT/DB;sentinel://...`, the service as the `master_name`
transport option)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import redis
from kombu.transport import redis as kombu_redis

from dialer.engine.connection import sentinel_url


class ClosedConnectionGuard:
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:  # type: ignore[attr-defined]
            raise redis.ConnectionError("this channel's broker connection is already closed")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]


class Channel(ClosedConnectionGuard, kombu_redis.Channel):
    pass


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelChannel(ClosedConnectionGuard, kombu_redis.SentinelChannel):
    pass


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel


TRANSPORT = f"{__name__}:Transport"
SENTINEL_TRANSPORT = f"{__name__}:SentinelTransport"


def broker(url: str) -> tuple[str, str, dict[str, Any]]:
    """(Celery's broker URL, its transport, extra transport options) for a Redis URL."""
    found = sentinel_url(url)
    if found is None:
        return url, TRANSPORT, {}
    auth = ""
    if found.password is not None:
        auth = f"{quote(found.username or '', safe='')}:{quote(found.password, safe='')}@"
    urls = ";".join(f"sentinel://{auth}{host}:{port}/{found.db}" for host, port in found.sentinels)
    return urls, SENTINEL_TRANSPORT, {"master_name": found.service}
