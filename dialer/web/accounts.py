"""The JSON API of people: one's own account (/api/me, a password, personal API tokens),
accounts (/api/users, admins) and the audit trail (/api/audit)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from dialer.web import schemas
from dialer.web.access import note, principal_of
from dialer.web.people import PAGE, USER_ACTIONS, People

router = APIRouter(prefix="/api", tags=["accounts"], responses=schemas.API_ERRORS)


class NewPassword(BaseModel):
    password: str = Field(repr=False)


class NewToken(BaseModel):
    label: str = Field("", max_length=80, description="what the token is for (a CRM, a wallboard)")


class NewUser(BaseModel):
    name: str
    role: str
    phone: str = ""


def _people(request: Request) -> People:
    people: People = request.app.state.people
    return people


@router.get(
    "/me",
    response_model=schemas.Me,
    summary="Who you are signed in as: name, role, phone, your API tokens",
)
def me(request: Request) -> Any:
    return _people(request).me(principal_of(request))


@router.post("/me/password", status_code=204, summary="Set your password")
def set_password(request: Request, body: NewPassword) -> Response:
    _people(request).set_password(principal_of(request), body.password)
    return Response(status_code=204)


@router.post(
    "/me/tokens",
    status_code=201,
    response_model=schemas.TokenShown,
    summary="A personal API token (shown once; only its hash is kept)",
)
def new_token(request: Request, body: NewToken) -> JSONResponse:
    made = _people(request).new_token(principal_of(request), body.label)
    note(request, target=made["id"], label=made["label"])
    return JSONResponse(made, 201)


@router.delete("/me/tokens/{token_id}", status_code=204, summary="Revoke one of your tokens")
def revoke_token(request: Request, token_id: str) -> Response:
    _people(request).revoke_token(principal_of(request), token_id)
    return Response(status_code=204)


@router.get(
    "/users", response_model=schemas.Users, summary="Every account (as `dialer users list --json`)"
)
def users(request: Request) -> Any:
    return {"users": _people(request).users()}


@router.post(
    "/users",
    status_code=201,
    response_model=schemas.Account,
    summary="Add an account (as `dialer users add`); answers its one-time sign-in link",
)
async def add_user(request: Request, body: NewUser) -> JSONResponse:
    made = await run_in_threadpool(_people(request).add, body.name, body.role, body.phone)
    note(request, target=body.name, role=body.role, phone=bool(body.phone))
    return JSONResponse(_with_link(request, made), 201)


def _change(action: str) -> Any:
    def handler(request: Request, name: str) -> Any:
        return _with_link(request, _people(request).change(name, action))

    handler.__name__ = f"{action}_user"
    return handler


for _action in USER_ACTIONS:
    router.add_api_route(
        f"/users/{{name}}/{_action}",
        _change(_action),
        methods=["POST"],
        response_model=schemas.Account,
        summary=f"As `dialer users {_action}`",
    )


def _with_link(request: Request, account: dict[str, Any]) -> dict[str, Any]:
    """The one-time secret as the link a person opens on this console."""
    secret = account.pop("link", None)
    if secret:
        account["link"] = f"{str(request.base_url).rstrip('/')}/login?link={secret}"
    return account


@router.get(
    "/audit",
    response_model=schemas.AuditTrail,
    summary="The audit trail, newest first (as `dialer audit --json`)",
)
def audit(
    request: Request,
    since: str | None = None,
    who: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = PAGE,
) -> Any:
    return {"entries": _people(request).audit(since, who, limit)}
