from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from support import NUMBERS, WorkerPool

from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Simulator, SimulatorConfig
from dialer.engine import CampaignStore, Engine, Keys
from dialer.engine.client import Client
from dialer.engine.embedded import EmbeddedRedis
from dialer.models import Timing
from dialer.settings import Credentials


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    """A private redis-server for the whole session; tests isolate by namespace."""
    server = EmbeddedRedis().start()
    yield server
    server.cleanup()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    """The engine's own client (Redis errors arrive as the dialer's), on the session's server."""
    client = Client.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def make_engine(redis_client: redis.Redis, namespace: str):
    """An Engine on the session's Redis in this test's namespace, with Timing(**knobs)."""

    def make(**knobs) -> Engine:
        return Engine(CampaignStore(redis_client, Keys(namespace)), Timing(**knobs))

    return make


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine()


@pytest.fixture
def client(simulator: Simulator) -> CccClient:
    """Our CCC client, signed for the simulator's default key."""
    return CccClient(simulator.url, Credentials("testid", "testsecret"))


@pytest.fixture
def simulator(tmp_path) -> Iterator[Simulator]:
    config = SimulatorConfig(numbers=NUMBERS, seed=7, calls_log=tmp_path / "calls.jsonl")
    with Simulator(config) as sim:
        yield sim


@pytest.fixture
def workers(tmp_path) -> Iterator:
    pools: list[WorkerPool] = []

    def make(env: dict[str, str], name: str = "w") -> WorkerPool:
        pool = WorkerPool(env, tmp_path, name)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.stop_all()
