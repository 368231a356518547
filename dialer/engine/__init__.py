"""The one owner of campaign state in Redis: keys, codec, Lua scripts, the store and the
engine. Nothing outside this package holds a Redis client or sees a Redis error: the client
(dialer.engine.client) raises the dialer's own."""

from __future__ import annotations

from dialer.engine.accounts import AccountStore
from dialer.engine.client import Client
from dialer.engine.codec import Campaign, DialEntry
from dialer.engine.connection import client
from dialer.engine.events import EventStore
from dialer.engine.keys import Keys
from dialer.engine.scripts import AttemptEnd, Backoff, Begun, Refusal
from dialer.engine.store import BrokerFigures, CampaignStore, Progress
from dialer.engine.transitions import (
    NO_USABLE_BROKER,
    PAUSED_BY_USER,
    Caps,
    Engine,
    Job,
    with_redis_retry,
)
from dialer.settings import Settings


def connect(settings: Settings) -> Client:
    """A client for the configured Redis (the embedded default started if need be)."""
    return client(settings, health_check_interval=10)


def open_store(settings: Settings) -> CampaignStore:
    return CampaignStore(
        connect(settings), Keys(settings.namespace), pace_margin_ms=settings.pace_margin_ms
    )


def open_accounts(settings: Settings) -> AccountStore:
    return AccountStore(connect(settings), Keys(settings.namespace))


def open_events(settings: Settings) -> EventStore:
    return EventStore(connect(settings), Keys(settings.namespace))


def open_engine(settings: Settings) -> Engine:
    return Engine(open_store(settings), settings.timing())


__all__ = [
    "NO_USABLE_BROKER",
    "PAUSED_BY_USER",
    "AccountStore",
    "AttemptEnd",
    "Backoff",
    "Begun",
    "BrokerFigures",
    "Campaign",
    "CampaignStore",
    "Caps",
    "DialEntry",
    "Engine",
    "EventStore",
    "Job",
    "Keys",
    "Progress",
    "Refusal",
    "connect",
    "open_accounts",
    "open_engine",
    "open_events",
    "open_store",
    "with_redis_retry",
]
