"""`dialer agents [--json]`: every agent's presence, call and day, as the supervisors' wall
shows them; `dialer agents ready|break|offline NUMBER`: change one agent's presence."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dialer.agents import open_agents
from dialer.agents.presence import SUPERVISOR, PresenceError
from dialer.cli.trail import audited, shell_user
from dialer.errors import OptionError
from dialer.options import values as opt
from dialer.phones import mask_number
from dialer.settings import Settings


def cmd_wall(args: argparse.Namespace, settings: Settings) -> int:
    wall = open_agents(settings).wall()
    if args.json:
        print(json.dumps(wall, ensure_ascii=False))
        return 0
    if not wall["agents"]:
        print("no agents yet: they appear when they sign in or a campaign's pool names them")
    for line in wall["agents"]:
        print(_line(line))
    for cb in wall["callbacks"]:
        owner = mask_number(cb["owner"]) if cb["owner"] else "anyone"
        where = f"{cb['campaign_name']} row {cb['row']}"
        print(f"callback {cb['state']:<9} {cb['due']}  {where}  for {owner}")
    return 0


def _line(line: dict[str, Any]) -> str:
    p, today = line["presence"], line["today"]
    state = p["state"] or "present"  # never set: presumed present
    if p["reason"]:
        state += f" ({p['reason']})"
    since = f"{_duration(line['in_state_s'])}" if line["in_state_s"] is not None else ""
    call = line["call"]
    doing = f"{call['state']} {call['callee_masked']} ({call['campaign_name']})" if call else "-"
    figures = (
        f"calls {today['calls']}, connects {today['connects']}, talk {_duration(today['talk_s'])}"
        f", break {_duration(today['break_s'])}, missed {today['missed']}"
    )
    who = f" {line['account']}" if line["account"] else ""
    return f"{line['number']}{who}  {state:<24} {since:>7}  {doing}  | today: {figures}"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m" if hours else f"{m}m{s:02d}s"


def cmd_set(args: argparse.Namespace, settings: Settings) -> int:
    state = args.verb.upper()
    reason = args.reason or (SUPERVISOR if state == "BREAK" else "")
    agents = open_agents(settings)
    with audited(settings, "presence.set", target=args.number, state=state, reason=reason):
        try:
            presence = agents.presences.set(
                args.number, state, reason, who=shell_user(), audit=False
            )
        except PresenceError as exc:
            raise OptionError("--reason", str(exc)) from None
    assert presence.state is not None
    shown = presence.state.value + (f" ({presence.reason})" if presence.reason else "")
    print(f"agent {args.number}: {shown}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = sub.add_parser(
        "agents", help="agents' presence, calls and day; put one on break, ready or offline"
    )
    group.add_argument("--json", action="store_true")
    group.set_defaults(handler=cmd_wall)
    verbs = group.add_subparsers(dest="verb")
    for verb, text in (
        ("ready", "offer the agent calls again"),
        ("break", "put the agent on break: no calls until ready"),
        ("offline", "sign the agent out: no calls until they sign in"),
    ):
        p = verbs.add_parser(verb, help=text)
        p.add_argument("number", type=opt.phone_number, metavar="NUMBER")
        if verb == "break":
            p.add_argument("--reason", default="", help="a break reason (default: Supervisor)")
        else:
            p.set_defaults(reason="")
        p.set_defaults(handler=cmd_set)
