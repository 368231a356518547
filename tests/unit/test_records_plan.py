"""Planning call-record lookups: windows shared when cheaper, lone rows looked up alone, the
newest first; backoff that grows with a call's age and ends at the horizon; the request budget."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialer.options.values import horizon
from dialer.records.plan import (
    CALLER_MAX_LAG_S,
    MAX_BACKOFF_MS,
    SKEW_MS,
    START,
    Budget,
    CallLength,
    Density,
    Kind,
    Offsets,
    Pending,
    format_span,
    next_lookup_ms,
    plan,
    window_cost,
)

HOUR_MS = 3_600_000


def outcome(row: int, start_s: float, horizon_ms: int = 6 * HOUR_MS, due_s: float = 0) -> Pending:
    start = int(start_s * 1000)
    p = Pending("c", row, start, start + 200, horizon_ms, int(due_s * 1000), job_id=f"job-{row}")
    return p.window(start, None)


def unknown(row: int, start_s: float) -> Pending:
    start = int(start_s * 1000)
    p = Pending("c", row, start, start, 6 * HOUR_MS, callee=f"139{row:08d}", broker="021")
    return p.window(start, None)


def test_a_window_costs_a_request_per_hundred_records() -> None:
    assert window_cost(0, 60_000, 1.0) == 1
    assert window_cost(0, 60_000, 10.0) == 6
    assert window_cost(0, 0, 0.0) == 1


def test_close_calls_share_one_listing() -> None:
    items = [outcome(i, 1000 + i) for i in range(50)]  # a call a second
    [lookup] = plan(items, density_per_s=1.0)
    assert lookup.kind is Kind.WINDOW and len(lookup.items) == 50
    assert lookup.lo_ms == 1_000_000 - SKEW_MS and lookup.hi_ms == 1_049_200 + SKEW_MS


def test_a_lone_call_is_looked_up_by_its_contact_id() -> None:
    [lookup] = plan([outcome(1, 1000)], density_per_s=1.0)
    assert lookup.kind is Kind.RECORD


def test_a_lone_unknown_row_searches_its_callee() -> None:
    [lookup] = plan([unknown(1, 1000)], density_per_s=1.0)
    assert lookup.kind is Kind.CALLEE


def test_calls_far_apart_in_a_busy_instance_are_looked_up_apart() -> None:
    # 20 records a second: the hour between two calls would be 720 pages.
    items = [outcome(1, 1000), outcome(2, 4600), unknown(3, 4601)]
    lookups = plan(items, density_per_s=20.0)
    kinds = sorted((lk.kind, tuple(p.row for p in lk.items)) for lk in lookups)
    assert kinds == [(Kind.CALLEE, (3,)), (Kind.RECORD, (1,)), (Kind.RECORD, (2,))]
    # In a quiet instance the same rows share one page.
    [shared] = plan(items, density_per_s=0.01)
    assert shared.kind is Kind.WINDOW


def test_a_dense_window_with_few_rows_is_not_listed() -> None:
    # Two rows in a minute of 50 records a second (30 pages): two lookups are cheaper.
    lookups = plan([outcome(1, 1000), outcome(2, 1010)], density_per_s=50.0)
    assert [lk.kind for lk in lookups] == [Kind.RECORD, Kind.RECORD]


def test_the_longest_overdue_are_looked_up_first() -> None:
    items = [
        outcome(1, 1000, due_s=9100),
        outcome(2, 9000, due_s=9050),
        outcome(3, 5000, due_s=9200),
    ]
    lookups = plan(items, density_per_s=5.0)
    assert [lk.items[0].row for lk in lookups] == [2, 1, 3]


def test_a_young_call_is_looked_for_by_the_measured_clock_offset() -> None:
    offsets = Offsets()
    for offset in (-400, 300, 50, 120, 0):
        offsets.add(offset)
    assert offsets.range() == (-400, 300)
    p = Pending("c", 1, 1_000_000, 1_000_800, 6 * HOUR_MS, job_id="job-1")
    young = p.window(1_060_000, offsets.range())
    assert (young.lo_ms, young.hi_ms) == (1_000_000 - 400 - 2000, 1_000_800 + 2000)
    old = p.window(1_000_000 + 301_000, offsets.range())  # not found in 5 minutes: wide again
    assert (old.lo_ms, old.hi_ms) == (1_000_000 - SKEW_MS, 1_000_800 + SKEW_MS)
    lost = Pending("c", 2, 1_000_000, 1_000_000, 6 * HOUR_MS, callee="13900000000")
    assert lost.window(1_060_000, offsets.range()).lo_ms == 1_000_000 - SKEW_MS
    assert Offsets().range() is None  # not measured yet


def test_backoff_grows_with_the_call_age_and_is_capped() -> None:
    p = outcome(1, 0)
    delays = [next_lookup_ms(age_ms, p, 2000) - age_ms for age_ms in (1000, 60_000, 600_000)]
    assert delays == [2000, 12_000, 120_000]
    assert next_lookup_ms(3 * HOUR_MS, p, 2000) - 3 * HOUR_MS == MAX_BACKOFF_MS


def test_a_call_that_may_hold_its_caller_is_looked_at_more_often() -> None:
    p = replace(outcome(1, 0), held_until_ms=900_000)
    assert next_lookup_ms(600_000, p, 2000, held_cap_ms=30_000) == 630_000
    assert next_lookup_ms(900_000, p, 2000, held_cap_ms=30_000) == 1_080_000  # hold over
    assert next_lookup_ms(10_000, p, 2000, held_cap_ms=0) == 12_000  # never below the poll


def test_the_last_lookup_is_at_the_horizon_and_none_after() -> None:
    p = outcome(1, 0, horizon_ms=100_000)
    assert next_lookup_ms(99_000, p, 2000) == 100_000
    assert next_lookup_ms(100_000, p, 2000) is None


def test_a_lookup_that_fails_at_the_horizon_is_tried_again() -> None:
    p = outcome(1, 0, horizon_ms=100_000)
    assert next_lookup_ms(100_000, p, 2000) is None
    assert next_lookup_ms(100_000, p, 2000, failed=True) == 120_000
    assert next_lookup_ms(200_000, p, 2000, failed=True) is None  # a grace of one horizon
    long = outcome(2, 0, horizon_ms=6 * HOUR_MS)  # ... or of 15 minutes
    assert next_lookup_ms(6 * HOUR_MS + 899_000, long, 2000, failed=True) is not None
    assert next_lookup_ms(6 * HOUR_MS + 900_000, long, 2000, failed=True) is None


def test_budget_earns_per_call_placed_and_keeps_what_it_saves() -> None:
    budget = Budget(per_call=0.1)
    budget.earn(0)
    budget.spend(int(START))
    assert not budget.may_poll(since_s=5.0, poll_s=2.0, max_lag_s=30.0)
    budget.earn(10)  # ten calls placed: one request earned
    assert budget.may_poll(since_s=5.0, poll_s=2.0, max_lag_s=30.0)
    assert not budget.may_poll(since_s=1.0, poll_s=2.0, max_lag_s=30.0)
    budget.earn(5)  # a campaign settled and left: nothing earned, nothing lost
    assert budget.tokens == pytest.approx(1.0)
    budget.earn(1005)  # a thousand calls more: a hundred requests for their outcomes
    assert budget.tokens == pytest.approx(101.0)


def test_an_empty_budget_still_polls_after_the_longest_lag() -> None:
    budget = Budget(per_call=0.1, tokens=-50.0)
    assert not budget.may_poll(since_s=29.0, poll_s=2.0, max_lag_s=30.0)
    assert budget.may_poll(since_s=30.0, poll_s=2.0, max_lag_s=30.0)


def test_paced_callers_calls_are_looked_for_every_tenth_of_a_mean_call() -> None:
    calls = CallLength()
    assert calls.cadence_s(2.0) == 2.0  # nothing measured yet: as often as the floor
    calls.update(40_000)
    assert calls.cadence_s(2.0) == pytest.approx(4.0)
    for _ in range(200):  # two-minute calls: a free agent still waits seconds, not minutes
        calls.update(120_000)
    assert calls.cadence_s(2.0) == CALLER_MAX_LAG_S
    for _ in range(200):  # calls of a few seconds: never more often than the floor
        calls.update(3_000)
    assert calls.cadence_s(2.0) == 2.0
    assert calls.cadence_s(0.1) == pytest.approx(0.3)


def test_density_is_measured_from_listings() -> None:
    density = Density()
    density.update(600, 0, 60_000)
    assert density.per_s == 10.0
    density.update(0, 0, 60_000)
    assert density.per_s == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6h", 21_600), ("90m", 5_400), ("45s", 45), ("1d", 86_400), ("3600", 3_600), ("2 h", 7200)],
)
def test_reconcile_horizon_option(text, seconds) -> None:
    assert horizon(text) == seconds


@pytest.mark.parametrize("text", ["0", "0.5s", "8d", "6x", "h", "", "nan"])
def test_reconcile_horizon_option_refuses(text) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="duration"):
        horizon(text)


def test_spans_read_as_a_person_says_them() -> None:
    assert [format_span(s) for s in (21_600, 5_400, 45, 1.5)] == ["6 h", "90 min", "45 s", "1.5 s"]
