"""The roles table of docs/accounts.md, walked against every route of the running app, as
every role: allowed works, refused is a 403 (JSON for the API, the 403 page for pages) that
the audit trail records as refused — never a traceback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from fastapi.routing import iter_route_contexts
from support import NUMBERS
from web_support import TOKEN, WINDOW, Console, running_console, sheet

from dialer.accounts.directory import Directory
from dialer.accounts.roles import Role, allows
from dialer.engine import AccountStore, Keys
from dialer.web.access import ROUTES, is_page

DOCS = Path(__file__).resolve().parents[2] / "docs" / "accounts.md"
ROW = re.compile(r"^\| `(GET|POST|DELETE|PUT|PATCH) (\S+)` \| ([\w.]+) \|(.*)\|$")


def documented() -> dict[tuple[str, str], dict[str, bool]]:
    """(method, path) -> role -> allowed, as docs/accounts.md's route table says."""
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| Route | Needs |"))
    roles = [cell.strip() for cell in header.strip("|").split("|")[2:]]
    table: dict[tuple[str, str], dict[str, bool]] = {}
    for line in lines:
        match = ROW.match(line)
        if match:
            marks = [cell.strip() for cell in match[4].split("|")]
            table[(match[1], match[2])] = {
                role: mark == "✓"
                for role, mark in zip(roles, marks, strict=False)
                if role in {r.value for r in Role}
            }
    return table


def app_routes(console: Console) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(console.app.routes):
        for method in route.methods or ():  # the static files' mount has none
            found.add((method, route.path))
    return found


def test_every_route_has_a_rule_and_a_row_in_the_docs_that_agree(console) -> None:
    routes = app_routes(console)
    assert len(routes) > 30
    assert routes == set(ROUTES), "a route without an access rule, or a rule without a route"
    docs = documented()
    assert set(docs) == routes, "docs/accounts.md's route table is not the app's routes"
    for key, marks in docs.items():
        rule = ROUTES[key]
        for role in Role:
            allowed = rule.permission is None or allows(role, rule.permission)
            assert marks[role.value] == allowed, (key, role)


@dataclass
class Caller:
    role: str
    name: str
    headers: dict[str, str]


@pytest.fixture
def walk(redis_server, namespace, simulator) -> Iterator[tuple[Console, Directory, list[Caller]]]:
    # Many deliberate wrong sign-ins (POST /login with nothing) from one address.
    with running_console(redis_server.url, namespace, simulator.url, free_failures=10_000) as c:
        import redis

        client = redis.Redis.from_url(redis_server.url)
        directory = Directory(AccountStore(client, Keys(namespace)))
        callers = [Caller("admin", "web-token", {"Authorization": f"Bearer {TOKEN}"})]
        for role in Role:
            name = f"{role.value}-1"
            directory.add(name, role.value, "13800000009" if role is Role.AGENT else "")
            _, token = directory.issue_token(name, "walk")
            callers.append(Caller(role.value, name, {"Authorization": f"Bearer {token}"}))
        directory.add("target", "viewer")
        yield c, directory, callers
        client.close()


def concrete(path: str, cid: str) -> str:
    return (
        path.replace("{cid}", cid)
        .replace("{name}", "target")
        .replace("{token_id}", "0123456789abcdef")
        .replace("{locale}", "en")
    )


def call(console: Console, caller: Caller, method: str, path: str, cid: str) -> requests.Response:
    url = console.url + concrete(path, cid)
    kw: dict = {"headers": caller.headers, "allow_redirects": False, "timeout": 30}
    if path in ("/api/campaigns", "/api/campaigns/preview") and method == "POST":
        kw["files"] = {"file": ("s.csv", sheet(2))}
        kw["data"] = {"broker": NUMBERS[0], "window": WINDOW}
    elif path == "/api/users" and method == "POST":
        kw["json"] = {"name": f"new-{caller.name}", "role": "viewer"}
    elif path == "/api/me/password":
        kw["json"] = {"password": "a long enough password"}
    elif path == "/api/me/tokens":
        kw["json"] = {"label": "walk"}
    elif path == "/login" and method == "POST":
        kw["data"] = {"token": TOKEN}
    elif path.endswith("/rows"):
        url += "?state=PENDING"
    return requests.request(method, url, **kw)


def test_each_role_against_every_route(walk) -> None:
    console, _, callers = walk
    cid = console.create(sheet(3))["id"]
    docs = documented()
    refused_seen = []
    # The users routes aim at "target", never at a caller, so no caller loses its token.
    for method, path in sorted(docs):
        for caller in callers:
            allowed = docs[(method, path)][caller.role]
            response = call(console, caller, method, path, cid)
            what = (caller.name, method, path, response.status_code, response.text[:200])
            assert response.status_code < 500, what
            assert "Traceback" not in response.text, what
            if allowed:
                assert response.status_code not in (401, 403), what
                continue
            assert response.status_code == 403, what
            if is_page(path) and method == "GET":
                assert response.headers["content-type"].startswith("text/html"), what
                assert 'id="forbidden"' in response.text, what
            else:
                assert response.json()["error"] == "Auth.Forbidden", what
            refused_seen.append((caller.name, method, path))
    assert len(refused_seen) >= 40
    trail = console.get("/api/audit?limit=10000").json()["entries"]
    refused = {(e["who"], e["action"], e["target"]) for e in trail if e["outcome"] == "refused"}
    assert ("viewer-1", "start", cid) in refused
    assert ("agent-1", "upload", "") in refused
    assert ("operator-1", "users.disable", "target") in refused
    assert ("agent-1", "GET /api/campaigns/{cid}", cid) in refused
    recorded = {(who, action) for who, action, _ in refused}
    for name, method, path in refused_seen:
        rule = ROUTES[(method, path)]
        assert (name, rule.action or f"{method} {path}") in recorded, (name, method, path)
