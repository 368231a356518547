"""Campaign management commands of the `dialer` CLI: list, rows, delete. The work is done by
dialer.campaign.manage, which the web console calls too."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from dialer.campaign.manage import (
    RowFilter,
    check_deletable,
    delete_campaign,
    find_rows,
    list_campaigns,
)
from dialer.cli.trail import audited
from dialer.engine import open_engine
from dialer.options import values as opt
from dialer.settings import Settings

ROWS_SHOWN = 100


def table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last one (free text) left as it is."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for r in [header, *rows]:
        cells = [cell.ljust(w) for cell, w in zip(r, widths, strict=False)]
        lines.append("  ".join([*cells, r[-1]]).rstrip())
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    statuses = [s for group in args.status or [] for s in group]
    found = list_campaigns(open_engine(settings), statuses=statuses)
    if args.json:
        print(json.dumps([c.as_dict() for c in found], ensure_ascii=False))
        return 0
    if not found:
        which = "/".join(s.value for s in statuses)
        print(f"no {which} campaigns" if which else "no campaigns")
        return 0
    print(
        table(
            ("id", "name", "status", "progress", "created", "file"),
            [(c.id, c.name, c.status.value, c.progress, c.created_local, c.file) for c in found],
        )
    )
    return 0


def cmd_rows(args: argparse.Namespace, settings: Settings) -> int:
    where = RowFilter(
        states=frozenset(s for group in args.state or [] for s in group),
        codes=tuple(c for group in args.code or [] for c in group.split(",") if c.strip()),
    )
    limit = args.limit or None
    store = open_engine(settings).store
    found = find_rows(
        store, args.id, where, limit=None if limit is None else limit + 1, masked=args.masked
    )
    more = limit is not None and len(found) > limit
    found = found[:limit]
    if args.json:
        print(json.dumps([r.as_dict() for r in found], ensure_ascii=False))
    elif found:
        print(
            table(
                ("row", "state", "caller", "callee", "broker", "tries", "code", "reason"),
                [
                    (
                        str(r.row),
                        r.state,
                        r.caller,
                        r.callee,
                        r.broker,
                        str(r.attempts),
                        r.code,
                        r.message,
                    )
                    for r in found
                ],
            )
        )
    else:
        print("no matching rows")
    if more:
        print(
            f"dialer: the first {limit} matching rows; --limit 0 shows every one", file=sys.stderr
        )
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    campaign = engine.store.campaign(args.id)
    check_deletable(campaign)
    if not args.yes:
        print(
            f"delete campaign {campaign.id} ({campaign.settings.name}, {campaign.status.value}, "
            f"{campaign.total} rows, from {campaign.file}) and all its results? "
            "This cannot be undone. [y/N] ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("dialer: not deleted (--yes deletes without asking)", file=sys.stderr)
            return 1
    with audited(settings, "delete", args.id, name=campaign.settings.name, rows=campaign.total):
        delete_campaign(engine, args.id)
    print(f"campaign {args.id} deleted")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add list, rows and delete to the `dialer` parser."""
    p = sub.add_parser("list", help="stored campaigns, newest first")
    p.add_argument(
        "--status",
        action="append",
        type=opt.campaign_statuses,
        metavar="S",
        help="only campaigns in this status (repeatable, or S1,S2)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("rows", help="a campaign's rows that match, with their reasons")
    p.add_argument("id")
    p.add_argument(
        "--state",
        "--status",  # its first name; rows have states, campaigns have statuses
        dest="state",
        action="append",
        type=opt.row_states,
        metavar="S",
        help="only rows in this state: FAILED, UNKNOWN, REJECTED, ... (repeatable)",
    )
    p.add_argument(
        "--code",
        action="append",
        metavar="C",
        help="only rows with this error code or call outcome; * matches anything, "
        "e.g. 'Sheet.*' (repeatable)",
    )
    p.add_argument(
        "--limit",
        type=opt.limit,
        default=ROWS_SHOWN,
        metavar="N",
        help=f"at most N rows (default {ROWS_SHOWN}; 0 = every one)",
    )
    p.add_argument("--masked", action="store_true", help="mask phone numbers (1391814****)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_rows)

    p = sub.add_parser("delete", help="remove a READY, DONE or CANCELLED campaign for good")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="do not ask first")
    p.set_defaults(handler=cmd_delete)
