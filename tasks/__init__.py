"""The thin Celery layer. `celery -A tasks worker --pool threads --concurrency 32`."""

from tasks.app import app

__all__ = ["app"]
