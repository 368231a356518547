"""Redis fails over mid-campaign and no callee is dialled twice: a primary and a replica on
127.0.0.1, real `celery worker` processes, the simulator over HTTP. The replica's replication
stream is stalled (writes the primary acknowledged never reach it), the primary is killed with
SIGKILL, the replica promoted and the endpoint switched to it — what a managed Redis does."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from support import NUMBERS, calls_log, engine_env, new_campaign, wait_until, write_sheet
from tcp_proxy import TcpProxy

from dialer.ccc.simulator import Simulator
from dialer.engine import CampaignStore, Engine, Keys
from dialer.engine.embedded import EmbeddedRedis
from dialer.models import TERMINAL_STATES, CampaignStatus, RowState

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
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            return None

    return attempt


def calls(sim: Simulator) -> list[dict]:
    return calls_log(sim.config.calls_log)


def settled(engine: Engine, cid: str) -> bool:
    """DONE, and every call it placed found (no row waits on the call records)."""
    if engine.store.campaign(cid).status is not CampaignStatus.DONE:
        return False
    rows = list(engine.store.iter_rows(cid))
    return all(state in TERMINAL_STATES for _, state, _ in rows) and not any(
        state == RowState.UNKNOWN for _, state, _ in rows
    )


def assert_nobody_twice_and_every_call_accounted_for(engine: Engine, cid: str,
                                                     sim: Simulator) -> None:  # fmt: skip
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
    engine = Engine(CampaignStore(redis.Redis.from_url(pair.endpoint.url), Keys(namespace)))
    rows = 4 * 20
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", rows), pool=NUMBERS,
                       rate_per_s=5.0)  # fmt: skip
    w = workers(engine_env(pair.endpoint.url, namespace, simulator.url, **FAST))
    w.start()
    w.start()
    wait_until(lambda: len(calls(simulator)) >= 12, 30, "the campaign under way")
    pair.link.stall()
    stalled_at = len(calls(simulator))
    time.sleep(2.0)
    during_stall = len(calls(simulator)) - stalled_at
    pair.fail_over()
    wait_until(patiently(lambda: settled(engine, cid)), 120, "every row settled", tick=w.revive)
    print(f"{rows} rows -> {len(calls(simulator))} calls; {during_stall} left during the stall")
    assert_nobody_twice_and_every_call_accounted_for(engine, cid, simulator)
