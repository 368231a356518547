"""Celery workers inside the current process, for `dialer run` and `dialer demo`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker

from tasks.app import app
from tasks.calls import start_feeder, stop_feeder


@contextmanager
def in_process_workers(concurrency: int = 16) -> Iterator[None]:
    with start_worker(
        app,
        pool="threads",
        concurrency=concurrency,
        perform_ping_check=False,
        shutdown_timeout=60,
        loglevel="WARNING",
    ):
        start_feeder()
        try:
            yield
        finally:
            stop_feeder()
