"""The module `celery -A tasks` loads: the app, built from the environment only here."""

from dialer.settings import Settings
from tasks.app import make_app

app = make_app(Settings.from_env())
