"""The naive baseline: one Celery task per row, paced only by Celery's rate_limit (which is
per worker and per task name, not per broker number)."""

from __future__ import annotations

import os

from celery import Celery

from dialer.ccc.client import CccClient
from dialer.settings import Settings

settings = Settings.from_env()
app = Celery("naive", broker=settings.redis_url)
app.conf.update(
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    task_default_queue=f"{settings.namespace}.naive",
)
client = CccClient.from_settings(settings)


@app.task(name="naive.call", rate_limit=os.environ.get("NAIVE_RATE", "1/s"))
def call(caller: str, callee: str, broker: str) -> str | None:
    return client.start_back2back_call(
        instance_id="ccc-test", caller=caller, callee=callee, broker=broker
    ).job_id
