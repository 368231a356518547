"""The JSON API: the CLI's campaign operations over HTTP, with the CLI's validation and
reasons. Every route needs the token or a session (and a session's changes, its CSRF token)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from dialer.i18n.catalogue import LOCALES
from dialer.web.backend import ACTIONS, OPTION_FLAGS, SWITCHES, Backend, display_name
from dialer.web.errors import BadRequest, NotFound
from dialer.web.language import locale_for

router = APIRouter(prefix="/api", tags=["campaigns"])
_ID = re.compile(r"^[0-9a-f]{1,64}$")
_SHEET_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
_COPY_CHUNK = 1024 * 1024


async def authed(request: Request) -> str:
    return str(await request.app.state.auth.require(request))


Authed = Annotated[str, Depends(authed)]


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def _id(cid: str) -> str:
    if not _ID.match(cid):
        raise NotFound(f"no campaign {cid!r}")
    return cid


_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV or XLSX campaign sheet",
                        },
                        "dnc": {
                            "type": "string",
                            "format": "binary",
                            "description": "do-not-call file, one number a line",
                        },
                        **{
                            name: {"type": "string", "description": f"as `dialer upload {flag}`"}
                            for name, flag in OPTION_FLAGS.items()
                        },
                        **{
                            name: {"type": "boolean", "description": f"as `{flag}`"}
                            for name, flag in SWITCHES.items()
                        },
                    },
                }
            }
        },
    }
}


class _Upload:
    """The multipart request of preview and create: the sheet (and a do-not-call file) copied
    into a private temporary directory under fixed names, and the option fields."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.dir = Path(tempfile.mkdtemp(prefix="dialer-web-"))
        self.label = ""
        self.sheet = self.dir / "sheet"
        self.dnc: Path | None = None
        self.fields: dict[str, list[str]] = defaultdict(list)

    async def read(self) -> _Upload:
        content_type = self.request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise BadRequest("send multipart/form-data with the sheet in a part named 'file'")
        form = await self.request.form(max_files=2, max_fields=200)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadRequest("no sheet: send it in a multipart part named 'file'")
            self.label = display_name(upload.filename)
            # The client's name picks only the reader (by extension), never the path.
            suffix = Path(self.label).suffix.lower()
            self.sheet = self.dir / ("sheet" + (suffix if suffix in _SHEET_SUFFIXES else ""))
            await _copy(upload, self.sheet)
            dnc = form.get("dnc")
            if isinstance(dnc, UploadFile) and dnc.filename:
                self.dnc = self.dir / "dnc.txt"
                await _copy(dnc, self.dnc)
            for name, value in form.multi_items():
                if name in ("file", "dnc", "csrf_token"):
                    continue
                if not isinstance(value, str):
                    raise BadRequest(f"option {name!r} must be text, not a file", "Options.Invalid")
                self.fields[name].append(value)
        finally:
            await form.close()
        return self

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


async def _copy(upload: UploadFile, dest: Path) -> None:
    with open(dest, "wb") as out:
        while chunk := await upload.read(_COPY_CHUNK):
            out.write(chunk)


async def _with_upload(request: Request, call: Any) -> Any:
    backend = _backend(request)
    upload = _Upload(request)
    try:
        await upload.read()
        options = await run_in_threadpool(backend.options, upload.fields, upload.label, upload.dnc)
        return await run_in_threadpool(call, backend, upload.sheet, upload.label, options)
    finally:
        upload.cleanup()


@router.post(
    "/campaigns/preview",
    openapi_extra=_FORM_DOC,
    summary="Validate a sheet with the upload options; nothing is stored",
)
async def preview(request: Request, _: Authed) -> Any:
    return await _with_upload(request, Backend.preview)


@router.post(
    "/campaigns",
    status_code=201,
    openapi_extra=_FORM_DOC,
    summary="Upload a campaign (as `dialer upload`)",
)
async def create(request: Request, _: Authed) -> JSONResponse:
    body = await _with_upload(request, Backend.upload)
    return JSONResponse(body, 201, headers={"Location": f"/api/campaigns/{body['id']}"})


@router.get("/campaigns", summary="Campaigns, newest first")
def campaigns(
    request: Request, _: Authed, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Any:
    return {"campaigns": _backend(request).campaigns(limit)}


@router.get("/campaigns/{cid}", summary="The `dialer status --json` document")
def status(request: Request, cid: str, _: Authed) -> Any:
    return _backend(request).status(_id(cid))


@router.get("/campaigns/{cid}/rows", summary="Rows in the given states (REJECTED, UNKNOWN, ...)")
def rows(
    request: Request,
    cid: str,
    _: Authed,
    state: Annotated[list[str], Query()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    return {"rows": _backend(request).rows(_id(cid), state, limit)}


def _control(action: str) -> Any:
    def handler(request: Request, cid: str, _: Authed) -> Any:
        return _backend(request).control(_id(cid), action)

    handler.__name__ = action
    return handler


for _action in ACTIONS:
    router.add_api_route(
        f"/campaigns/{{cid}}/{_action}",
        _control(_action),
        methods=["POST"],
        summary=f"As `dialer {_action}`",
    )


@router.get("/dnc", summary="The do-not-call list (as `dialer dnc list --json`)")
def dnc_list(request: Request, _: Authed) -> Any:
    return _backend(request).dnc_list()


@router.post("/dnc", summary='Add numbers to the do-not-call list: {"numbers": [...]}')
async def dnc_add(request: Request, _: Authed) -> Any:
    numbers = await _numbers(request)
    return await run_in_threadpool(_backend(request).dnc_change, numbers, add=True)


@router.delete("/dnc/{number}", summary="Take a number off the do-not-call list")
def dnc_remove(request: Request, number: str, _: Authed) -> Any:
    return _backend(request).dnc_change([number], add=False)


async def _numbers(request: Request) -> list[str]:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest('send JSON: {"numbers": ["139...", ...]}') from None
    numbers = body.get("numbers") if isinstance(body, dict) else None
    if not isinstance(numbers, list) or not numbers:
        raise BadRequest('send JSON: {"numbers": ["139...", ...]}')
    return [str(n) for n in numbers]


def _download(cid: str, name: str, write: Any, media_type: str) -> FileResponse:
    folder = Path(tempfile.mkdtemp(prefix="dialer-web-"))
    path = folder / name
    try:
        write(path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=media_type,
        filename=f"{cid}-{name}",
        background=BackgroundTask(shutil.rmtree, folder, True),
    )


@router.get("/campaigns/{cid}/results.csv", summary="As `dialer export ID -o results.csv`")
def results_csv(
    request: Request, cid: str, _: Authed, masked: bool = False, encoding: str = "utf-8"
) -> FileResponse:
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "gbk", "gb18030"):
        raise BadRequest("encoding must be utf-8, gbk or gb18030")
    backend = _backend(request)
    return _download(
        _id(cid),
        "results.csv",
        lambda p: backend.write_results(cid, p, masked=masked, encoding=encoding),
        "text/csv; charset=" + encoding,
    )


@router.get("/campaigns/{cid}/calls.csv", summary="As `dialer export ID --calls -o calls.csv`")
def calls_csv(request: Request, cid: str, _: Authed, masked: bool = False) -> FileResponse:
    backend = _backend(request)
    return _download(
        _id(cid),
        "calls.csv",
        lambda p: backend.write_results(cid, p, masked=masked, calls=True),
        "text/csv; charset=utf-8",
    )


@router.get("/campaigns/{cid}/results.xlsx", summary="As `dialer export ID -o results.xlsx`")
def results_xlsx(request: Request, cid: str, _: Authed, masked: bool = False) -> FileResponse:
    backend = _backend(request)
    return _download(
        _id(cid),
        "results.xlsx",
        lambda p: backend.write_results(cid, p, masked=masked),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@router.get(
    "/campaigns/{cid}/report.html",
    summary="As `dialer report ID -o report.html --lang L`",
    description="`lang` (zh_CN or en) or else the request's language, as the pages choose it.",
)
def report_html(request: Request, cid: str, _: Authed, lang: str | None = None) -> FileResponse:
    if lang is not None and lang not in LOCALES:
        raise BadRequest(f"lang must be one of {', '.join(LOCALES)}")
    chosen = lang or locale_for(request)
    backend = _backend(request)
    return _download(
        _id(cid),
        "report.html",
        lambda p: backend.write_report(cid, p, chosen),
        "text/html; charset=utf-8",
    )
