"""Webhook delivery: a campaign of N calls whose every event goes to a receiver answering in
50 ms; then a second campaign whose receiver is down for a while after it starts.

Prints deliveries per second (beside the events made per second), p50/p99 from the state
change (the event's occurred_at, Redis clock) to the receiver taking it, and for the outage:
events kept vs delivered (lost), how long the backlog (the events made while the receiver was
down) took to drain once it was back, the time to delivery of the events made after that, the
gap from each failed attempt to the next (against the backoff), and the dialling rate during
the outage next to the one without it (the engine's own start times, Redis clock), and how
many attempts were made (and failed) for the outage's deliveries.

    python bench/webhooks.py [--calls 2000] [--brokers 10] [--rate 5] [--down-s 60]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

from dialer.engine.events import EventStore, WebhookEndpoint
from dialer.models import CampaignSettings
from dialer.webhooks.signing import new_secret


class Receiver:
    """Takes every POST after `delay_s`; `up` False: the port refuses connections."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.got: dict[str, tuple[float, int]] = {}  # event id -> (taken at, occurred_at_ms)
        self.lock = threading.Lock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                time.sleep(receiver.delay_s)
                event = json.loads(body)
                with receiver.lock:
                    receiver.got.setdefault(event["id"], (time.time(), event["occurred_at_ms"]))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def dial_rate(
    engine: Any, cid: str, start_ms: int | None = None, end_ms: int | None = None
) -> float:
    """Calls begun per second (Redis clock), within [start_ms, end_ms] if given."""
    begun = sorted(
        r["first_attempt_at"]
        for _, _, r in engine.store.iter_rows(cid)
        if r.get("first_attempt_at")
    )
    if start_ms is not None and end_ms is not None:
        begun = [b for b in begun if start_ms <= b <= end_ms]
    if len(begun) < 2:
        return 0.0
    return (len(begun) - 1) / ((begun[-1] - begun[0]) / 1000)


def campaign(ctx: dict, args: argparse.Namespace, name: str, url: str) -> tuple[str, EventStore]:
    engine = ctx["engine"]
    sheet = ctx["tmp"] / f"{name}.csv"
    numbers = harness.brokers(args.brokers)
    # Callees of their own per campaign: the same pairs again would wait out the pair guard.
    offset = 0 if name == "up" else args.calls
    with open(sheet, "w") as f:
        f.write("Caller,Callee,Broker\n")
        for i in range(offset, offset + args.calls):
            f.write(f"138{i:08d},139{i:08d},{numbers[i % len(numbers)]}\n")
    # One call per row: a caller's leg that rang out would otherwise send its row round again
    # after --agent-miss-wait-s (30 s), and the run would wait on the contact strategy, not
    # on delivery.
    settings = CampaignSettings(
        name, "ccc-test", rate_per_s=args.rate, windows=("00:00-24:00",), max_agent_misses=1
    )
    cid = harness.upload_sheet(engine, sheet, settings)
    events = EventStore(engine.store.r, engine.store.keys)
    events.save_endpoints(cid, [WebhookEndpoint("1", url, (), (new_secret(),))])
    return cid, events


def wait_delivered(
    events: EventStore, cid: str, receiver: Receiver, engine: Any, timeout_s: float
) -> bool:
    """Until the campaign is done, its calls' records are in and every kept event was
    taken by the receiver."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        c = engine.store.campaign(cid)
        kept = set(events.event_times(cid))
        with receiver.lock:
            got = set(receiver.got)
        finished = sum(1 for e in kept if e in got)
        if c.status.value == "DONE" and finished == len(kept) >= 3 * c.total + 2:
            return True
        time.sleep(0.5)
    return False


def lags(events: EventStore, cid: str) -> tuple[list[float], list[float]]:
    """(occurred -> delivery made, delivery made -> its attempt recorded), ms, Redis clock."""
    times = events.event_times(cid)
    fanned, sent = [], []
    for key, d in events.deliveries(cid).items():
        occurred = times.get(key.rpartition("|")[0])
        if occurred is not None and d.get("log"):
            fanned.append(d["created_at"] - occurred)
            sent.append(d["log"][-1]["at"] - d["created_at"])
    return fanned, sent


def peak_rate(times_ms: list[int], window_s: float = 10.0) -> float:
    """Events per second in the busiest `window_s` (times sorted, ms)."""
    best, lo = 0, 0
    for hi, at in enumerate(times_ms):
        while at - times_ms[lo] > window_s * 1000:
            lo += 1
        best = max(best, hi - lo + 1)
    return best / window_s


def retry_gaps(events: EventStore, cid: str) -> list[float]:
    """For each attempt that followed a failed one: ms from the failure to it (Redis clock,
    the delivery log's own times)."""
    gaps = []
    for d in events.deliveries(cid).values():
        log = d.get("log") or []
        gaps += [b["at"] - a["at"] for a, b in itertools.pairwise(log)]
    return gaps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--brokers", type=int, default=10)
    p.add_argument("--rate", type=float, default=5.0, help="calls/s per broker")
    p.add_argument("--delay-ms", type=float, default=50.0, help="the receiver's answer time")
    p.add_argument("--down-s", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--backoff-base-s", default="5", help="DIALER_WEBHOOK_BACKOFF_BASE_S")
    p.add_argument(
        "--webhook-workers",
        type=int,
        default=0,
        help="workers started with -Q NAMESPACE.webhooks (deliveries only)",
    )
    args = p.parse_args()
    receiver = Receiver(args.delay_ms / 1000)
    env = {
        "DIALER_WEBHOOK_BACKOFF_BASE_S": args.backoff_base_s,
        # call.ended waits for the call records; what is measured here is delivery, so the
        # records are read as soon as they can be rather than on a lookup budget.
        "DIALER_RECORDS_BUDGET": "1",
        "DIALER_CDR_MARGIN_S": "1",
    }
    with harness.environment(harness.brokers(args.brokers), 50, **env) as ctx:
        engine = ctx["engine"]
        harness.start_workers(ctx, args.workers, args.concurrency)
        if args.webhook_workers:
            queue = f"{ctx['env']['DIALER_NAMESPACE']}.webhooks"
            harness.start_workers(ctx, args.webhook_workers, 8, extra=("-Q", queue), name="wh")
        # Delivery-only workers write no heartbeat: the ones taking calls are waited for.
        harness.wait_for_workers(ctx, args.workers)
        cid, events = campaign(ctx, args, "up", receiver.url)
        engine.start(cid)
        ok = wait_delivered(
            events, cid, receiver, engine, args.calls / args.brokers / args.rate * 6 + 120
        )
        kept = events.event_times(cid)
        got = {e: receiver.got[e] for e in kept if e in receiver.got}
        lat = [taken * 1000 - occurred for taken, occurred in got.values()]
        taken = sorted(t for t, _ in got.values())
        span = (taken[-1] - taken[0]) if len(taken) > 1 else 0.0
        late = "" if ok else " (TIMED OUT)"
        print(
            f"receiver up ({args.delay_ms:g} ms answers): {args.calls} calls, "
            f"{len(kept)} events, {len(got)} delivered{late}"
        )
        made = sorted(kept.values())
        made_span = (made[-1] - made[0]) / 1000 if len(made) > 1 else 0.0
        print(
            f"  deliveries/s: {len(got) / span if span else 0:.1f} over {span:.0f} s; events "
            f"made: {len(made) / made_span if made_span else 0:.1f}/s over {made_span:.0f} s, "
            f"{peak_rate(made):.0f}/s in their busiest 10 s"
        )
        print(
            f"  state change -> delivered: p50 {percentile(lat, 50):.0f} ms, "
            f"p99 {percentile(lat, 99):.0f} ms, max {max(lat, default=0):.0f} ms"
        )
        fanned, sent = lags(events, cid)
        print(
            f"  of which: outbox -> fanned out p50 {percentile(fanned, 50):.0f} ms, "
            f"fanned out -> attempt recorded p50 {percentile(sent, 50):.0f} ms "
            f"p99 {percentile(sent, 99):.0f} ms"
        )
        rate_up = dial_rate(engine, cid)
        print(f"  dialling: {rate_up:.2f} calls/s")

        cid2, events2 = campaign(ctx, args, "down", receiver.url)
        receiver.down()
        engine.start(cid2)
        down_from = engine.now_ms()
        time.sleep(args.down_s)
        down_to = engine.now_ms()
        receiver.up()
        back, back_ms = time.time(), engine.now_ms()
        ok = wait_delivered(
            events2, cid2, receiver, engine, args.calls / args.brokers / args.rate * 6 + 600
        )
        kept = events2.event_times(cid2)
        lost = [e for e in kept if e not in receiver.got]
        # The backlog: events made while the receiver was down. Those made after it was back
        # (the calls' records keep coming for a while) are not backlog.
        backlog = [e for e, at in kept.items() if at < back_ms]
        last = max((receiver.got[e][0] for e in backlog if e in receiver.got), default=back)
        after = [
            receiver.got[e][0] * 1000 - at
            for e, at in kept.items()
            if at >= back_ms and e in receiver.got
        ]
        print(
            f"receiver down {args.down_s:g} s: {len(kept)} events kept, {len(kept) - len(lost)} "
            f"delivered, {len(lost)} lost{'' if ok else ' (TIMED OUT)'}"
        )
        print(
            f"  backlog of {len(backlog)} events made while it was down: drained "
            f"{last - back:.1f} s after the receiver came back"
        )
        print(
            f"  events made after it was back ({len(after)}): state change -> delivered "
            f"p50 {percentile(after, 50):.0f} ms, p99 {percentile(after, 99):.0f} ms"
        )
        log = events2.deliveries(cid2).values()
        tried = sum(int(d.get("attempts") or 0) for d in log)
        delivered = sum(d.get("state") == "delivered" for d in log)
        print(
            f"  attempts: {tried} for {len(log)} deliveries, {tried - delivered} of them failed "
            "(the endpoint paused after failures in a row: one probe at a time)"
        )
        gaps = retry_gaps(events2, cid2)
        print(
            f"  retries: {len(gaps)}; a failed attempt to the next: p50 "
            f"{percentile(gaps, 50):.0f} ms, p99 {percentile(gaps, 99):.0f} ms, "
            f"max {max(gaps, default=0):.0f} ms"
        )
        print(
            f"  dialling while it was down: {dial_rate(engine, cid2, down_from, down_to):.2f} "
            f"calls/s (without an outage: {rate_up:.2f})"
        )
        print(
            f"  (backoff base {args.backoff_base_s} s, full jitter: a delivery failed k times "
            "waits up to base * 2^(k-1); while its endpoint is paused it waits for the probe "
            "that gets through instead)"
        )
    receiver.down()


if __name__ == "__main__":
    main()
