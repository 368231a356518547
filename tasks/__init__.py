"""The thin Celery layer. `celery -A tasks worker --pool threads --concurrency 32` loads
`tasks.celery`, which builds the app from the environment; importing `tasks` itself does
nothing."""
