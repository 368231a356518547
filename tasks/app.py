"""The Celery app, configured so a row's message can be delivered twice without harm."""

from __future__ import annotations

from typing import Any

from celery import Celery

from dialer.errors import ConfigError
from dialer.runtime import redis_url
from dialer.settings import Settings


def queue_name(settings: Settings) -> str:
    return f"{settings.namespace}.calls"


def celery_config(settings: Settings) -> dict[str, Any]:
    """The settings every app that carries calls runs with (the floor benchmark reuses them)."""
    return {
        # A message is acknowledged only after its task ran, and re-delivered if the worker
        # died; the row's compare-and-set state makes the second delivery a no-op.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_default_queue": queue_name(settings),
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # Above the longest task (pacing wait + connect + read timeout) by a wide margin.
            "visibility_timeout": settings.visibility_timeout_s,
        },
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }


def make_app(settings: Settings) -> Celery:
    app = Celery("dialer", broker=redis_url(settings), include=["tasks.calls"])
    app.conf.update(celery_config(settings))
    app.dialer_settings = settings  # type: ignore[attr-defined]
    return app


try:
    app = make_app(Settings.from_env())
except ConfigError as exc:  # one line from a worker, not Celery's import traceback
    raise SystemExit(f"dialer worker: {exc}") from None
