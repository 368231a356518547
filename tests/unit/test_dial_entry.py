"""The packed dial entry: what queues and Celery messages carry."""

from __future__ import annotations

from dialer.engine.codec import SEP, DialEntry


def test_an_entry_round_trips_with_the_agent_to_avoid() -> None:
    entry = DialEntry(3, "", "13900000001", "02151234567", "", 30, True, "a|b", "13800000009")
    assert DialEntry.unpack(entry.pack(), "02151234567") == entry


def test_an_entry_queued_before_avoid_existed_still_unpacks() -> None:
    old = SEP.join(["3", "13800000001", "13900000001", "", "30", "1", "vip"])
    entry = DialEntry.unpack(old, "02151234567")
    assert (entry.caller, entry.tags, entry.avoid) == ("13800000001", "vip", "")
