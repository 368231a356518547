"""Webhooks: signed deliveries of the engine's events to HTTP endpoints (docs/webhooks.md)."""
