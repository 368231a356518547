"""Redis fails over mid-campaign and no callee is dialled twice: a primary and a replica on
127.0.0.1, real `celery worker` processes, the simulator over HTTP. The replica's replication
stream is stalled (writes the primary acknowledged never reach it), the primary is killed with
SIGKILL, the replica promoted and the endpoint switched to it — what a managed Redis does."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
import redis
import requests
from support import (
    NUMBERS,
    calls_log,
    engine_env,
    feed_now,
    new_campaign,
    wait_until,
    write_sheet,
)
from tcp_proxy import TcpProxy

from dialer.campaign.status import render, status_view
from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Simulator
from dialer.engine import CampaignStore, Engine, Keys, open_engine
from dialer.engine.client import Client
from dialer.engine.embedded import EmbeddedRedis, free_port, redis_server_binary
from dialer.errors import StoreUnavailable
from dialer.models import TERMINAL_STATES, CampaignStatus, RowState, Timing
from dialer.settings import Credentials, Settings
from dialer.web.schemas import CampaignStatusDoc
from dialer.worker.dialing import REPLICATION_LAG, place_one
from dialer.worker.failover import Journal

# Short leases, and UNKNOWN rows looked up in the call records a second later: the rows whose
# FINISH the failover lost are DIALING on the new primary, swept UNKNOWN, then found.
FAST = {
    "DIALER_RECONCILE_WAIT_S": "1",
    "DIALER_CDR_MARGIN_S": "1",
    "DIALER_RECORDS_POLL_S": "0.5",
}


class Pair:
    """A primary, a replica fed through a link the test can stall, one endpoint for both."""

    def __init__(self, tmp_path: Any) -> None:
        self.primary = EmbeddedRedis(tmp_path / "primary").start()
        self.replica = EmbeddedRedis(tmp_path / "replica").start()
        self.link = TcpProxy(self.primary.port)
        self.endpoint = TcpProxy(self.primary.port)
        r = redis.Redis(port=self.replica.port)
        r.replicaof("127.0.0.1", self.link.port)
        wait_until(lambda: r.info("replication")["master_link_status"] == "up", 20, "replication")
        r.close()

    def fail_over(self) -> None:
        """SIGKILL the primary, promote the replica, point the endpoint at it."""
        self.primary.stop(kill=True)
        r = redis.Redis(port=self.replica.port)
        r.replicaof("NO", "ONE")
        r.close()
        self.endpoint.switch(self.replica.port)

    def close(self) -> None:
        self.endpoint.close()
        self.link.close()
        self.primary.cleanup()
        self.replica.cleanup()


@pytest.fixture
def pair(tmp_path) -> Iterator[Pair]:
    p = Pair(tmp_path)
    yield p
    p.close()


def patiently(read: Callable[[], Any]) -> Callable[[], Any]:
    """`read`, answering None while the endpoint is between servers."""

    def attempt() -> Any:
        try:
            return read()
        except StoreUnavailable:
            return None

    return attempt


def calls(sim: Simulator) -> list[dict]:
    return calls_log(sim.config.calls_log)


def settled(engine: Engine, cid: str, sim: Simulator) -> bool:
    """DONE, every row terminal, and every call placed found on its row (the rows whose
    FINISH the failover lost are swept UNKNOWN, then found in the call records)."""
    if engine.store.campaign(cid).status is not CampaignStatus.DONE:
        return False
    rows = {record[2]: state for record, state, _ in engine.store.iter_rows(cid)}
    placed = {c["callee"] for c in calls(sim)}
    return all(state in TERMINAL_STATES for state in rows.values()) and all(
        rows.get(callee) == RowState.DISPATCHED for callee in placed
    )


def assert_nobody_twice_and_every_call_accounted_for(
    engine: Engine, cid: str, sim: Simulator
) -> None:
    placed = calls(sim)
    twice = {c: n for c, n in Counter(c["callee"] for c in placed).items() if n > 1}
    assert not twice, f"{len(placed)} calls, {len(twice)} callees dialled twice"
    rows = list(engine.store.iter_rows(cid))
    assert all(state in TERMINAL_STATES for _, state, _ in rows)
    by_callee = {record[2]: (state, result) for record, state, result in rows}
    for call in placed:
        state, result = by_callee[call["callee"]]
        assert state == RowState.DISPATCHED and result["job_id"] == call["job_id"], call
    assert sum(state == RowState.DISPATCHED for _, state, _ in rows) == len(placed)


def test_a_failover_that_loses_acknowledged_writes_dials_nobody_twice(
    pair, simulator, namespace, workers, tmp_path
) -> None:
    engine = Engine(CampaignStore(Client.from_url(pair.endpoint.url), Keys(namespace)))
    rows = 4 * 20
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", rows), pool=NUMBERS, rate_per_s=5.0)
    w = workers(engine_env(pair.endpoint.url, namespace, simulator.url, **FAST))
    w.start()
    w.start()
    wait_until(lambda: len(calls(simulator)) >= 12, 30, "the campaign under way")
    pair.link.stall()
    stalled_at = len(calls(simulator))
    time.sleep(2.0)
    during_stall = len(calls(simulator)) - stalled_at
    pair.fail_over()
    done = patiently(lambda: settled(engine, cid, simulator))
    wait_until(done, 120, "every row settled", tick=w.revive)
    print(f"{rows} rows -> {len(calls(simulator))} calls; {during_stall} left during the stall")
    assert_nobody_twice_and_every_call_accounted_for(engine, cid, simulator)


class CountingConnection(redis.Connection):
    """Counts the sends (one per command, or per pipeline: one round trip each) and the
    commands they carried."""

    sent: ClassVar[int] = 0
    commands: ClassVar[list[str]] = []
    NAME = re.compile(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n")

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        packed = command if isinstance(command, bytes) else b"".join(command)
        CountingConnection.commands += [n.decode().upper() for n in self.NAME.findall(packed)]
        super().send_packed_command(command, check_health)


def counted_engine(port: int, namespace: str, **timing: Any) -> Engine:
    pool = redis.ConnectionPool(port=port, connection_class=CountingConnection)
    return Engine(CampaignStore(Client(connection_pool=pool), Keys(namespace)), Timing(**timing))


def round_trips_per_call(engine: Engine, client: CccClient, tmp_path: Any) -> tuple[float, set]:
    """Rows placed one by one: (round trips to Redis per BEGIN_DIAL, the commands sent)."""
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 6), pool=NUMBERS, rate_per_s=50.0)
    campaign = engine.store.campaign(cid)
    jobs = feed_now(engine, cid)
    engine.begin_dial(jobs[0], _caps(), 0.0)  # the first: INFO replication is read once
    begun = 0
    CountingConnection.sent, CountingConnection.commands = 0, []
    for job in jobs[1:]:
        assert engine.begin_dial(job, _caps(), 0.0).begun_at_ms
        begun += 1
    trips, commands = CountingConnection.sent / begun, set(CountingConnection.commands)
    for job in jobs[1:]:  # a DIALING row is finished by its worker
        place_one(engine, client, campaign, job)
    return trips, commands


def _caps():
    from dialer.engine import Caps

    return Caps("20261124", "202611", 0, 0, 0, 0, 0)


def test_a_lone_redis_pays_no_round_trip_and_no_wait_for_replication(
    redis_server, namespace, client, tmp_path
) -> None:
    engine = counted_engine(redis_server.port, namespace)
    trips, commands = round_trips_per_call(engine, client, tmp_path)
    assert engine.replication.required() == 0
    assert trips == 1 and commands == {"EVALSHA"}


def test_with_a_replica_the_claim_and_its_wait_share_one_round_trip(
    pair, namespace, client, tmp_path
) -> None:
    engine = counted_engine(pair.primary.port, namespace)
    trips, commands = round_trips_per_call(engine, client, tmp_path)
    assert engine.replication.required() == 1
    assert trips == 1 and commands == {"EVALSHA", "WAIT"}


def test_a_claim_the_replicas_do_not_acknowledge_is_not_dialled_and_waits_uncounted(
    pair, namespace, client, simulator, tmp_path
) -> None:
    engine = Engine(
        CampaignStore(Client(port=pair.primary.port), Keys(namespace)), Timing(replica_wait_ms=200)
    )
    cid = new_campaign(
        engine, write_sheet(tmp_path / "s.csv", 1), pool=NUMBERS[:1], callee_daily_cap=1
    )
    [job] = feed_now(engine, cid)
    pair.link.stall()
    assert place_one(engine, client, engine.store.campaign(cid), job) == "NOT_PLACED"
    assert simulator.state.snapshot() == []
    assert engine.store.counts(cid) == {"RETRY_WAIT": 1}
    result = engine.store.result_of(cid, 1)
    assert result["error_code"] == REPLICATION_LAG and not result.get("attempts")
    report = status_view(engine, cid)
    assert report.as_dict()["replication_lag"]["code"] == REPLICATION_LAG  # type: ignore[index]
    assert "calls held back: Redis replicas did not acknowledge" in render(report)
    assert CampaignStatusDoc.model_validate(report.as_dict()).replication_lag is not None
    # Nothing counted against the callee's cap: once the replica is back, the row is dialled.
    pair.link.flow()
    wait_until(lambda: engine.upkeep(engine.store.campaign(cid)).retries_released, 10, "retry")
    [again] = feed_now(engine, cid)
    assert place_one(engine, client, engine.store.campaign(cid), again) == "DISPATCHED"
    assert len(simulator.state.snapshot()) == 1


def test_after_a_failover_a_worker_writes_again_the_finish_the_new_primary_lacks(
    pair, namespace, simulator, tmp_path
) -> None:
    engine = Engine(CampaignStore(Client.from_url(pair.endpoint.url), Keys(namespace)))
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 1), pool=NUMBERS[:1])
    [job] = feed_now(engine, cid)
    assert engine.check_primary() is None
    # The claim reaches the replica; the call's FINISH, written once CCC answered, does not.
    session = requests.Session()
    session.hooks["response"].append(lambda *_, **__: pair.link.stall())
    client = CccClient(simulator.url, Credentials("testid", "testsecret"), session=session)
    journal = Journal()
    assert place_one(engine, client, engine.store.campaign(cid), job, journal=journal) == (
        "DISPATCHED"
    )
    pair.fail_over()
    assert wait_until(patiently(engine.check_primary), 10, "the new primary seen") is not None
    assert engine.store.counts(cid) == {"DIALING": 1}  # the FINISH was lost
    assert journal.replay() == 1
    [call] = simulator.state.snapshot()
    assert engine.store.counts(cid) == {"DISPATCHED": 1}
    assert engine.store.result_of(cid, 1)["job_id"] == call.job_id
    assert journal.replay() == 0  # written again: it finds the row moved on


class Sentinels:
    """Three `redis-server --sentinel` on 127.0.0.1 watching `primary` as SERVICE: down after
    a second without an answer, a failover agreed by two. (They find the replica in the
    primary's INFO, by the port it listens on, not through the link it replicates over.)"""

    SERVICE = "dialer-primary"

    def __init__(self, tmp_path: Any, primary: EmbeddedRedis) -> None:
        self.procs: list[subprocess.Popen] = []
        self.ports = [free_port() for _ in range(3)]
        for port in self.ports:
            conf = tmp_path / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                f"sentinel monitor {self.SERVICE} 127.0.0.1 {primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
                f"sentinel failover-timeout {self.SERVICE} 10000\n"
            )
            log = open(tmp_path / f"sentinel-{port}.log", "wb")  # noqa: SIM115
            self.procs.append(
                subprocess.Popen(
                    [redis_server_binary(), str(conf), "--sentinel"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        self.url = f"redis+sentinel://{hosts}/{self.SERVICE}/0"

        def all_see_the_replica() -> bool:
            for port in self.ports:
                try:
                    r = redis.Redis(port=port)
                    if not r.sentinel_slaves(self.SERVICE):
                        return False
                except redis.RedisError:
                    return False
            return True

        wait_until(all_see_the_replica, 20, "the sentinels to find the replica")

    def primary_port(self) -> int:
        return int(
            redis.Redis(port=self.ports[0]).sentinel_get_master_addr_by_name(self.SERVICE)[1]
        )

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)


def test_with_sentinels_a_primary_killed_mid_campaign_dials_nobody_twice(
    simulator, namespace, workers, tmp_path
) -> None:
    primary = EmbeddedRedis(tmp_path / "primary").start()
    replica = EmbeddedRedis(tmp_path / "replica").start()
    link = TcpProxy(primary.port)
    sentinels = None
    w = None
    try:
        r = redis.Redis(port=replica.port)
        r.replicaof("127.0.0.1", link.port)
        wait_until(lambda: r.info("replication")["master_link_status"] == "up", 20, "replication")
        sentinels = Sentinels(tmp_path, primary)
        env = engine_env(sentinels.url, namespace, simulator.url, **FAST)
        engine = open_engine(Settings.from_env(env))
        rows = 4 * 20
        cid = new_campaign(
            engine, write_sheet(tmp_path / "s.csv", rows), pool=NUMBERS, rate_per_s=5.0
        )
        w = workers(env)
        w.start()
        w.start()
        wait_until(lambda: len(calls(simulator)) >= 12, 30, "the campaign under way")
        link.stall()  # the replica falls behind; the Sentinels still see its link up
        time.sleep(2.0)
        primary.stop(kill=True)
        wait_until(lambda: sentinels.primary_port() == replica.port, 30, "the sentinels' failover")
        done = patiently(lambda: settled(engine, cid, simulator))
        wait_until(done, 120, "every row settled", tick=w.revive)
        assert_nobody_twice_and_every_call_accounted_for(engine, cid, simulator)
        assert any("Redis has a new primary" in w.log(n).read_text() for n in range(w.started))
    finally:
        # The workers go first: one whose Sentinels are gone spends its whole 15 s stopping.
        if w is not None:
            w.stop_all()
        if sentinels is not None:
            sentinels.close()
        link.close()
        primary.cleanup()
        replica.cleanup()
