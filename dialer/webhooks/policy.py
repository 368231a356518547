"""What an attempt's answer means: delivered, gone (410: disable the endpoint), or failed
(retried with backoff); and the retry policy from the settings."""

from __future__ import annotations

from dialer.engine.events import Retry
from dialer.settings import Settings

OK = "ok"
GONE = "gone"
FAIL = "fail"
HELD = "held"  # not attempted: the endpoint is disabled


def act_for(status: int) -> str:
    """2xx delivered; 410 the receiver says the endpoint is gone; anything else (a 3xx too:
    redirects are not followed) fails and is retried."""
    if 200 <= status < 300:
        return OK
    if status == 410:
        return GONE
    return FAIL


def retry_policy(settings: Settings) -> Retry:
    return Retry(
        base_ms=int(settings.webhook_backoff_base_s * 1000),
        cap_ms=int(settings.webhook_backoff_cap_s * 1000),
        max_age_ms=int(settings.webhook_max_age_s * 1000),
        max_failures=int(settings.webhook_max_failures),
        min_failing_ms=int(settings.webhook_disable_after_s * 1000),
        breaker_failures=int(settings.webhook_breaker_failures),
        probe_ms=int(settings.webhook_breaker_probe_s * 1000),
        probe_cap_ms=int(settings.webhook_breaker_probe_cap_s * 1000),
    )
