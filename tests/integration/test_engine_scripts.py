"""The engine's Lua scripts and codecs against a real Redis: the packed entry means the same
thing on both sides, campaign status changes carry their side effects, cancel completes."""

from __future__ import annotations

import pandas as pd
import pytest
from support import NUMBERS, feed_now, new_campaign, write_sheet

from dialer.engine import DialEntry, Engine
from dialer.engine.codec import ENTRY_FIELDS, pack_frame
from dialer.engine.scripts import lua_tables, refusal
from dialer.errors import DialerError
from dialer.models import CampaignStatus


def lua_decode(redis_client, packed: str) -> list[str]:
    from importlib import resources

    prelude = (resources.files("dialer.engine") / "lua" / "prelude.lua").read_text()
    script = lua_tables() + prelude + "return entry_fields(ARGV[1])"
    return [f.decode() for f in redis_client.eval(script, 0, packed)]


def test_pandas_encoder_and_lua_decoder_agree(redis_client) -> None:
    frame = pd.DataFrame(
        {
            "row": [7, 12],
            "caller": ["13800000001", "02151234567"],
            "callee": ["13900000001", "13900000002"],
            "additional_broker": ["", "02150000000"],
            "timeout_seconds": ["30", "600"],
            "pool": [True, False],
            "tags": ["vip,new", ""],
        }
    )
    for packed, (_, row) in zip(pack_frame(frame), frame.iterrows(), strict=True):
        entry = DialEntry.unpack(packed, "B")
        assert entry.pack() == packed
        fields = lua_decode(redis_client, packed)
        assert len(fields) == len(ENTRY_FIELDS)
        decoded = dict(zip(ENTRY_FIELDS, fields, strict=True))
        assert decoded["row"] == str(row["row"]) and decoded["callee"] == row["callee"]
        assert decoded["from_pool"] == ("1" if row["pool"] else "0")
        assert decoded["tags"] == row["tags"]
        assert decoded["additional_broker"] == row["additional_broker"]


def test_a_code_no_script_can_answer_is_an_error_not_a_skip() -> None:
    with pytest.raises(DialerError, match="unknown code"):
        refusal(-99)


def test_start_pause_resume_move_the_campaign_in_and_out_of_the_running_set(
    engine: Engine, tmp_path
) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 3), pool=NUMBERS[:1])
    assert engine.running_ids() == [cid]
    engine.pause(cid)
    assert engine.running_ids() == []
    assert feed_now(engine, cid) == []  # a paused campaign feeds nothing
    engine.resume(cid)
    assert engine.running_ids() == [cid]
    with pytest.raises(DialerError, match="not PAUSED"):
        engine.resume(cid)


def test_cancel_cut_short_is_completed_by_the_next_cancel(make_engine, tmp_path) -> None:
    engine = make_engine(depth=1)
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 25), pool=NUMBERS[:2])
    assert len(feed_now(engine, cid)) == 2  # one row queued per broker
    # The first batch of a cancel (10 waiting rows, and the queued ones), then the process
    # dies before the next.
    cancelled, more = engine.scripts.cancel(cid, limit=10)
    assert (cancelled, more) == (12, True)
    assert engine.store.campaign(cid).status is CampaignStatus.CANCELLED
    assert engine.running_ids() == []
    assert engine.cancel(cid) == 13  # again: finishes the job instead of raising
    counts = engine.store.counts(cid)
    assert counts == {"CANCELLED": 25}, counts
    assert engine.cancel(cid) == 0  # and again: nothing left, still no error


def test_cancel_of_a_finished_campaign_is_refused(engine: Engine, tmp_path) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 1), pool=NUMBERS[:1])
    engine.cancel(cid)
    engine.store.r.hset(engine.keys.meta(cid), "status", "DONE")
    with pytest.raises(DialerError, match="wrong status"):
        engine.cancel(cid)


def test_delete_removes_every_key_of_the_campaign(
    engine: Engine, tmp_path, redis_client, namespace
) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 5), pool=NUMBERS[:2])
    feed_now(engine, cid)
    engine.cancel(cid)
    assert redis_client.keys(f"{namespace}:c:{cid}:*")
    engine.store.delete(cid)
    assert redis_client.keys(f"{namespace}:c:{cid}:*") == []
    assert cid not in engine.store.campaign_ids()
