"""The Celery floor: CPU per message for publishing (batched as the feeder does), consuming
with late acks, and Redis, for a task that does nothing, with the dialer's Celery settings.
The sum bounds calls/s on this machine whatever the dialling costs: one message per call.

    python bench/floor.py [--messages 20000] [--workers 2] [--concurrency 64] [--batch 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness
import psutil

PACKED = "13800000001|13900000001|02150000001||30|" + "x" * 24  # a row's usual size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch", type=int, default=20, help="messages per publish pipeline")
    args = parser.parse_args()
    n = args.messages
    with harness.environment(harness.brokers(1), latency_ms=0.0) as ctx:
        os.environ.update(ctx["env"])
        sys.path.insert(0, str(harness.ROOT))
        from bench import floor_tasks

        queue = floor_tasks.app.conf.task_default_queue
        # The queue's Redis key carries the prefix the engine gives kombu (global_keyprefix):
        # the engine counts it, as the workers' watchdog does.
        health = ctx["engine"].health

        def backlog() -> int:
            return health.celery_backlog(queue)

        redis_proc = psutil.Process(ctx["redis"].pid)

        def redis_cpu() -> float:
            t = redis_proc.cpu_times()
            return t.user + t.system

        r0, p0 = redis_cpu(), time.process_time()
        with floor_tasks.app.producer_or_acquire() as producer:
            for start in range(0, n, args.batch):
                with producer.batch():
                    for i in range(start, min(n, start + args.batch)):
                        floor_tasks.noop.apply_async(
                            args=("bench", "02150000001", PACKED, "t"),
                            task_id=f"bench:{i}:t",
                            producer=producer,
                            argsrepr="",
                            kwargsrepr="{}",
                        )
        publish_us = (time.process_time() - p0) / n * 1e6
        publish_redis_us = (redis_cpu() - r0) / n * 1e6
        assert backlog() == n, "not every message reached the queue"

        harness.start_workers(ctx, args.workers, args.concurrency, app="bench.floor_tasks")
        workers = [psutil.Process(p.pid) for p in ctx["procs"]]
        # Measure between 5 % and 95 % consumed: away from worker start-up and the tail.
        lo, hi = n - n // 20, n // 20
        while backlog() > lo:
            time.sleep(0.005)
        left0, t0, r0 = backlog(), time.perf_counter(), redis_cpu()
        w0 = sum(sum(w.cpu_times()[:2]) for w in workers)
        while backlog() > hi:
            time.sleep(0.005)
        left1, t1, r1 = backlog(), time.perf_counter(), redis_cpu()
        w1 = sum(sum(w.cpu_times()[:2]) for w in workers)
    done = left0 - left1
    worker_us = (w1 - w0) / done * 1e6
    consume_redis_us = (r1 - r0) / done * 1e6
    total_us = publish_us + publish_redis_us + worker_us + consume_redis_us
    cores = psutil.cpu_count() or 1
    print(
        f"{n} no-op messages, publish batches of {args.batch}, "
        f"{args.workers} workers x {args.concurrency} threads"
    )
    print(
        f"CPU us per message: publish {publish_us:.0f} (+ Redis {publish_redis_us:.0f}), "
        f"consume and ack {worker_us:.0f} (+ Redis {consume_redis_us:.0f}), "
        f"total {total_us:.0f}"
    )
    print(
        f"consumed {done / (t1 - t0):.0f} messages/s; {cores} cores / {total_us:.0f} us "
        f"= at most {cores * 1e6 / total_us:.0f} messages/s, nothing else running"
    )


if __name__ == "__main__":
    main()
