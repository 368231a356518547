"""DIALER_REDIS_URL's two forms, as the engine and Celery read them, and the replication
settings (the failover behaviour itself: tests/integration/test_failover.py)."""

from __future__ import annotations

import pytest

from dialer.engine.connection import check_redis_url, sentinel_url, without_password
from dialer.errors import ConfigError
from dialer.settings import Settings
from tasks.app import celery_config
from tasks.broker import SENTINEL_TRANSPORT, TRANSPORT

SENTINELS = "redis+sentinel://:pa%40ss@10.0.0.1:26379,10.0.0.2:26380,sentinel3/mymaster/2"


def test_the_sentinel_form_names_every_sentinel_the_service_and_the_db() -> None:
    found = sentinel_url(SENTINELS)
    assert found is not None
    assert found.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380), ("sentinel3", 26379))
    assert (found.service, found.db, found.password) == ("mymaster", 2, "pa@ss")
    assert sentinel_url("redis+sentinel://s1/mymaster").db == 0  # type: ignore[union-attr]
    assert sentinel_url("redis://h:6379/0") is None
    assert check_redis_url(SENTINELS) == SENTINELS
    assert "pa%40ss" not in without_password(SENTINELS)


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://s1:port/mymaster/0",
        "redis+sentinel://s1:26379/",
        "redis+sentinel://s1:26379/mymaster/zero",
        "redis+sentinel://s1:26379/mymaster/0/extra",
        "redis+sentinel://:secret@s1:70000/mymaster",
        "sentinel://s1:26379/mymaster",
    ],
)
def test_a_malformed_url_is_one_clear_line_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError, match="DIALER_REDIS_URL must look like") as caught:
        check_redis_url(url)
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


def test_celery_takes_the_sentinels_through_kombus_sentinel_transport() -> None:
    config = celery_config(Settings(redis_url=SENTINELS, namespace="n"))
    assert config["broker_transport"] == SENTINEL_TRANSPORT
    assert config["broker_url"] == (
        "sentinel://:pa%40ss@10.0.0.1:26379/2;sentinel://:pa%40ss@10.0.0.2:26380/2;"
        "sentinel://:pa%40ss@sentinel3:26379/2"
    )
    options = config["broker_transport_options"]
    assert options["master_name"] == "mymaster" and options["global_keyprefix"]
    plain = celery_config(Settings(redis_url="redis://h:6379/0"))
    assert plain["broker_transport"] == TRANSPORT and plain["broker_url"] == "redis://h:6379/0"
    assert "master_name" not in plain["broker_transport_options"]


def test_replicas_to_wait_for_default_to_what_the_primary_reports() -> None:
    default = Settings.from_env({})
    assert default.redis_min_replicas is None and default.timing().min_replicas is None
    assert default.timing().replica_wait_ms == 1000
    set_ = Settings.from_env(
        {"DIALER_REDIS_MIN_REPLICAS": "0", "DIALER_REDIS_WAIT_TIMEOUT_S": "0.25"}
    )
    assert set_.timing().min_replicas == 0 and set_.timing().replica_wait_ms == 250
    for bad in ("-1", "one", "1.5"):
        with pytest.raises(ConfigError, match="DIALER_REDIS_MIN_REPLICAS must be a whole"):
            Settings.from_env({"DIALER_REDIS_MIN_REPLICAS": bad})
