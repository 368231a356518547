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
that second delivery a no-op."""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.ConnectionError("this channel's broker connection is already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel


TRANSPORT = f"{__name__}:Transport"
