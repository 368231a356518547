"""Which endpoints an event goes to: the campaign's own (`--webhook`) and the global one
(DIALER_WEBHOOK_URL), each with an event filter."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from urllib.parse import urlsplit

from dialer.engine.events import GLOBAL, EventType, WebhookEndpoint
from dialer.errors import ConfigError
from dialer.settings import Settings
from dialer.webhooks.signing import check_secret, new_secret


@dataclass(frozen=True)
class WebhookSpec:
    """One `--webhook 'URL [events=PATTERN,...]'` as given, before it has a secret."""

    url: str
    events: tuple[str, ...] = ()


def check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what}: {url!r} is not an http:// or https:// URL")
    return url


def check_events(patterns: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Each pattern must match some event of the catalogue (`call.*`, `row.finished`)."""
    names = [t.value for t in EventType]
    for p in patterns:
        if not fnmatch.filter(names, p):
            raise ConfigError(f"{what}: events={p!r} matches no event (events: {', '.join(names)})")
    return patterns


def parse_spec(value: str) -> WebhookSpec:
    """`URL` or `URL events=call.*,row.finished`."""
    url, _, rest = value.strip().partition(" ")
    events: tuple[str, ...] = ()
    rest = rest.strip()
    if rest:
        name, _, patterns = rest.partition("=")
        if name.strip() != "events" or not patterns.strip():
            raise ConfigError(
                f"--webhook: after the URL only events=PATTERN,... may follow, not {rest!r}"
            )
        events = tuple(p.strip() for p in patterns.split(",") if p.strip())
    return WebhookSpec(check_url(url, "--webhook"), check_events(events, "--webhook"))


def campaign_endpoints(
    specs: list[WebhookSpec], secret: str | None
) -> tuple[list[WebhookEndpoint], bool]:
    """The campaign's endpoints, numbered 1, 2, ... and signed with `secret` (a new one if
    none was given); and whether the secret is new (it is shown once, at upload)."""
    made = secret is None and bool(specs)
    key = new_secret() if secret is None else check_secret(secret, "--webhook-secret")
    found = [WebhookEndpoint(str(i), s.url, s.events, (key,)) for i, s in enumerate(specs, 1)]
    return found, made


def global_endpoint(settings: Settings) -> WebhookEndpoint | None:
    """DIALER_WEBHOOK_URL's endpoint, signed with DIALER_WEBHOOK_SECRET (and, during a
    rotation, DIALER_WEBHOOK_SECRET_PREVIOUS too)."""
    if not settings.webhook_url:
        return None
    url = check_url(settings.webhook_url, "DIALER_WEBHOOK_URL")
    if not settings.webhook_secret:
        raise ConfigError("DIALER_WEBHOOK_URL needs DIALER_WEBHOOK_SECRET (whsec_...)")
    keys = [check_secret(settings.webhook_secret, "DIALER_WEBHOOK_SECRET")]
    if settings.webhook_secret_previous:
        keys.append(
            check_secret(settings.webhook_secret_previous, "DIALER_WEBHOOK_SECRET_PREVIOUS")
        )
    patterns = tuple(p.strip() for p in settings.webhook_events.split(",") if p.strip())
    return WebhookEndpoint(
        GLOBAL, url, check_events(patterns, "DIALER_WEBHOOK_EVENTS"), tuple(keys)
    )


def matches(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.events or any(fnmatch.fnmatchcase(event_type, p) for p in endpoint.events)
