"""The module `celery -A tasks` loads: the app, built from the environment only here."""

from dialer.errors import ConfigError
from dialer.settings import Settings
from tasks.app import make_app

try:
    app = make_app(Settings.from_env())
except ConfigError as exc:  # one line from a worker, not Celery's import traceback
    raise SystemExit(f"dialer worker: {exc}") from None
