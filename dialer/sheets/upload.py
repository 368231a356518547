"""`dialer upload`: read a sheet, validate it chunk by chunk, store the campaign."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dialer.engine.events import EventStore, WebhookEndpoint
from dialer.engine.store import ROWS_PER_BLOCK, CampaignStore
from dialer.errors import SheetError
from dialer.models import CampaignSettings
from dialer.sheets import reader, validate

EXAMPLES_PER_REASON = 3


@dataclass
class UploadTally:
    campaign_id: str
    total: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    per_broker: Counter[str] = field(default_factory=Counter)


def upload(
    store: CampaignStore,
    path: Path,
    settings: CampaignSettings,
    *,
    dnc: frozenset[str] = frozenset(),
    sheet_name: str | None = None,
    chunk_rows: int = reader.CHUNK_ROWS,
    file_label: str | None = None,
    webhooks: Sequence[WebhookEndpoint] = (),
) -> UploadTally:
    """Store a campaign from `path`. A SheetError leaves nothing stored. `file_label` is the
    name the campaign records and errors give for the file (the web console's uploads sit in
    temporary files); the path by default. `webhooks` are stored before the campaign is
    READY: its rejected rows' row.finished, written then, go to them."""
    assert chunk_rows % ROWS_PER_BLOCK == 0
    file = file_label or str(path)
    source = reader.detect(path, sheet_name)
    state = validate.IngestState(pool=settings.pool, dnc=dnc, agents=bool(settings.agents))
    defaults = validate.Defaults(settings.additional_broker, settings.timeout_seconds)
    cid: str | None = None
    report: UploadTally | None = None
    try:
        for columns, frame in validate.chunks_with_columns(
            file, reader.read_chunks(source, chunk_rows)
        ):
            if cid is None:
                _require_sources(file, columns, settings)
                cid = store.create(settings, file, columns.passthrough)
                report = UploadTally(cid)
            assert report is not None
            validated = validate.validate_chunk(frame, columns, defaults, state)
            store.add_rows(cid, validated, columns.passthrough, settings)
            _tally(report, validated)
        if report is None:
            raise SheetError(file, "the file has no header row")
        if report.total == 0:
            raise SheetError(file, "the sheet has a header but no data rows")
        if webhooks:
            EventStore(store.r, store.keys).save_endpoints(report.campaign_id, list(webhooks))
    except BaseException:
        if cid is not None:
            store.delete(cid)
        raise
    store.finish_upload(report.campaign_id)
    return report


def _require_sources(file: str, columns: validate.ColumnMap, settings: CampaignSettings) -> None:
    if "caller" not in columns.fields and not settings.agents:
        raise SheetError(
            file,
            "no caller column (Caller, 主叫, 主叫号码) and no --caller agents for the campaign",
        )
    if "broker" not in columns.fields and not settings.pool:
        raise SheetError(
            file,
            "no broker column (Broker, 中间号, 中间号码) and no --broker given for the campaign",
        )


def _tally(report: UploadTally, frame) -> None:
    report.total += len(frame)
    accepted = frame["reason"] == ""
    report.accepted += int(accepted.sum())
    report.per_broker.update(frame.loc[accepted, "broker"].value_counts().to_dict())
    rejected = frame[~accepted]
    report.rejected.update(rejected["reason"].value_counts().to_dict())
    for code, group in rejected.groupby("reason"):
        examples = report.examples.setdefault(str(code), [])
        for row, detail in zip(group["row"], group["detail"], strict=True):
            if len(examples) >= EXAMPLES_PER_REASON:
                break
            examples.append(f"row {row}: {detail}")
