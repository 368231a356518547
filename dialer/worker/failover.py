"""What a worker does when Redis fails over (its monitor thread notices the new primary:
dialer.engine.Engine.check_primary).

A promoted replica holds every write the old primary passed on, in order, and none after:
the claims calls left on are among them (a call leaves only once the replicas hold its
claim), so nobody is dialled twice. What the lost writes leave is repaired here:

- FINISHes of calls that left are written again from the Journal: a lost one leaves its row
  DIALING, and FINISH is compare-and-set on the row's state and token, so one that was kept
  finds its row moved on and does nothing. A row this worker no longer remembers is swept
  UNKNOWN when its dialing lease runs out and found in the call records, as after a worker
  killed mid-call.
- The feeder drops what it believed (leases held, when brokers are due) and takes its
  leases, feeds and sweeps again at once; rows queued by a lost write are fed again.
- The Redis clock is measured again (a new primary, a new machine's clock), and the
  campaigns cached in this process are read again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from dialer.errors import DialerError, StoreUnavailable

log = logging.getLogger(__name__)
# Longer than any replication lag a failover can lose (a WAIT times out after a second).
KEEP_S = 60.0


class Journal:
    """The FINISHes this process wrote in the last `keep_s`, each as a call that writes it
    again."""

    def __init__(self, keep_s: float = KEEP_S, clock: Callable[[], float] = time.monotonic):
        self.keep_s = keep_s
        self.clock = clock
        self._done: deque[tuple[float, Callable[[], object]]] = deque()
        self._lock = threading.Lock()

    def add(self, write: Callable[[], object]) -> None:
        now = self.clock()
        with self._lock:
            self._done.append((now, write))
            while self._done and self._done[0][0] < now - self.keep_s:
                self._done.popleft()

    def replay(self) -> int:
        """Write every kept FINISH again; how many found their row still DIALING."""
        with self._lock:
            writes = [w for t, w in self._done if t >= self.clock() - self.keep_s]
        restored = 0
        for write in writes:
            try:
                restored += write() is not None
            except StoreUnavailable:
                raise  # Redis away again: the monitor repairs again next second
            except DialerError as exc:  # a campaign gone with the lost writes
                log.warning("failover: a finished call could not be written again: %s", exc)
        return restored
