"""`dialer dnc add|remove|list|import`: the do-not-call list every campaign obeys."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from dialer.cli.trail import audited
from dialer.engine import open_store
from dialer.engine.dnc import DoNotCall
from dialer.errors import DialerError
from dialer.options import values as opt
from dialer.phones import is_phone, mask_number
from dialer.settings import Settings
from dialer.sheets.validate import load_dnc


def _list(settings: Settings) -> DoNotCall:
    return DoNotCall(open_store(settings))


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    with audited(settings, "dnc.add", numbers=len(args.numbers)) as note:
        added = note["added"] = _list(settings).add(args.numbers)
    print(f"{added} added to the do-not-call list ({len(args.numbers) - added} already on it)")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    with audited(settings, "dnc.remove", numbers=len(args.numbers)) as note:
        removed = note["removed"] = _list(settings).remove(args.numbers)
    print(f"{removed} removed from the do-not-call list")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    numbers = sorted(n for n in load_dnc(args.file) if n)
    bad = [n for n in numbers if not is_phone(n)]
    if bad:
        raise DialerError(f"{args.file}: {mask_number(bad[0])} is not a phone number")
    with audited(settings, "dnc.import", file=args.file) as note:
        added = note["added"] = _list(settings).add(numbers)
    print(
        f"{added} added to the do-not-call list from {args.file} "
        f"({len(numbers) - added} already on it)"
    )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    entries = _list(settings).entries()
    if args.json:
        doc = [{"number": n, "added_at_ms": at} for n, at in entries]
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    for number, at in entries:
        added = dt.datetime.fromtimestamp(at / 1000).astimezone()
        print(f"{number}  added {added:%Y-%m-%d %H:%M:%S %Z}")
    print(f"{len(entries)} number{'s' if len(entries) != 1 else ''} on the do-not-call list")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("dnc", help="the do-not-call list, checked as every call begins")
    verbs = group.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("add", help="put numbers on the list")
    p.add_argument("numbers", nargs="+", type=opt.phone_number, metavar="NUMBER")
    p.set_defaults(handler=cmd_add)
    p = verbs.add_parser("remove", help="take numbers off the list")
    p.add_argument("numbers", nargs="+", type=opt.phone_number, metavar="NUMBER")
    p.set_defaults(handler=cmd_remove)
    p = verbs.add_parser("import", help="add every number of a file (one a line, or a sheet)")
    p.add_argument("file")
    p.set_defaults(handler=cmd_import)
    p = verbs.add_parser("list", help="the numbers on the list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)
