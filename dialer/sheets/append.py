"""`dialer append`: rows added to a campaign that exists (READY, RUNNING, PAUSED or DONE),
validated exactly as an upload validates them, de-duplicated against the campaign's own
rows, and numbered on after them, so the results keep rows in the order they arrived. A
RUNNING or DONE campaign dials them at once (a DONE one runs again), paced and capped like
any row."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd

from dialer.engine import Engine
from dialer.errors import DialerError, SheetError
from dialer.models import CampaignStatus, RowState
from dialer.sheets import reader, validate
from dialer.sheets.upload import UploadTally, _require_sources, _tally

APPENDABLE = (
    CampaignStatus.READY,
    CampaignStatus.RUNNING,
    CampaignStatus.PAUSED,
    CampaignStatus.DONE,
)
APPEND_LEASE_MS = 600_000


def append(
    engine: Engine,
    cid: str,
    path: Path,
    *,
    dnc: frozenset[str] = frozenset(),
    sheet_name: str | None = None,
    file_label: str | None = None,
) -> UploadTally:
    """Validate the whole sheet first (a SheetError stores nothing), then store its rows
    after the campaign's. One append at a time per campaign."""
    store = engine.store
    campaign = store.campaign(cid)
    if campaign.status not in APPENDABLE:
        raise DialerError(
            f"campaign {cid} is {campaign.status.value}: rows can be appended to "
            "a READY, RUNNING, PAUSED or DONE campaign"
        )
    file = file_label or str(path)
    source = reader.detect(path, sheet_name)
    owner = uuid.uuid4().hex
    lock = store.keys.append_lock(cid)
    if not engine.scripts.acquire_lease(lock, owner=owner, ttl_ms=APPEND_LEASE_MS):
        raise DialerError(
            f"campaign {cid}: rows are being appended already; try again when that is done"
        )
    try:
        report = _store(engine, cid, source, file, dnc)
    finally:
        store.release_lease(lock, owner)
    if report.accepted:
        # A DONE campaign runs again; a RUNNING one has its brokers looked at again now.
        engine.scripts.set_status(
            cid, allowed={CampaignStatus.RUNNING, CampaignStatus.DONE}, new=CampaignStatus.RUNNING
        )
    return report


def _store(
    engine: Engine, cid: str, source: reader.SheetSource, file: str, dnc: frozenset[str]
) -> UploadTally:
    store = engine.store
    campaign = store.campaign(cid)  # the total as it is now, under the lock
    settings = campaign.settings
    callees = {str(rec[2]) for rec, state, _ in store.iter_rows(cid) if state != RowState.REJECTED}
    state = validate.IngestState(
        pool=settings.pool,
        dnc=dnc,
        agents=bool(settings.agents),
        seen_callees=callees,
        next_row=campaign.total + 1,
        pool_cursor=campaign.total,
    )
    defaults = validate.Defaults(settings.additional_broker, settings.timeout_seconds)
    report = UploadTally(cid)
    frames: list[pd.DataFrame] = []
    for columns, frame in validate.chunks_with_columns(file, reader.read_chunks(source)):
        if not frames:
            _require_sources(file, columns, settings)
            extra = [c for c in columns.passthrough if c not in campaign.passthrough]
            if extra:
                own = ", ".join(campaign.passthrough) or "none"
                raise SheetError(
                    file, f"column {extra[0]!r} is not one of the campaign's own columns ({own})"
                )
        validated = validate.validate_chunk(frame, columns, defaults, state)
        for name in campaign.passthrough:
            if name not in validated.columns:
                validated[name] = ""
        frames.append(validated)
        _tally(report, validated)
    if report.total == 0:
        raise SheetError(file, "the sheet has a header but no data rows")
    for validated in frames:
        store.add_rows(cid, validated, campaign.passthrough, settings, announce=True)
    return report
