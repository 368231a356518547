"""Dialling UNKNOWN or FAILED rows again, on an operator's word (`dialer redial`): the dialer
never does it on its own, because an UNKNOWN row's call may have been placed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dialer.engine import Engine
from dialer.errors import DialerError
from dialer.models import CampaignStatus, RowState

REDIALABLE = (RowState.UNKNOWN, RowState.FAILED)
_STILL = (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.DONE)


@dataclass(frozen=True)
class Selection:
    """Rows an operator asked to dial again, and how many of them carry each reason."""

    state: RowState
    rows: list[int] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)


def reason_of(result: dict) -> str:
    """What a FAILED or UNKNOWN row says about itself: the error that ended its attempt, and
    for an UNKNOWN row what the call records showed (`Client.ReadTimeout, Reconcile.NotFound`)."""
    codes = [str(result.get(k) or "") for k in ("error_code", "reconcile_code")]
    return ", ".join(c for c in codes if c) or "(no code)"


def select_rows(engine: Engine, cid: str, state: RowState, codes: list[str]) -> Selection:
    """The campaign's rows in `state` whose error code or reconcile reason is one of `codes`
    (every one of them when `codes` is empty). DialerError if the campaign cannot run again."""
    if state not in REDIALABLE:
        raise DialerError(f"only UNKNOWN or FAILED rows can be dialled again, not {state}")
    status = engine.store.campaign(cid).status
    if status not in _STILL:
        raise DialerError(f"campaign {cid} is {status}: its rows cannot be dialled again")
    wanted = set(codes)
    selection = Selection(state)
    for record, _state, result in engine.store.rows_in_states(cid, {state.value}):
        row_codes = {result.get("error_code"), result.get("reconcile_code")}
        if not wanted or wanted & row_codes:
            selection.rows.append(int(record[0]))
            selection.reasons[reason_of(result)] += 1
    return selection


def redial(engine: Engine, cid: str, selection: Selection) -> tuple[int, CampaignStatus]:
    """Put the selected rows still in their state back as fresh attempts; (rows put back, the
    campaign's status after: a DONE campaign runs again)."""
    return engine.redial(cid, selection.state, selection.rows)
