"""How many signed StartBack2BackCall requests per second our client sustains against the
simulator (keep-alive, N threads), with p50/p99 latency.

    python bench/simulator.py [--threads 8] [--seconds 10] [--signature v3]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Simulator, SimulatorConfig
from dialer.settings import Credentials


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--signature", default="v3", choices=["v1", "v3"])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()

    with Simulator(SimulatorConfig(numbers=("02151234567",))) as sim:
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        sim.faults.latency_ms = args.latency_ms
        deadline = time.perf_counter() + args.seconds

        def worker(n: int) -> None:
            nonlocal errors
            client = CccClient(
                sim.url, Credentials("testid", "testsecret"), signature_version=args.signature
            )
            mine: list[float] = []
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                start = time.perf_counter()
                try:
                    client.start_back2back_call(
                        instance_id="ccc-test",
                        caller="13800000000",
                        callee=f"139{n:03d}{i:05d}",
                        broker="02151234567",
                    )
                    mine.append(time.perf_counter() - start)
                except Exception:
                    with lock:
                        errors += 1
            with lock:
                latencies.extend(mine)

        began = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began

    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(f"signature={args.signature} threads={args.threads} seconds={elapsed:.1f}")
    print(f"requests ok={len(latencies)} errors={errors}")
    print(f"throughput={len(latencies) / elapsed:.0f} req/s")
    print(f"latency p50={q[49] * 1000:.2f} ms p99={q[98] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
