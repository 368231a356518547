"""dialer.strategy.next_step: what a settled call means for its row, with no Redis."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dialer.calendar import Calendar
from dialer.engine.codec import DialEntry
from dialer.models import CampaignSettings
from dialer.strategy import AGENT_MISSES, MAX_CONTACTS, next_step

ZONE = ZoneInfo("Asia/Shanghai")
ENTRY = DialEntry(1, "", "13900000001", "02151234567", "", 30, True, "")
AGENTS = ("13800000001", "13800000002")


def ms(hour: int, minute: int = 0) -> int:
    return int(dt.datetime(2026, 12, 4, hour, minute, tzinfo=ZONE).timestamp() * 1000)


def settings(**kw) -> CampaignSettings:
    kw.setdefault("agents", AGENTS)
    return CampaignSettings(name="t", instance_id="i", **kw)


def step(
    s: CampaignSettings,
    outcome: str,
    result: dict | None = None,
    *,
    released: int,
    entry: DialEntry = ENTRY,
    windows: tuple[str, ...] = ("09:00-21:00",),
):
    result = {"caller": AGENTS[0], "job_id": "job-1", "attempts": 1, **(result or {})}
    calendar = Calendar.of(windows, "Asia/Shanghai")
    return next_step(
        s, calendar, result, {"outcome": outcome, "released_at": released}, entry, released + 5
    )


@pytest.mark.parametrize(
    ("delays", "contacts_before", "expected_delay_s"),
    [([60], 0, 60), ([60, 600], 0, 60), ([60, 600], 1, 600), ([60, 600], 5, 600)],
)
def test_a_recycled_contact_is_due_its_delay_after_the_release_and_the_last_delay_repeats(
    delays, contacts_before, expected_delay_s
) -> None:
    s = settings(recycle={"CALLEE_NO_ANSWER": delays}, max_contacts=10)
    got = step(s, "CALLEE_NO_ANSWER", {"contacts": contacts_before}, released=ms(10))
    assert got.at_ms == ms(10) + expected_delay_s * 1000
    assert got.patch["contacts"] == contacts_before + 1
    assert got.patch["next_contact_at"] == got.at_ms
    assert got.entry is not None and got.entry.avoid == ""


def test_a_due_time_outside_the_windows_moves_to_the_next_opening() -> None:
    s = settings(recycle={"BUSY": [3600]})
    got = step(s, "BUSY", released=ms(20, 30))
    assert got.at_ms == ms(9) + 86_400_000  # 21:30 is closed: tomorrow 09:00


def test_the_last_contact_allowed_ends_the_row_with_its_reason() -> None:
    s = settings(recycle={"BUSY": [60]}, max_contacts=2)
    assert step(s, "BUSY", {"contacts": 0}, released=ms(10)).at_ms is not None
    last = step(s, "BUSY", {"contacts": 1}, released=ms(10))
    assert last.at_ms is None and last.patch["outcome_code"] == MAX_CONTACTS
    assert "outcome" not in last.patch  # the last call's outcome, as classified, stays


@pytest.mark.parametrize("outcome", ["CONNECTED", "REJECTED_BY_CARRIER"])
def test_an_outcome_without_a_rule_is_final(outcome: str) -> None:
    got = step(settings(recycle={"BUSY": [60]}), outcome, released=ms(10))
    assert got.at_ms is None and got.patch["contacts"] == 1 and "outcome_code" not in got.patch


def test_an_agent_miss_on_a_pool_row_goes_to_another_agent_at_once_and_is_no_contact() -> None:
    got = step(settings(), "CALLER_NO_ANSWER", {"contacts": 0}, released=ms(10))
    assert got.at_ms == ms(10)
    assert got.entry is not None and got.entry.avoid == AGENTS[0]
    assert got.patch["agent_misses"] == 1 and "contacts" not in got.patch
    assert got.patch["redial_offset"] == 1 and got.patch["previous_job_ids"] == ["job-1"]
    # The missed call's outcome is in the history; the row's own is the next call's to write.
    assert (
        got.patch["outcome"] is None and got.patch["history"][-1]["outcome"] == "CALLER_NO_ANSWER"
    )


def test_an_agent_miss_on_a_row_naming_its_agent_waits_for_that_agent() -> None:
    own = DialEntry(1, AGENTS[0], "13900000001", "02151234567", "", 30, True, "")
    got = step(settings(agent_miss_wait_s=45), "CALLER_NO_ANSWER", released=ms(10), entry=own)
    assert got.at_ms == ms(10) + 45_000 and got.entry is not None and got.entry.avoid == ""


def test_the_last_agent_miss_allowed_ends_the_row_with_its_reason() -> None:
    got = step(
        settings(max_agent_misses=3), "CALLER_NO_ANSWER", {"agent_misses": 2}, released=ms(10)
    )
    assert got.at_ms is None and got.patch["outcome_code"] == AGENT_MISSES


def test_history_keeps_every_call_in_order() -> None:
    first = {"history": [{"outcome": "CALLER_NO_ANSWER", "caller": AGENTS[0]}]}
    got = step(settings(), "CONNECTED", {**first, "caller": AGENTS[1]}, released=ms(10))
    assert [(h["outcome"], h["caller"]) for h in got.patch["history"]] == [
        ("CALLER_NO_ANSWER", AGENTS[0]),
        ("CONNECTED", AGENTS[1]),
    ]
