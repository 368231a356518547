"""Pacing arithmetic: the interval a broker's calls are set apart, and the window check."""

from __future__ import annotations

import pytest

from dialer.engine.pacing import interval_ms, worst_window
from dialer.models import CampaignSettings


def campaign(rate: float, **overrides: float) -> CampaignSettings:
    return CampaignSettings("t", "i", rate_per_s=rate, broker_rates=dict(overrides))


@pytest.mark.parametrize(
    ("rate", "margin", "expected"),
    [(1.0, 10.0, 1010.0), (10.0, 10.0, 102.0), (2.0, 0.0, 500.0), (0.5, 10.0, 2010.0)],
)
def test_interval_is_one_over_rate_plus_a_margin_capped_at_two_percent(rate, margin, expected):
    assert interval_ms(campaign(rate), "b", margin) == pytest.approx(expected)


def test_per_broker_rate_overrides_the_campaign_rate() -> None:
    assert interval_ms(campaign(1.0, fast=4.0), "fast", 0.0) == 250.0


def test_worst_window_counts_calls_in_any_second() -> None:
    assert worst_window([]) == 0
    assert worst_window([0.0, 1.0, 2.0]) == 1  # exactly 1 s apart: one per window
    assert worst_window([0.0, 0.999, 2.0]) == 2
    assert worst_window([5.0, 0.0, 0.5, 0.9, 3.0]) == 3  # order does not matter


def test_engine_timing_defaults_are_the_settings_defaults() -> None:
    from dialer.models import Timing
    from dialer.settings import Settings

    assert Settings().timing() == Timing()
