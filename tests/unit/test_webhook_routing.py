"""Deliveries travel on their own queue and calls on theirs: a message of one never reaches
the other (a queue bound to the calls' exchange and key would get a copy of every call)."""

from __future__ import annotations

from dialer.settings import Settings
from tasks.app import make_app, queue_name
from tasks.webhooks import TASK, webhooks_queue


def test_calls_and_deliveries_are_routed_to_queues_of_their_own() -> None:
    settings = Settings(namespace="n")
    app = make_app(settings)
    bindings = {q.name: (q.exchange.name, q.routing_key) for q in app.amqp.queues.values()}
    assert bindings == {
        "n.calls": ("n.calls", "n.calls"),
        "n.webhooks": ("n.webhooks", "n.webhooks"),
    }
    route = app.amqp.router.route
    assert route({}, TASK, (), {})["queue"].name == webhooks_queue(settings)
    assert route({}, "dialer.place_call", (), {})["queue"].name == queue_name(settings)
