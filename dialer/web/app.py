"""The ASGI app: `create_app(settings, web_settings)` wires the JSON API, the pages, /metrics
and /healthz onto one Backend, with one JSON error shape and an access log that never
records a query string or a header (so neither the token nor a sign-in link reaches it)."""

from __future__ import annotations

import logging
import time

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer.settings import Settings
from dialer.web import accounts, agents, api, metrics, pages
from dialer.web.access import guard
from dialer.web.auth import SAFE_METHODS, Auth
from dialer.web.backend import Backend
from dialer.web.errors import LoginRequired, PageForbidden, TooLarge, WebError
from dialer.web.people import People
from dialer.web.settings import WebSettings

log = logging.getLogger("dialer.web")
access_log = logging.getLogger("dialer.web.access")

_CODE_BY_STATUS = {
    400: "Request.Invalid",
    401: "Auth.Required",
    403: "Auth.Forbidden",
    404: "Route.NotFound",
    405: "Request.MethodNotAllowed",
    413: "Upload.TooLarge",
    422: "Request.Invalid",
}


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over the upload limit: at once when Content-Length says so,
    else as soon as the streamed body passes it (Starlette spools the rest to disk)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        error = TooLarge(
            f"the upload is over the {self.max_bytes / (1024 * 1024):g} MB limit "
            "(DIALER_WEB_MAX_UPLOAD_MB)"
        )
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await JSONResponse(error.as_dict(), error.status)(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except _BodyTooLarge:
            if started:
                raise
            await JSONResponse(error.as_dict(), error.status)(scope, receive, send)


class AccessLog:
    """One line per request: method, path (never the query string), status, time taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            access_log.info(
                "%s %s %d %.0fms",
                scope["method"],
                scope["path"],
                status,
                (time.monotonic() - started) * 1000,
            )


def create_app(settings: Settings, web: WebSettings) -> FastAPI:
    """The console for `settings`."""
    backend = Backend(settings)
    people = People(settings)
    auth = Auth(web, people)
    app = FastAPI(
        title="b2b-dialer console",
        version="1",
        description="Upload, watch and control back-to-back call campaigns. Every path but "
        "/healthz needs `Authorization: Bearer <token>` (a personal API token, or "
        "DIALER_WEB_TOKEN) or a signed-in session; what each role may do is in docs/accounts.md.",
        docs_url=None,  # the interactive docs load scripts from a CDN; the JSON is served
        redoc_url=None,
        openapi_url=None,
        # Every route passes the one guard: who is asking, may their role, the audit entry.
        dependencies=[Depends(guard, scope="function")],
    )
    app.state.backend = backend
    app.state.people = people
    app.state.auth = auth
    app.state.web = web

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        return JSONResponse(exc.as_dict(), exc.status)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path)}", 303)

    @app.exception_handler(PageForbidden)
    async def page_forbidden(request: Request, exc: PageForbidden) -> Response:
        return pages.render_forbidden(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _CODE_BY_STATUS.get(exc.status_code, "Request.Failed")
        message = exc.detail if isinstance(exc.detail, str) else "the request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such path: {request.url.path}"
        return JSONResponse(
            {"error": code, "message": message},
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('query', 'path'))}: "
            f"{e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return JSONResponse({"error": "Request.Invalid", "message": problems}, 400)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "Internal", "message": "internal error; the server log has the details"},
            500,
        )

    @app.get("/healthz", tags=["health"], summary="Redis reachable or not (no sign-in)")
    def healthz() -> Response:
        up = backend.healthy()
        return JSONResponse({"ok": up, "redis": "up" if up else "down"}, 200 if up else 503)

    app.include_router(api.router)
    app.include_router(agents.router)
    app.include_router(accounts.router)
    app.include_router(metrics.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(packages=[("dialer.web", "static")]), name="static")

    @app.get(
        "/api/openapi.json",
        tags=["meta"],
        summary="This API's OpenAPI description",
        responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    )
    async def openapi(request: Request) -> Response:
        return JSONResponse(app.openapi())

    # Last added is outermost: the access log sees every answer, the 413s included.
    app.add_middleware(BodyLimit, max_bytes=web.max_upload_bytes)
    app.add_middleware(AccessLog)
    return app
