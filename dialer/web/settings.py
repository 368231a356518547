"""The console's own settings. Like `dialer.settings`, `WebSettings.from_env()` is the only
reader of os.environ for the web package; everything else receives a WebSettings."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from dialer.errors import ConfigError

DEFAULT_MAX_UPLOAD_MB = 50.0


@dataclass(frozen=True)
class WebSettings:
    # repr=False: the token must never reach a log line, even through a repr of the settings.
    token: str = field(repr=False)
    token_generated: bool = False  # no DIALER_WEB_TOKEN: `dialer web` prints a sign-in URL
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    metrics_open: bool = False  # DIALER_METRICS_OPEN=1: /metrics without the token
    session_max_age_s: int = 12 * 3600
    # Failed sign-ins from one address: this many are free, then each waits twice as long.
    free_failures: int = 2
    failure_delay_s: float = 0.5
    max_failure_delay_s: float = 8.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if env is None else env
        token = env.get("DIALER_WEB_TOKEN", "").strip()
        raw_mb = env.get("DIALER_WEB_MAX_UPLOAD_MB", "") or str(DEFAULT_MAX_UPLOAD_MB)
        try:
            max_mb = float(raw_mb)
        except ValueError:
            raise ConfigError(
                f"DIALER_WEB_MAX_UPLOAD_MB must be a number, not {raw_mb!r}"
            ) from None
        if max_mb <= 0:
            raise ConfigError(f"DIALER_WEB_MAX_UPLOAD_MB must be positive, not {raw_mb!r}")
        return cls(
            token=token or secrets.token_urlsafe(32),
            token_generated=not token,
            max_upload_bytes=int(max_mb * 1024 * 1024),
            metrics_open=env.get("DIALER_METRICS_OPEN", "0") == "1",
        )
