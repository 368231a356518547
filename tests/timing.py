"""Wall-clock tests run alone, after the rest has run in parallel — in one `pytest` command.

A test marked `timing` judges real time (calls on the wire paced per second, a watchdog's
limit): sharing the two CPUs with another test process skews what it measures. The suite runs
under pytest-xdist (`-n 2`, in pyproject.toml's addopts) with this plugin's scheduler, which
works like xdist's `load` but holds the timing tests back: once every other test has been
handed out, it stops every worker but one, and only when that worker is the last one left
does it send it the timing tests. So while a timing test runs, no other test of the session
does (other programs on the machine still may: these tests keep margins for that).

xdist tells the controller the collected test ids only, not their markers, so each worker
writes the ids of its timing tests to a file the controller named (`pytest_configure_node`),
read when scheduling starts, after every worker has finished collecting.

Without xdist (`-n 0`, `-p no:xdist`), timing tests simply run last."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

MARK = "timing"
IDS_FILE = "dialer_timing_ids"  # workerinput key: where a worker writes its timing tests' ids


class TimingLast:
    """The plugin: registered by tests/conftest.py in both the controller and the workers."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.dir: Path | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:  # controller: one per worker
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="dialer-timing-"))
        node.workerinput[IDS_FILE] = str(self.dir / f"ids-{node.workerinput['workerid']}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        if config.getvalue("dist") != "load" or self.dir is None:
            return None  # another --dist: xdist's own scheduler, timing tests not held back
        return _scheduler_class()(config, log, self.dir)

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list) -> None:
        timing = [item for item in items if item.get_closest_marker(MARK)]
        items[:] = [item for item in items if not item.get_closest_marker(MARK)] + timing
        target = getattr(config, "workerinput", {}).get(IDS_FILE)
        if target:
            Path(target).write_text("".join(f"{item.nodeid}\n" for item in timing))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


def _scheduler_class():
    """Defined on first use: xdist is imported only when the suite runs under it."""
    from xdist.scheduler import LoadScheduling

    class TimingLastScheduling(LoadScheduling):
        def __init__(self, config: pytest.Config, log, ids_dir: Path) -> None:
            super().__init__(config, log)
            self.ids_dir = ids_dir
            self.deferred: list[int] = []  # indices of the timing tests not yet sent
            self.soloist = None  # the worker kept to run them

        def _timing_ids(self) -> set[str]:
            return {
                line
                for path in self.ids_dir.glob("ids-*")
                for line in path.read_text().splitlines()
            }

        @property
        def tests_finished(self) -> bool:
            return not self.deferred and super().tests_finished

        @property
        def has_pending(self) -> bool:
            return bool(self.deferred) or super().has_pending

        def schedule(self) -> None:
            assert self.collection_is_completed
            if self.collection is not None:  # a worker added later (one crashed)
                for node in self.nodes:
                    self.check_schedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = next(iter(self.node2collection.values()))
            timing = self._timing_ids()
            every = range(len(self.collection))
            self.pending[:] = [i for i in every if self.collection[i] not in timing]
            self.deferred = [i for i in every if self.collection[i] in timing]
            if self.maxschedchunk is None:
                self.maxschedchunk = len(self.collection)
            # As `load` starts: a quarter of each worker's share, in collection order.
            chunk = max(2, min(len(self.pending) // len(self.nodes) // 4, self.maxschedchunk))
            for node in self.nodes:
                self._send_tests(node, chunk)
            for node in self.nodes:
                self.check_schedule(node)

        def check_schedule(self, node, duration: float = 0) -> None:
            if node.shutting_down or self.pending or not self.deferred:
                super().check_schedule(node, duration)
                return
            # Only timing tests are left to hand out. A worker holds its last test until it
            # gets another or is told to stop (pytest needs the next item for teardowns), so
            # with one or none left it is idle. The last worker to go idle runs the timing
            # tests; every other stops as soon as it is idle.
            if len(self.node2pending[node]) >= 2:
                return
            others_busy = any(
                len(self.node2pending[other]) >= 2
                for other in self.nodes
                if other is not node and not other.shutting_down
            )
            if others_busy or self.soloist not in (None, node):
                node.shutdown()
            else:
                self.soloist = node
                for other in self.nodes:
                    if other is not node and not other.shutting_down:
                        other.shutdown()
            self._release()

        def remove_node(self, node) -> str | None:
            if node is self.soloist:  # it crashed: its tests go back to pending
                self.soloist = None
            crashed = super().remove_node(node)
            self._release()
            return crashed

        def _release(self) -> None:
            """Send the timing tests once their worker is the only one left."""
            solo = self.soloist
            if not self.deferred or self.pending or solo is None or self.nodes != [solo]:
                return
            self.node2pending[solo].extend(self.deferred)
            solo.send_runtest_some(self.deferred)
            self.deferred = []
            solo.shutdown()

    return TimingLastScheduling
