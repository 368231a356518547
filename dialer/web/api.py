"""The JSON API: the CLI's campaign operations over HTTP, with the CLI's validation and
reasons. Who may call which route is dialer.web.access's table; a role that may not see
customers' numbers whole gets them masked here."""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from dialer.i18n.catalogue import LOCALES
from dialer.web import schemas
from dialer.web.access import note, principal_of
from dialer.web.backend import ACTIONS, UPLOAD_OPTIONS, Backend, Option, display_name
from dialer.web.errors import BadRequest, NotFound
from dialer.web.language import locale_for

router = APIRouter(prefix="/api", tags=["campaigns"], responses=schemas.API_ERRORS)
_ID = re.compile(r"^[0-9a-f]{1,64}$")
_SHEET_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
_COPY_CHUNK = 1024 * 1024


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def _id(cid: str) -> str:
    if not _ID.match(cid):
        raise NotFound(f"no campaign {cid!r}")
    return cid


def _field_doc(option: Option) -> dict[str, Any]:
    """An upload field in the OpenAPI document, from the one option table."""
    doc: dict[str, Any] = {"description": f"as `dialer upload {option.flag}`: {option.help}"}
    item = {"type": option.json_type}
    if option.default not in (None, False):
        item["default"] = option.default
    doc.update({"type": "array", "items": item} if option.repeatable else item)
    return doc


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
                        **{o.name: _field_doc(o) for o in UPLOAD_OPTIONS if o.web},
                    },
                }
            }
        },
    }
}


_ROWS_DOC = {
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
                            "description": "CSV or XLSX sheet of rows to add",
                        },
                        "dnc": {
                            "type": "string",
                            "format": "binary",
                            "description": "do-not-call file, one number a line",
                        },
                        "sheet": {"type": "string", "description": "XLSX sheet name"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["rows"],
                    "properties": {
                        "rows": {
                            "type": "array",
                            "items": {"type": "object", "additionalProperties": {"type": "string"}},
                            "description": "rows by column name, as a sheet's header names them",
                        }
                    },
                }
            },
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
        note(request, file=upload.label, options={k: v for k, v in upload.fields.items()})
        return await run_in_threadpool(call, backend, upload.sheet, upload.label, options)
    finally:
        upload.cleanup()


@router.post(
    "/campaigns/preview",
    response_model=schemas.Preview,
    openapi_extra=_FORM_DOC,
    summary="Validate a sheet with the upload options; nothing is stored",
)
async def preview(request: Request) -> Any:
    return await _with_upload(request, Backend.preview)


@router.post(
    "/campaigns",
    status_code=201,
    response_model=schemas.Uploaded,
    openapi_extra=_FORM_DOC,
    summary="Upload a campaign (as `dialer upload`)",
)
async def create(request: Request) -> JSONResponse:
    body = await _with_upload(request, Backend.upload)
    note(
        request,
        target=body["id"],
        total=body["total"],
        accepted=body["accepted"],
        rejected=body["rejected"],
    )
    return JSONResponse(body, 201, headers={"Location": f"/api/campaigns/{body['id']}"})


@router.get("/campaigns", response_model=schemas.CampaignList, summary="Campaigns, newest first")
def campaigns(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
    return {"campaigns": _backend(request).campaigns(limit)}


@router.get(
    "/campaigns/{cid}",
    response_model=schemas.CampaignStatusDoc,
    summary="The `dialer status --json` document",
)
def status(request: Request, cid: str) -> Any:
    return _backend(request).status(_id(cid), not principal_of(request).whole_numbers)


@router.get(
    "/campaigns/{cid}/rows",
    response_model=schemas.Rows,
    summary="Rows in the given states (REJECTED, UNKNOWN, ...)",
)
def rows(
    request: Request,
    cid: str,
    state: Annotated[list[str], Query()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    masked = not principal_of(request).whole_numbers
    return {"rows": _backend(request).rows(_id(cid), state, limit, masked)}


@router.post(
    "/campaigns/{cid}/rows",
    openapi_extra=_ROWS_DOC,
    response_model=schemas.Appended,
    summary="Append rows as `dialer append ID SHEET`: a sheet, or JSON rows",
)
async def append_rows(request: Request, cid: str) -> Any:
    backend = _backend(request)
    cid = _id(cid)
    content_type = request.headers.get("content-type", "")
    tmp = Path(tempfile.mkdtemp(prefix="dialer-web-"))
    try:
        if content_type.startswith("application/json"):
            path, label, sheet_name = _json_sheet(await request.json(), tmp), "rows.json", None
            dnc = None
        else:
            upload = await _Upload(request).read()
            tmp, path, label = upload.dir, upload.sheet, upload.label
            unknown = set(upload.fields) - {"sheet"}
            if unknown:
                raise BadRequest(
                    f"unknown field {sorted(unknown)[0]!r}: only 'sheet' may come with the file",
                    "Options.Invalid",
                )
            sheet_name = upload.fields["sheet"][0] if upload.fields.get("sheet") else None
            dnc = upload.dnc
        return await run_in_threadpool(backend.append, cid, path, label, sheet_name, dnc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _json_sheet(body: Any, tmp: Path) -> Path:
    """`{"rows": [{"Caller": ..., "Callee": ..., "CrmId": ...}, ...]}` as a CSV sheet, so the
    rows are read and validated exactly as an uploaded sheet's."""
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise BadRequest('send {"rows": [{"Caller": "...", "Callee": "...", ...}, ...]}')
    header = list(dict.fromkeys(str(k) for r in rows for k in r))
    path = tmp / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        for r in rows:
            out.writerow(["" if r.get(k) is None else str(r.get(k)) for k in header])
    return path


@router.get(
    "/campaigns/{cid}/webhooks",
    response_model=schemas.Webhooks,
    summary="As `dialer webhooks ID --json`: endpoints and recent deliveries",
)
def webhooks(request: Request, cid: str, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Any:
    return _backend(request).webhooks(_id(cid), limit)


@router.post(
    "/campaigns/{cid}/webhooks/redeliver",
    response_model=schemas.Redelivered,
    summary="As `dialer webhooks ID --redeliver EVENT_ID` or `--since TIME`",
)
def redeliver(request: Request, cid: str, body: schemas.Redelivery) -> Any:
    return _backend(request).redeliver(_id(cid), body.event_ids, body.since, body.endpoint)


def _control(action: str) -> Any:
    def handler(request: Request, cid: str) -> Any:
        done = _backend(request).control(_id(cid), action)
        note(request, **{k: v for k, v in done.items() if k != "id"})
        return done

    handler.__name__ = action
    return handler


for _action in ACTIONS:
    router.add_api_route(
        f"/campaigns/{{cid}}/{_action}",
        _control(_action),
        methods=["POST"],
        response_model=schemas.ControlDone,
        response_model_exclude_none=True,
        summary=f"As `dialer {_action}`",
    )


def _masked(request: Request, asked: bool) -> bool:
    """Numbers masked when asked, and always for a role that may not see them whole."""
    masked = asked or not principal_of(request).whole_numbers
    note(request, masked=masked)
    return masked


@router.get(
    "/dnc",
    response_model=schemas.DncList,
    summary="The do-not-call list (as `dialer dnc list --json`)",
)
def dnc_list(request: Request) -> Any:
    return _backend(request).dnc_list()


@router.post(
    "/dnc",
    response_model=schemas.DncChanged,
    response_model_exclude_none=True,
    summary='Add numbers to the do-not-call list: {"numbers": [...]}',
)
async def dnc_add(request: Request) -> Any:
    numbers = await _numbers(request)
    return await run_in_threadpool(_backend(request).dnc_change, numbers, add=True)


@router.delete(
    "/dnc/{number}",
    response_model=schemas.DncChanged,
    response_model_exclude_none=True,
    summary="Take a number off the do-not-call list",
)
def dnc_remove(request: Request, number: str) -> Any:
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


def _file(media_type: str) -> dict[int | str, dict[str, Any]]:
    """A download's answer in the OpenAPI document: a file of `media_type`, not JSON."""
    return {200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}


@router.get(
    "/campaigns/{cid}/results.csv",
    response_class=FileResponse,
    responses=_file("text/csv"),
    summary="As `dialer export ID -o results.csv`",
)
def results_csv(
    request: Request, cid: str, masked: bool = False, encoding: str = "utf-8"
) -> FileResponse:
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "gbk", "gb18030"):
        raise BadRequest("encoding must be utf-8, gbk or gb18030")
    masked = _masked(request, masked)
    backend = _backend(request)
    return _download(
        _id(cid),
        "results.csv",
        lambda p: backend.write_results(cid, p, masked=masked, encoding=encoding),
        "text/csv; charset=" + encoding,
    )


@router.get(
    "/campaigns/{cid}/calls.csv",
    response_class=FileResponse,
    responses=_file("text/csv"),
    summary="As `dialer export ID --calls -o calls.csv`",
)
def calls_csv(request: Request, cid: str, masked: bool = False) -> FileResponse:
    masked = _masked(request, masked)
    backend = _backend(request)
    return _download(
        _id(cid),
        "calls.csv",
        lambda p: backend.write_results(cid, p, masked=masked, calls=True),
        "text/csv; charset=utf-8",
    )


@router.get(
    "/campaigns/{cid}/results.xlsx",
    response_class=FileResponse,
    responses=_file("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    summary="As `dialer export ID -o results.xlsx`",
)
def results_xlsx(request: Request, cid: str, masked: bool = False) -> FileResponse:
    masked = _masked(request, masked)
    backend = _backend(request)
    return _download(
        _id(cid),
        "results.xlsx",
        lambda p: backend.write_results(cid, p, masked=masked),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@router.get(
    "/campaigns/{cid}/report.html",
    response_class=FileResponse,
    responses=_file("text/html"),
    summary="As `dialer report ID -o report.html --lang L`",
    description="`lang` (zh_CN or en) or else the request's language, as the pages choose it.",
)
def report_html(request: Request, cid: str, lang: str | None = None) -> FileResponse:
    if lang is not None and lang not in LOCALES:
        raise BadRequest(f"lang must be one of {', '.join(LOCALES)}")
    chosen = lang or locale_for(request)
    note(request, lang=chosen)
    backend = _backend(request)
    return _download(
        _id(cid),
        "report.html",
        lambda p: backend.write_report(cid, p, chosen),
        "text/html; charset=utf-8",
    )
