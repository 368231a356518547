"""`dialer users add|list|disable|enable|reset`: people's accounts of the console and API."""

from __future__ import annotations

import argparse
import json

from dialer.accounts.directory import LINK_TTL_S, Account, Directory
from dialer.accounts.roles import Role
from dialer.cli.manage import table
from dialer.cli.trail import audited
from dialer.engine import open_accounts
from dialer.settings import Settings

DEFAULT_URL = "http://127.0.0.1:8000"


def _directory(settings: Settings) -> Directory:
    return Directory(open_accounts(settings))


def _print_link(account: Account, secret: str, url: str) -> None:
    # The only place the secret is ever shown: it is stored as a hash.
    print(
        f"sign-in link for {account.name} ({account.role.value}), one use, valid "
        f"{LINK_TTL_S // 3600} h:"
    )
    print(f"  {url.rstrip('/')}/login?link={secret}")


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    directory = _directory(settings)
    verb = args.users_command
    if verb == "list":
        accounts = directory.accounts()
        if args.json:
            print(json.dumps([a.as_dict() for a in accounts], ensure_ascii=False))
        elif not accounts:
            print("no accounts (DIALER_WEB_TOKEN signs in as the admin): dialer users add NAME")
        else:
            print(
                table(
                    ("name", "role", "phone", "state", "password"),
                    [
                        (
                            a.name,
                            a.role.value,
                            a.phone or "-",
                            "disabled" if a.disabled else "enabled",
                            "set" if a.has_password else "-",
                        )
                        for a in accounts
                    ],
                )
            )
        return 0
    if verb == "add":
        with audited(settings, "users.add", args.name, role=args.role, phone=bool(args.phone)):
            account = directory.add(args.name, args.role, args.phone or "")
            secret = directory.issue_link(account.name)
        _print_link(account, secret, args.url)
        return 0
    with audited(settings, f"users.{verb}", args.name):
        account = {
            "disable": directory.disable,
            "enable": directory.enable,
            "reset": directory.reset,
        }[verb](args.name)
        secret = directory.issue_link(account.name) if verb == "reset" else ""
    if verb == "disable":
        print(f"{account.name} disabled: their sessions and API tokens no longer work")
    elif verb == "enable":
        print(
            f"{account.name} enabled: they sign in again with their password, or "
            f"`dialer users reset {account.name}` for a new link"
        )
    else:
        print(f"{account.name} reset: password, sessions and API tokens removed")
        _print_link(account, secret, args.url)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="people's accounts of the console and API")
    verbs = p.add_subparsers(dest="users_command", required=True)
    url_help = f"the console's address, for the sign-in link (default {DEFAULT_URL})"

    add = verbs.add_parser("add", help="add an account; prints its one-time sign-in link")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--phone", help="the agent's own phone number")
    add.add_argument("--url", default=DEFAULT_URL, help=url_help)

    listing = verbs.add_parser("list", help="every account")
    listing.add_argument("--json", action="store_true")

    for verb, text in (
        ("disable", "stop an account: its sessions and tokens end at once"),
        ("enable", "let a disabled account sign in again"),
        ("reset", "remove password, sessions and tokens; prints a new sign-in link"),
    ):
        v = verbs.add_parser(verb, help=text)
        v.add_argument("name")
        if verb == "reset":
            v.add_argument("--url", default=DEFAULT_URL, help=url_help)
    for v in verbs.choices.values():
        v.set_defaults(handler=cmd_users)
