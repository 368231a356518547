"""A task that does nothing, on an app with the dialer's own Celery settings: what carrying one
message costs before any dialling (bench/floor.py)."""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from dialer.settings import Settings
from tasks.app import celery_config

settings = Settings.from_env()
app = Celery("floor", broker=settings.redis_url)
app.conf.update(celery_config(settings))
# One queue of its own: the dialer's config names its calls and webhooks queues, which the
# bench's workers would otherwise consume instead.
FLOOR = f"{settings.namespace}.floor"
app.conf.task_default_queue = FLOOR
app.conf.task_queues = [Queue(FLOOR, Exchange(FLOOR, type="direct"), routing_key=FLOOR)]
app.conf.task_routes = {}


@app.task(name="floor.noop")
def noop(campaign_id: str, broker: str, packed: str, token: str) -> None:
    return None
