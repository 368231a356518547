"""Who may use which route: the ONE place the console enforces roles, for pages and the API.

`ROUTES` names, for every route of the app, the permission it needs (dialer.accounts.roles
says which roles hold it) and, for a change, the name the audit trail records it under. The
app runs `guard` before every route: it finds the caller (dialer.web.auth), refuses what
their role may not do — 403, recorded in the audit trail as refused — and records the changes
it lets through, as done or failed. A route missing from the table is refused to everyone
(and a test fails), so a new route cannot slip in unguarded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import compile_path

from dialer.web.auth import address
from dialer.web.errors import Forbidden, LoginRequired, PageForbidden, Unauthorized, WebError
from dialer.web.people import Outcome, People, Permission, Principal


@dataclass(frozen=True)
class Rule:
    permission: Permission | None  # None: open to anyone, signed in or not
    action: str = ""  # what the audit trail calls a change made here ("": not a change)


OPEN = Rule(None)
P = Permission
_CID = "/api/campaigns/{cid}"
_AGENT = "/api/agents/{number}"

ROUTES: dict[tuple[str, str], Rule] = {
    # Open: health, signing in, the language switch.
    ("GET", "/healthz"): OPEN,
    ("GET", "/login"): OPEN,
    ("POST", "/login"): OPEN,
    ("GET", "/lang/{locale}"): OPEN,
    # One's own account.
    ("GET", "/"): Rule(P.OWN),
    ("POST", "/logout"): Rule(P.OWN),
    ("GET", "/account"): Rule(P.OWN),
    ("GET", "/api/me"): Rule(P.OWN),
    ("POST", "/api/me/password"): Rule(P.OWN, "password.set"),
    ("POST", "/api/me/tokens"): Rule(P.OWN, "token.create"),
    ("DELETE", "/api/me/tokens/{token_id}"): Rule(P.OWN, "token.revoke"),
    ("GET", "/api/openapi.json"): Rule(P.OWN),
    # Campaigns.
    ("GET", "/campaigns"): Rule(P.READ),
    ("GET", "/campaigns/{cid}"): Rule(P.READ),
    ("GET", "/api/campaigns"): Rule(P.READ),
    ("GET", _CID): Rule(P.READ),
    ("GET", _CID + "/rows"): Rule(P.READ),
    ("GET", _CID + "/webhooks"): Rule(P.READ),
    ("GET", "/campaigns/new"): Rule(P.CHANGE),
    ("POST", "/api/campaigns/preview"): Rule(P.CHANGE),
    ("POST", "/api/campaigns"): Rule(P.CHANGE, "upload"),
    ("POST", _CID + "/start"): Rule(P.CHANGE, "start"),
    ("POST", _CID + "/pause"): Rule(P.CHANGE, "pause"),
    ("POST", _CID + "/resume"): Rule(P.CHANGE, "resume"),
    ("POST", _CID + "/cancel"): Rule(P.CHANGE, "cancel"),
    ("POST", _CID + "/rows"): Rule(P.CHANGE, "append"),
    ("POST", _CID + "/webhooks/redeliver"): Rule(P.CHANGE, "webhooks.redeliver"),
    ("GET", _CID + "/results.csv"): Rule(P.DOWNLOAD, "export"),
    ("GET", _CID + "/results.xlsx"): Rule(P.DOWNLOAD, "export"),
    ("GET", _CID + "/report.html"): Rule(P.DOWNLOAD, "report"),
    ("GET", _CID + "/calls.csv"): Rule(P.DOWNLOAD, "export"),
    # The do-not-call list holds customers' numbers: those who change campaigns keep it.
    ("GET", "/api/dnc"): Rule(P.CHANGE),
    ("POST", "/api/dnc"): Rule(P.CHANGE, "dnc.add"),
    ("DELETE", "/api/dnc/{number}"): Rule(P.CHANGE, "dnc.remove"),
    ("GET", "/metrics"): Rule(P.METRICS),
    # Agents at work: an agent reaches only their own number (dialer.web.agents checks it);
    # supervisors every agent's.
    ("GET", "/api/agents"): Rule(P.AGENTS),
    ("GET", _AGENT + "/presence"): Rule(P.AGENT),
    ("PUT", _AGENT + "/presence"): Rule(P.AGENT, "presence.set"),
    ("POST", _AGENT + "/heartbeat"): Rule(P.AGENT),
    ("GET", _AGENT + "/desk"): Rule(P.AGENT),
    ("POST", _CID + "/rows/{row}/disposition"): Rule(P.AGENT, "disposition.save"),
    # Their pages: an agent's own screen (a supervisor may open anyone's: ?number=), the wall.
    ("GET", "/agent"): Rule(P.AGENT),
    ("GET", "/agents"): Rule(P.AGENTS),
    # The audit trail and accounts.
    ("GET", "/audit"): Rule(P.AUDIT),
    ("GET", "/api/audit"): Rule(P.AUDIT),
    ("GET", "/api/users"): Rule(P.USERS),
    ("POST", "/api/users"): Rule(P.USERS, "users.add"),
    ("POST", "/api/users/{name}/disable"): Rule(P.USERS, "users.disable"),
    ("POST", "/api/users/{name}/enable"): Rule(P.USERS, "users.enable"),
    ("POST", "/api/users/{name}/reset"): Rule(P.USERS, "users.reset"),
}
_TARGETS = ("cid", "name", "token_id", "number")


def is_page(path: str) -> bool:
    """Pages answer a person in a browser (a redirect to sign in, a 403 page); the rest JSON."""
    return not path.startswith(("/api/", "/metrics", "/healthz"))


# Literal paths before templated ones, as the app registers them (/campaigns/new before
# /campaigns/{cid}).
_MATCHERS = sorted(
    ((method, path, compile_path(path)[0], rule) for (method, path), rule in ROUTES.items()),
    key=lambda m: m[1].count("{"),
)


def rule_for(request: Request) -> tuple[str, Rule | None]:
    """(the route's path template, its rule); None when the table has no entry for it."""
    method = "GET" if request.method == "HEAD" else request.method
    path = str(request.scope.get("path", request.url.path))
    for wanted, template, regex, rule in _MATCHERS:
        if wanted == method and regex.fullmatch(path):
            if rule.permission is P.METRICS and request.app.state.web.metrics_open:
                return template, OPEN
            return template, rule
    return path, None


async def guard(request: Request) -> AsyncIterator[Principal | None]:
    """Run around every route: who is asking, may they, and the audit entry of a change."""
    path, rule = rule_for(request)
    if rule is not None and rule.permission is None:
        yield None
        return
    auth = request.app.state.auth
    try:
        principal: Principal = await auth.identify(request)
    except Unauthorized:
        if is_page(path) and request.method in ("GET", "HEAD"):
            query = f"?{request.url.query}" if request.url.query else ""
            raise LoginRequired(request.url.path + query) from None
        raise
    request.state.principal = principal  # the 403 page shows who is signed in
    target = next((str(request.path_params[k]) for k in _TARGETS if k in request.path_params), "")
    if rule is None or not principal.may(rule.permission):
        action = rule.action if rule and rule.action else f"{request.method} {path}"
        await _record(request, principal, action, target, Outcome.REFUSED)
        message = f"{principal.role.value} {principal.name!r} may not do this ({action})"
        if is_page(path) and request.method in ("GET", "HEAD"):
            raise PageForbidden(message)
        raise Forbidden(message, "Auth.Forbidden")
    try:
        await auth.check_csrf(request, principal)
    except Forbidden as exc:  # a forged or stale page's change: refused, on record
        action = rule.action or f"{request.method} {path}"
        await _record(request, principal, action, target, Outcome.REFUSED, {"error": exc.code})
        raise
    request.state.audit = {}
    if not rule.action:
        yield principal
        return
    try:
        yield principal
    except WebError as exc:
        # A failed change aimed at a campaign or an account is recorded; one that had nothing
        # to aim at yet (an unusable sheet's upload) created nothing, and leaves no trace.
        if target:
            detail = {**request.state.audit, "error": exc.code}
            await _record(request, principal, rule.action, target, Outcome.FAILED, detail)
        raise
    detail = dict(request.state.audit)
    target = str(detail.pop("target", target))
    await _record(request, principal, rule.action, target, Outcome.OK, detail)


async def _record(
    request: Request,
    principal: Principal,
    action: str,
    target: str,
    outcome: Outcome,
    detail: dict[str, Any] | None = None,
) -> None:
    people: People = request.app.state.people
    where = address(request)
    await run_in_threadpool(people.record, principal, where, action, target, outcome, detail)


def principal_of(request: Request) -> Principal:
    """The caller `guard` let through (routes open to anyone have none)."""
    principal: Principal = request.state.principal
    return principal


def note(request: Request, **detail: Any) -> None:
    """Add to the audit entry of the change this request makes (counts, options, an id)."""
    request.state.audit.update(detail)
