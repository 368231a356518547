"""Which rows `dialer rows` (and the console) pick: by state, and by code patterns matched
against the error code, the reconcile reason (as `dialer redial --code` selects) and the
call's outcome."""

from __future__ import annotations

from dialer.campaign.manage import RowFilter, RowView
from dialer.models import RowState


def row(state: str, error: str = "", reconcile: str = "", outcome: str = "") -> RowView:
    return RowView(
        1, state, "13800000001", "13900000001", "02151234567", error, reconcile, outcome, "", 1
    )


UNKNOWN = row("UNKNOWN", "Client.ReadTimeout", "Reconcile.NotFound")
PLACED = row("DISPATCHED", outcome="CALLEE_NO_ANSWER")
REJECTED = row("REJECTED", "Sheet.InvalidNumber")


def test_an_unknown_row_shows_and_matches_both_its_codes() -> None:
    assert UNKNOWN.code == "Client.ReadTimeout, Reconcile.NotFound"
    assert RowFilter(codes=("Reconcile.NotFound",)).keeps(UNKNOWN)
    assert RowFilter(codes=("client.readtimeout",)).keeps(UNKNOWN)
    assert not RowFilter(codes=("Reconcile.Found",)).keeps(UNKNOWN)


def test_patterns_outcomes_and_states() -> None:
    sheet = RowFilter(codes=("Sheet.*",))
    assert sheet.keeps(REJECTED) and not sheet.keeps(UNKNOWN) and not sheet.keeps(PLACED)
    assert RowFilter(codes=("*NO_ANSWER",)).keeps(PLACED)
    failed_or_unknown = RowFilter(states=frozenset({RowState.FAILED, RowState.UNKNOWN}))
    assert failed_or_unknown.keeps(UNKNOWN) and not failed_or_unknown.keeps(REJECTED)
    assert RowFilter().keeps(PLACED)
