"""The Celery app, configured so a row's message can be delivered twice without harm."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from dialer.engine import Keys
from dialer.engine.connection import redis_url
from dialer.settings import Settings
from tasks import calls, webhooks
from tasks.broker import broker


def queue_name(settings: Settings) -> str:
    return f"{settings.namespace}.calls"


def _queue(name: str) -> Queue:
    """A queue of its own exchange and routing key: messages of one never reach the other."""
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def celery_config(settings: Settings) -> dict[str, Any]:
    """The settings every app that carries calls runs with (the floor benchmark reuses them)."""
    url, transport, sentinel_options = broker(redis_url(settings))
    return {
        "broker_url": url,
        # A message is acknowledged only after its task ran, and re-delivered if the worker
        # died; the row's compare-and-set state makes the second delivery a no-op.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_default_queue": queue_name(settings),
        # A worker started without -Q takes calls and webhook deliveries; `-Q NS.webhooks`
        # makes one that only delivers.
        "task_queues": [_queue(queue_name(settings)), _queue(webhooks.webhooks_queue(settings))],
        "task_routes": {webhooks.TASK: {"queue": webhooks.webhooks_queue(settings)}},
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # Above the longest task (pacing wait + connect + read timeout) by a wide margin.
            "visibility_timeout": settings.visibility_timeout_s,
            # Celery's own keys live in the dialer's namespace too.
            "global_keyprefix": Keys(settings.namespace).celery_prefix(),
            **sentinel_options,
        },
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        # kombu's Redis (or Sentinel) transport, with a reconnect fault worked around
        # (tasks/broker.py).
        "broker_transport": transport,
    }


def make_app(settings: Settings) -> Celery:
    """An app that carries calls for `settings`; nothing connects until it is used."""
    app = Celery("dialer", set_as_current=False)
    app.conf.update(celery_config(settings))
    calls.register(app, settings)
    webhooks.register(app, settings)
    return app
