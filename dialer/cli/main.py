"""The `dialer` command: parse arguments, build objects from Settings, call the library.

Every mistake is one line on stderr, never a traceback (`-v` adds it, for bug reports): exit
status 2 for the operator's input (options, files, settings), 1 for failures at run time
(Redis, CCC, the file system, a bug)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dialer.ccc.client import CccClient
from dialer.engine.connection import shown_redis
from dialer.errors import CccError, DialerError, StoreError, StoreUnavailable, clip
from dialer.options import values as opt
from dialer.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _setup_logging(verbose: bool) -> None:
    # On a terminal a log line first clears the line it lands on: that is where the live
    # progress bar (`--watch`, `run`, `demo`) is drawn, and the bar redraws below it.
    clear = "\r\x1b[K" if sys.stderr.isatty() else ""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format=clear + "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # urllib3 logs request URLs, which carry phone numbers in their query strings.
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def _instance_id(args: argparse.Namespace, settings: Settings) -> str:
    instance = args.instance_id or settings.instance_id
    if not instance:
        raise DialerError("no CCC instance: pass --instance-id or set CCC_INSTANCE_ID")
    return instance


def cmd_call(args: argparse.Namespace, settings: Settings) -> int:
    client = CccClient.from_settings(settings)
    try:
        extra = args.additional_broker
        if extra is not None:
            extra = opt.checked("--additional-broker", extra, opt.broker_number)
        result = client.start_back2back_call(
            instance_id=_instance_id(args, settings),
            caller=opt.checked("CALLER", args.caller, opt.phone_number),
            callee=opt.checked("CALLEE", args.callee, opt.phone_number),
            broker=opt.checked("--broker", args.broker, opt.broker_number),
            additional_broker=extra,
            timeout_seconds=args.timeout_seconds,
            tags=args.tags,
        )
    except CccError as exc:
        if args.json:
            print(
                json.dumps(
                    {
                        "ok": False,
                        "error_class": type(exc).__name__,
                        "code": exc.code,
                        "message": exc.message,
                        "http_status": exc.http_status,
                        "request_id": exc.request_id,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            print(f"error {exc.code}: {exc.message} ({type(exc).__name__})", file=sys.stderr)
        return 1
    finally:
        client.close()
    if args.json:
        print(
            json.dumps(
                {"ok": True, "job_id": result.job_id, "request_id": result.request_id},
                ensure_ascii=False,
            )
        )
    else:
        print(result.job_id)
    return 0


def cmd_simulator(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.ccc.simulator import Faults, Simulator, SimulatorConfig, Span

    if bool(args.access_key_id) != bool(args.access_key_secret):
        raise DialerError("--access-key-id and --access-key-secret go together")
    keys = {args.access_key_id: args.access_key_secret} if args.access_key_id else None
    if keys is None and settings.credentials is not None:
        keys = {settings.credentials.access_key_id: settings.credentials.access_key_secret}
    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            fail_rate=args.fail_rate,
            hang_rate=args.hang_rate,
            drop_rate=args.drop_rate,
            hang_s=args.hang_s,
            max_qps=args.max_qps,
            caller_answer=args.caller_answer,
            callee_answer=args.callee_answer,
            ring_s=Span.parse(args.ring_s) if args.ring_s else None,
            talk_s=Span.parse(args.talk_s) if args.talk_s else None,
            time_scale=args.time_scale,
            cdr_delay_ms=args.cdr_delay_ms,
            cdr_number_format=args.cdr_number_format,
            cdr_odd_rate=args.cdr_odd_rate,
        )
    except ValueError as exc:
        raise DialerError(f"simulator: {exc}") from None
    config = SimulatorConfig(
        instance_ids=tuple(args.instance_id or ["ccc-test"]),
        numbers=tuple(args.number or ["02151234567"]),
        access_keys=keys or {"testid": "testsecret"},
        seed=args.seed,
        calls_log=args.calls_log,
        forbidden_actions=frozenset(args.forbid or ()),
        faults=faults,
    )
    sim = Simulator(config, host=args.host, port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"CCC simulator listening on {sim.url} "
        f"(instances {', '.join(config.instance_ids)}; numbers {', '.join(config.numbers)}; "
        f"access keys {', '.join(config.access_keys)})",
        flush=True,
    )
    try:
        sim.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sim.stop()
    return 0


VERBOSE_HELP = "debug logging, and the traceback of an error"


def build_parser() -> argparse.ArgumentParser:
    parser = opt.Parser(prog="dialer", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("call", help="place one back-to-back call now")
    p.add_argument("caller")
    p.add_argument("callee")
    p.add_argument("--broker", required=True)
    p.add_argument("--additional-broker")
    p.add_argument("--timeout-seconds", type=opt.timeout_seconds, default=30)
    p.add_argument("--tags")
    p.add_argument("--instance-id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_call)

    p = sub.add_parser("simulator", help="run the CCC simulator (a real HTTP server)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument("--instance-id", action="append")
    p.add_argument("--number", action="append", help="an outbound number of every instance")
    p.add_argument("--access-key-id")
    p.add_argument("--access-key-secret")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--fail-rate", type=float, default=0.0, help="share answered 500 CTI error")
    p.add_argument("--hang-rate", type=float, default=0.0, help="share placed, answered late")
    p.add_argument("--hang-s", type=float, default=30.0)
    p.add_argument("--drop-rate", type=float, default=0.0, help="share placed, then cut off")
    p.add_argument("--max-qps", type=float, default=0.0, help="throttle above this (0 = off)")
    p.add_argument(
        "--caller-answer",
        type=float,
        metavar="P",
        help="calls take time; the caller's leg answers with probability P",
    )
    p.add_argument(
        "--callee-answer",
        type=float,
        metavar="P",
        help="calls take time; the callee's leg answers with probability P",
    )
    p.add_argument("--ring-s", metavar="A-B", help="calls take time; each leg rings A-B s")
    p.add_argument("--talk-s", metavar="A-B", help="calls take time; talk lasts A-B s")
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="K",
        help="call time runs K times faster than the clock",
    )
    p.add_argument(
        "--cdr-delay-ms",
        type=float,
        default=0.0,
        help="a record is visible this long after its call is released",
    )
    p.add_argument(
        "--cdr-number-format",
        choices=("plain", "plus86", "86"),
        default="plain",
        help="how records write phone numbers",
    )
    p.add_argument(
        "--cdr-odd-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="share of record lookups answered 200 with no record in them",
    )
    p.add_argument(
        "--forbid",
        action="append",
        metavar="ACTION",
        help="answer this action 403 Forbidden.RAM (repeatable)",
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--calls-log", type=Path)
    p.set_defaults(handler=cmd_simulator)

    from dialer.cli import agents, audit, campaign, dnc, users, webhooks, workers

    campaign.register(sub)
    workers.register(sub)
    users.register(sub)
    audit.register(sub)
    webhooks.register(sub)
    dnc.register(sub)
    agents.register(sub)
    from dialer.web.cli import register as register_web

    register_web(sub)
    for command in sub.choices.values():
        # -v after the command as well as before it; SUPPRESS keeps `dialer -v CMD` working.
        command.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
        )
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run one `dialer` command; its exit status. Settings come from `env` (default: the
    process environment), so tests run the CLI in-process against their own Redis."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    settings: Settings | None = None
    try:
        settings = Settings.from_env(env)
        handler: Handler = args.handler
        return handler(args, settings)
    except KeyboardInterrupt:
        print("dialer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `dialer rows ID --limit 0 | head`: the reader has what it wanted. Python would
        # complain again when it flushes stdout at exit, so stdout goes nowhere from now on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # the one place every error becomes a line and an exit status
        status, message = explain(exc, settings)
        if args.verbose:
            traceback.print_exc()
        print(f"dialer: {clip(message, 500)}", file=sys.stderr)
        return status


def explain(exc: Exception, settings: Settings | None) -> tuple[int, str]:
    """(exit status, one-line message) for an error that ends a command."""
    if isinstance(exc, CccError):
        return 1, str(exc)
    if isinstance(exc, StoreUnavailable) and settings is not None:
        return 1, (
            f"cannot reach Redis at {shown_redis(settings)}: {clip(str(exc.__cause__), 120)} "
            "(start it, or fix DIALER_REDIS_URL)"
        )
    if isinstance(exc, StoreError):
        return 1, str(exc)
    if isinstance(exc, DialerError):
        return 2, str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return 1, f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, OSError):
        return 1, str(exc)
    return 1, (
        f"unexpected error {type(exc).__name__}: {exc} "
        "(this is a bug: run again with -v and report the traceback)"
    )


if __name__ == "__main__":
    sys.exit(main())
