"""The console's pages: sign in, campaigns, new campaign (with preview), one campaign live.
Pages are rendered on the server in the operator's language; their scripts call the JSON API
with the session cookie and the page's CSRF token, and poll it for live progress."""

from __future__ import annotations

import json
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
from dialer.web.auth import COOKIE, CSRF_FIELD, Auth, Session
from dialer.web.backend import Backend
from dialer.web.errors import LoginRequired, WebError

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
    session: Session | None = None,
    **context: Any,
) -> HTMLResponse:
    locale = language.locale_for(request)
    words = language.words(locale)
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
            signed_in=session is not None,
            words=words,
            words_json=json.dumps(words, ensure_ascii=False),
            **context,
        )
    )
    response = HTMLResponse(html, http_status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _session(request: Request) -> Session:
    session = _auth(request).session(request)
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return session


def _signed_in(request: Request, next_path: str) -> Response:
    response = RedirectResponse(next_path, 303)
    response.set_cookie(
        COOKIE,
        _auth(request).new_session_cookie(),
        max_age=request.app.state.web.session_max_age_s,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/campaigns", 303)


@router.get("/login")
async def login_page(request: Request, next: str = "", token: str = "") -> Response:
    auth = _auth(request)
    if token:  # the sign-in link `dialer web` prints
        if auth.token_ok(token):
            auth.succeeded(request)
            return _signed_in(request, _safe_next(next))
        await auth.failed(request)
        return _render(request, "login.html", http_status=401, next=_safe_next(next), error=True)
    return _render(request, "login.html", next=_safe_next(next), error=False)


@router.post("/login")
async def login(request: Request) -> Response:
    auth = _auth(request)
    form = await request.form()
    token, next_path = str(form.get("token") or ""), _safe_next(str(form.get("next") or ""))
    if auth.token_ok(token.strip()):
        auth.succeeded(request)
        return _signed_in(request, next_path)
    await auth.failed(request)
    return _render(request, "login.html", http_status=401, next=next_path, error=True)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await _auth(request).require(request)
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
    session = _session(request)
    backend: Backend = request.app.state.backend
    try:
        items = await run_in_threadpool(backend.campaigns, 200)
    except WebError:
        items = []
    return _render(request, "campaigns.html", session=session, campaigns=items)


@router.get("/campaigns/new")
def new_campaign_page(request: Request) -> Response:
    session = _session(request)
    backend: Backend = request.app.state.backend
    return _render(
        request, "new.html", session=session, instance_id=backend.settings.instance_id or ""
    )


@router.get("/campaigns/{cid}")
async def campaign_page(request: Request, cid: str) -> Response:
    session = _session(request)
    backend: Backend = request.app.state.backend
    try:
        info = await run_in_threadpool(backend.describe, cid)
        status = await run_in_threadpool(backend.status, cid)
    except WebError as exc:
        if exc.status != 404:
            raise
        return _render(request, "missing.html", http_status=404, session=session, cid=cid)
    return _render(
        request,
        "campaign.html",
        session=session,
        info=info,
        status=status,
        status_json=json.dumps(status, ensure_ascii=False),
        cid_q=quote(cid),
    )
