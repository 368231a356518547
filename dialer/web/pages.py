"""The console's pages: sign in, campaigns, new campaign (with preview), one campaign live,
one's own account, the audit trail, an agent's screen and the supervisors' wall of agents.
Who may see which is dialer.web.access's business. Pages are rendered on the server in the
operator's language; their scripts call the JSON API with the session cookie and the page's
CSRF token, and poll it for live progress."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from dialer import times
from dialer.i18n import catalogue
from dialer.web import language
from dialer.web.access import principal_of
from dialer.web.auth import COOKIE, CSRF_FIELD, Auth, address
from dialer.web.backend import Backend
from dialer.web.errors import WebError
from dialer.web.people import BOOTSTRAP, PAGE, Account, People, Permission, Principal, allows

router = APIRouter(include_in_schema=False)


@cache
def _env(locale: str) -> Environment:
    env = Environment(
        loader=PackageLoader("dialer.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.install_gettext_translations(catalogue.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    # `ts` in epoch seconds, shown in the campaign's own zone (named, as everywhere).
    env.filters["when"] = lambda ts, timezone: (
        times.shown(float(ts) * 1000, timezone, seconds=False) if ts else ""
    )
    return env


def _safe_next(raw: str | None) -> str:
    """Only a path on this site: never another host (`//x`, `\\x`, `https://x`)."""
    if raw and raw.startswith("/") and not raw.startswith(("//", "/\\")) and "\\" not in raw:
        return raw
    return "/campaigns"


def _auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


def _render(
    request: Request,
    template: str,
    http_status: int = 200,
    **context: Any,
) -> HTMLResponse:
    locale = language.locale_for(request)
    words = language.words(locale)
    principal: Principal | None = getattr(request.state, "principal", None)
    session = principal.session if principal else None
    csrf = _auth(request).csrf_token(session) if session else ""
    html = (
        _env(locale)
        .get_template(template)
        .render(
            request_path=request.url.path,
            locale=locale,
            html_lang=catalogue.HTML_LANG[locale],
            csrf=csrf,
            csrf_field=CSRF_FIELD,
            signed_in=principal is not None,
            signed_in_as=principal.name if principal else "",
            can={p.value for p in Permission if principal and principal.may(p)},
            words=words,
            words_json=json.dumps(words, ensure_ascii=False),
            **context,
        )
    )
    response = HTMLResponse(html, http_status)
    response.headers["Cache-Control"] = "no-store"
    return response


def render_forbidden(request: Request) -> HTMLResponse:
    """The 403 page: signed in, but this page is not for the caller's role."""
    return _render(request, "forbidden.html", http_status=403)


def _start_page(may: Callable[[Permission], bool]) -> str:
    """Where a role starts: the campaigns, an agent's own screen, or else their account."""
    if may(Permission.READ):
        return "/campaigns"
    return "/agent" if may(Permission.AGENT) else "/account"


def _signed_in(request: Request, next_path: str, account: Account | None) -> Response:
    name, version = (account.name, account.version) if account else (BOOTSTRAP, 0)
    if account and next_path == "/campaigns":  # the sign-in page's default: no page asked for
        next_path = _start_page(lambda permission: allows(account.role, permission))
    response = RedirectResponse(next_path, 303)
    response.set_cookie(
        COOKIE,
        _auth(request).new_session_cookie(name, version),
        max_age=request.app.state.web.session_max_age_s,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _people(request: Request) -> People:
    people: People = request.app.state.people
    return people


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(_start_page(principal_of(request).may), 303)


@router.get("/login")
async def login_page(request: Request, next: str = "", token: str = "", link: str = "") -> Response:
    auth, people = _auth(request), _people(request)
    where = address(request)
    if link:  # a personal one-time link (`dialer users add` / `reset`)
        account = await run_in_threadpool(people.redeem_link, link)
        if account is not None:
            auth.succeeded(request, account.name)
            await run_in_threadpool(people.signed_in, account, where, "link")
            return _signed_in(request, _safe_next(next), account)
        await run_in_threadpool(people.sign_in_failed, "", where, "link")
        await auth.failed(request)
        return _login(request, next, "link")
    if token:  # the sign-in link `dialer web` prints
        if auth.token_ok(token):
            auth.succeeded(request)
            await run_in_threadpool(people.signed_in, None, where, "console-token")
            return _signed_in(request, _safe_next(next), None)
        await run_in_threadpool(people.sign_in_failed, "", where, "console-token")
        await auth.failed(request)
        return _login(request, next, "token")
    return _login(request, next, "")


def _login(request: Request, next_path: str, error: str) -> Response:
    return _render(
        request,
        "login.html",
        http_status=401 if error else 200,
        next=_safe_next(next_path),
        error=error,
    )


@router.post("/login")
async def login(request: Request) -> Response:
    auth, people = _auth(request), _people(request)
    form = await request.form()
    next_path = _safe_next(str(form.get("next") or ""))
    name = str(form.get("name") or "").strip().lower()
    where = address(request)
    if name:  # a person's own name and password
        password = str(form.get("password") or "")
        account = await run_in_threadpool(people.check_password, name, password)
        if account is not None:
            auth.succeeded(request, name)
            await run_in_threadpool(people.signed_in, account, where, "password")
            return _signed_in(request, next_path, account)
        await run_in_threadpool(people.sign_in_failed, name, where, "password")
        await auth.failed(request, name)
        return _login(request, next_path, "password")
    token = str(form.get("token") or "").strip()
    if auth.token_ok(token):
        auth.succeeded(request)
        await run_in_threadpool(people.signed_in, None, where, "console-token")
        return _signed_in(request, next_path, None)
    await run_in_threadpool(people.sign_in_failed, "", where, "console-token")
    await auth.failed(request)
    return _login(request, next_path, "token")


@router.post("/logout")
async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/lang/{locale}")
def choose_language(locale: str, next: str = "") -> Response:
    response = RedirectResponse(_safe_next(next), 303)
    if locale in catalogue.LOCALES:
        response.set_cookie(
            language.COOKIE, locale, max_age=365 * 86400, samesite="strict", path="/"
        )
    return response


@router.get("/campaigns")
async def campaigns_page(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    try:
        items = await run_in_threadpool(backend.campaigns, 200)
    except WebError:
        items = []
    return _render(request, "campaigns.html", campaigns=items)


@router.get("/campaigns/new")
def new_campaign_page(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    return _render(request, "new.html", instance_id=backend.settings.instance_id or "")


@router.get("/campaigns/{cid}")
async def campaign_page(request: Request, cid: str) -> Response:
    backend: Backend = request.app.state.backend
    whole = principal_of(request).whole_numbers
    try:
        info = await run_in_threadpool(backend.describe, cid)
        status = await run_in_threadpool(backend.status, cid, not whole)
    except WebError as exc:
        if exc.status != 404:
            raise
        return _render(request, "missing.html", http_status=404, cid=cid)
    return _render(
        request,
        "campaign.html",
        info=info,
        status=status,
        status_json=json.dumps(status, ensure_ascii=False),
        cid_q=quote(cid),
    )


@router.get("/account")
async def account_page(request: Request) -> Response:
    me = await run_in_threadpool(_people(request).me, principal_of(request))
    return _render(request, "account.html", me=me)


@router.get("/audit")
async def audit_page(request: Request, since: str = "", who: str = "") -> Response:
    entries = await run_in_threadpool(_people(request).audit, since or None, who or None, PAGE)
    return _render(request, "audit.html", entries=entries, since=since, who=who)


@router.get("/agent")
async def agent_page(request: Request, number: str = "") -> Response:
    """An agent's own screen; a supervisor may open any agent's (?number=) to see what they
    see. The page's script reads the desk from the API, so it renders nothing of Redis here."""
    principal = principal_of(request)
    me = await run_in_threadpool(_people(request).me, principal)
    own = str(me["phone"])
    chosen = number.strip() if principal.may(Permission.AGENTS) else ""
    return _render(
        request,
        "agent.html",
        number=chosen or own,
        # Only the agent's own screen keeps their presence alive: a supervisor looking on
        # must not make an agent who left look present.
        own=(chosen or own) == own and bool(own),
        supervising=principal.may(Permission.AGENTS),
    )


@router.get("/agents")
def agents_page(request: Request) -> Response:
    return _render(request, "agents.html")
