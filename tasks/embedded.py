"""Celery workers inside the current process, for `dialer run` and `dialer demo`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker

from dialer.settings import Settings
from tasks.app import make_app
from tasks.calls import start_threads, stop_threads
from tasks.webhooks import start_dispatcher, stop_dispatcher


@contextmanager
def in_process_workers(settings: Settings, concurrency: int = 16) -> Iterator[None]:
    app = make_app(settings)
    with start_worker(
        app,
        pool="threads",
        concurrency=concurrency,
        perform_ping_check=False,
        shutdown_timeout=60,
        loglevel="WARNING",
    ):
        start_threads(app, name=f"embedded@{socket.gethostname()}", concurrency=concurrency)
        start_dispatcher(app)
        try:
            yield
        finally:
            stop_dispatcher(app)
            stop_threads(app)
