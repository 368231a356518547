"""The agents' JSON API: presence, the agent's desk (customer cards, callbacks), dispositions,
and the supervisors' wall. An agent reaches only their own number — the phone of their
account — and only calls that were theirs; supervisors and admins reach every agent."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from dialer.web import schemas
from dialer.web.access import note, principal_of
from dialer.web.backend import Backend
from dialer.web.errors import BadRequest, Forbidden, NotFound
from dialer.web.people import People, Permission

router = APIRouter(prefix="/api", tags=["agents"], responses=schemas.API_ERRORS)
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_ID = re.compile(r"^[0-9a-f]{1,64}$")


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def _phone(request: Request) -> str:
    """The signed-in person's own phone ("" for an account without one)."""
    people: People = request.app.state.people
    account = people.directory.find(principal_of(request).name)
    return account.phone if account else ""


def _number(request: Request, number: str) -> str:
    """The agent this request is about: anyone's for a supervisor, else one's own."""
    if not _NUMBER.match(number):
        raise NotFound(f"no agent {number!r}")
    if principal_of(request).may(Permission.AGENTS):
        return number
    if number != _phone(request):
        raise Forbidden(
            "an agent may see and change only their own presence and calls", "Auth.Forbidden"
        )
    return number


@router.get("/agents", response_model=schemas.AgentWall, summary="The supervisors' wall")
def agents_wall(request: Request) -> Any:
    return _backend(request).agents_wall()


@router.get(
    "/agents/{number}/presence", response_model=schemas.Presence, summary="An agent's presence"
)
def get_presence(request: Request, number: str) -> Any:
    return _backend(request).agent_presence(_number(request, number))


@router.put(
    "/agents/{number}/presence",
    response_model=schemas.Presence,
    summary='Change an agent\'s presence: {"state": "READY"|"BREAK"|"OFFLINE", "reason": ...}',
)
async def put_presence(request: Request, number: str) -> Any:
    number = _number(request, number)
    body = await _json(request)
    state, reason = str(body.get("state") or ""), str(body.get("reason") or "")
    own = number == await run_in_threadpool(_phone, request)
    note(request, state=state.upper(), reason=reason, own=own)
    name = principal_of(request).name
    return await run_in_threadpool(
        _backend(request).set_presence, number, state, reason, account=name, own=own
    )


@router.post(
    "/agents/{number}/heartbeat",
    response_model=schemas.Presence,
    summary="The agent's screen is open (it calls this every few seconds)",
)
def heartbeat(request: Request, number: str) -> Any:
    return _backend(request).heartbeat(_number(request, number))


@router.get(
    "/agents/{number}/desk",
    response_model=schemas.AgentDesk,
    summary="An agent's presence, the customer cards of their calls, their callbacks",
)
def desk(request: Request, number: str) -> Any:
    whole = principal_of(request).whole_numbers
    number = _number(request, number)
    own = number == _phone(request)
    return _backend(request).agent_desk(number, whole_numbers=whole, own=own)


@router.post(
    "/campaigns/{cid}/rows/{row}/disposition",
    response_model=schemas.DispositionSaved,
    summary='Save a call\'s disposition: {"code", "notes", "callback_at", "callback_for"}',
)
async def dispose(request: Request, cid: str, row: int) -> Any:
    if not _ID.match(cid):
        raise NotFound(f"no campaign {cid!r}")
    body = await _json(request)
    principal = principal_of(request)
    agent = None if principal.may(Permission.AGENTS) else await run_in_threadpool(_phone, request)
    if agent == "":
        raise Forbidden("this account has no phone number: it has no calls", "Auth.Forbidden")
    callback_at = body.get("callback_at")
    note(request, target=f"{cid}/{row}", code=str(body.get("code") or ""), callback_at=callback_at)
    return await run_in_threadpool(
        _backend(request).dispose,
        cid,
        row,
        agent=agent,
        code=str(body.get("code") or ""),
        notes=str(body.get("notes") or ""),
        callback_at=str(callback_at) if callback_at else None,
        callback_for="anyone" if body.get("callback_for") == "anyone" else "me",
        account=principal.name,
    )


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("send a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object")
    return body
