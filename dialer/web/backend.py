"""The console's one door into the library. Every call the web layer makes into the engine,
upload, status, export and report goes through `Backend`, and library errors become
`dialer.web.errors` here and nowhere else — so when the engine's API moves, only this file
changes.

Some reads below reach past today's public API (the campaign list, rows by state, the
display file name); each is marked: the engine package is to provide them."""

from __future__ import annotations

import argparse
import json
import re
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, cast

import pandas as pd
import redis

from dialer import ingest, sheet
from dialer.cli_campaign import add_upload_options, settings_from_args
from dialer.engine import Engine
from dialer.errors import CampaignNotFound, DialerError, SheetError
from dialer.export import export
from dialer.ingest import load_dnc
from dialer.models import CampaignSettings, CampaignStatus, RowState
from dialer.report import write_report
from dialer.runtime import open_store
from dialer.settings import Settings
from dialer.status import campaign_report
from dialer.store import ROWS_PER_BLOCK, CampaignStore, text
from dialer.upload import upload
from dialer.web.errors import BadRequest, Conflict, NotFound, Unavailable, Unprocessable

PREVIEW_ROWS = 20
PREVIEW_REJECTED = 200
ACTIONS = ("start", "pause", "resume", "cancel")

# Form field -> `dialer upload` option. Values go through the CLI's own parser, so the web
# accepts exactly what the CLI accepts and refuses it with the same words.
OPTION_FLAGS = {
    "name": "--name",
    "instance_id": "--instance-id",
    "broker": "--broker",
    "additional_broker": "--additional-broker",
    "timeout_seconds": "--timeout-seconds",
    "rate": "--rate",
    "broker_rate": "--broker-rate",
    "max_attempts": "--max-attempts",
    "window": "--window",
    "timezone": "--timezone",
    "callee_daily_cap": "--callee-daily-cap",
    "callee_monthly_cap": "--callee-monthly-cap",
    "broker_daily_cap": "--broker-daily-cap",
    "pair_guard_s": "--pair-guard-s",
    "sheet": "--sheet",
}
SWITCHES = {"no_outcomes": "--no-outcomes"}
_TRUE = {"1", "true", "on", "yes"}


class _OptionParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadRequest(message, "Options.Invalid")


def display_name(client_name: str | None) -> str:
    """The client's file name for showing and naming only: its last path part, never a path."""
    base = re.split(r"[/\\]", client_name or "")[-1].strip()
    return base if base not in ("", ".", "..") else "upload.csv"


@dataclass(frozen=True)
class UploadOptions:
    campaign: CampaignSettings
    dnc: frozenset[str]
    sheet_name: str | None


class _PreviewSink:
    """Stands in for CampaignStore while `upload()` runs for a preview: it keeps what a
    person needs to see and writes nothing to Redis."""

    def __init__(self) -> None:
        self.first: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.passthrough: tuple[str, ...] = ()

    def create(self, settings: CampaignSettings, file: str, passthrough: tuple[str, ...]) -> str:
        self.passthrough = passthrough
        return "preview"

    def add_rows(self, cid: str, frame: pd.DataFrame, passthrough: tuple[str, ...]) -> None:
        columns = ["row", *ingest.FIELDS, "reason", "detail", *passthrough]
        if len(self.first) < PREVIEW_ROWS:
            head = frame.head(PREVIEW_ROWS - len(self.first))[columns]
            self.first += _records(head)
        if len(self.rejected) < PREVIEW_REJECTED:
            bad = frame[frame["reason"] != ""].head(PREVIEW_REJECTED - len(self.rejected))
            self.rejected += _records(bad[columns])

    def finish_upload(self, cid: str) -> None:
        pass

    def delete(self, cid: str) -> None:
        pass


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (int(v) if k == "row" else str(v)) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


@dataclass
class MetricsSnapshot:
    redis_up: bool = False
    campaigns: Counter[str] = field(default_factory=Counter)  # status -> campaigns
    rows: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # (id, name)
    placed: dict[tuple[str, str], int] = field(default_factory=dict)  # (id, broker)
    failed: dict[tuple[str, str], int] = field(default_factory=dict)  # (id, code)
    workers: int | None = None


class Backend:
    def __init__(self, settings: Settings, store: CampaignStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.Lock()
        self._failed_cache: dict[str, tuple[int, Counter[str]]] = {}
        self._celery: Any = None

    @property
    def store(self) -> CampaignStore:
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings)
            return self._store

    @property
    def engine(self) -> Engine:
        return Engine(self.store, self.settings.timing())

    def healthy(self) -> bool:
        try:
            return bool(self.store.r.ping())
        except (redis.RedisError, OSError):
            return False

    # --- campaigns ----------------------------------------------------------------------

    def campaigns(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first: id, name, status, total, done, created_at, calls_per_s."""
        store = self.store
        # The engine package will provide a campaign list; until then, its zset directly.
        ids = [
            text(c)
            for c in cast(list[bytes], store.r.zrevrange(store.keys.campaigns(), 0, limit - 1))
        ]
        out = []
        for cid in ids:
            try:
                campaign = store.campaign(cid)
            except CampaignNotFound:
                continue
            counts = store.counts(cid)
            rate = 0.0
            if campaign.status is CampaignStatus.RUNNING:
                report = campaign_report(self.engine, cid, self.settings.max_qps)
                rate = sum(b.achieved_per_s for b in report.brokers)
            out.append(
                {
                    "id": cid,
                    "name": campaign.settings.name,
                    "status": campaign.status.value,
                    "file": campaign.file,
                    "created_at": campaign.created_at,
                    "total": campaign.total,
                    "accepted": campaign.accepted,
                    "rejected": campaign.rejected,
                    "done": sum(n for s, n in counts.items() if s in _TERMINAL),
                    "calls_per_s": rate,
                }
            )
        return out

    def status(self, cid: str) -> dict[str, Any]:
        """The `dialer status --json` document."""
        with _translated():
            return campaign_report(self.engine, cid, self.settings.max_qps).as_dict()

    def describe(self, cid: str) -> dict[str, Any]:
        """What the campaign page shows besides its status: file, creation, settings."""
        with _translated():
            c = self.store.campaign(cid)
        s = c.settings
        return {
            "id": c.id,
            "name": s.name,
            "file": c.file,
            "created_at": c.created_at,
            "instance_id": s.instance_id,
            "pool": list(s.pool),
            "rate_per_s": s.rate_per_s,
            "windows": list(s.windows),
            "timezone": s.timezone,
            "max_attempts": s.max_attempts,
            "passthrough": list(c.passthrough),
            "callee_daily_cap": s.callee_daily_cap,
            "callee_monthly_cap": s.callee_monthly_cap,
        }

    def control(self, cid: str, action: str) -> dict[str, Any]:
        engine = self.engine
        with _translated():
            engine.store.campaign(cid)
            try:
                cancelled = None
                if action == "cancel":
                    cancelled = engine.cancel(cid)
                else:
                    getattr(engine, action)(cid)
            except CampaignNotFound:
                raise
            except DialerError as exc:
                raise Conflict(str(exc)) from None
            status = engine.store.campaign(cid).status.value
        out: dict[str, Any] = {"id": cid, "status": status}
        if cancelled is not None:
            out["cancelled"] = cancelled
        return out

    def rows(self, cid: str, states: Iterable[str], limit: int = 100) -> list[dict[str, Any]]:
        """Up to `limit` rows in the given states, in source order, with their outcome."""
        store = self.store
        wanted = {s for s in states if s in RowState.__members__}
        with _translated():
            campaign = store.campaign(cid)
        expected = sum(n for s, n in store.counts(cid).items() if s in wanted)
        # The engine package will provide rows by state; until then, its hashes directly.
        found: list[int] = []
        if expected:
            for raw_row, raw_state in store.r.hscan_iter(store.keys.state(cid), count=1000):
                if text(raw_state).split("|", 1)[0] in wanted:
                    found.append(int(text(raw_row)))
                    if len(found) >= min(limit, expected):
                        break
        found.sort()
        results = store.r.hmget(store.keys.result(cid), [str(r) for r in found]) if found else []
        sources = self._source_records(cid, found)
        out = []
        for row, result in zip(found, results, strict=True):
            rec = sources.get(row, [])
            outcome = json.loads(result) if result else {}
            out.append(
                {
                    "row": row,
                    "caller": str(rec[1]) if rec else "",
                    "callee": str(rec[2]) if rec else "",
                    "broker": outcome.get("broker") or (str(rec[3]) if rec else ""),
                    "error_code": outcome.get("error_code") or "",
                    "error_message": outcome.get("error_message") or "",
                    "passthrough": dict(zip(campaign.passthrough, rec[7:], strict=False)),
                }
            )
        return out

    def _source_records(self, cid: str, rows: list[int]) -> dict[int, list[Any]]:
        store = self.store
        out: dict[int, list[Any]] = {}
        for block in sorted({(r - 1) // ROWS_PER_BLOCK for r in rows}):
            payload = store.r.hget(store.keys.rows(cid), str(block))
            if payload is None:
                continue
            for rec in json.loads(zlib.decompress(cast(bytes, payload))):
                out[int(rec[0])] = rec
        return out

    # --- upload -------------------------------------------------------------------------

    def options(
        self, fields: Mapping[str, list[str]], file_label: str, dnc_path: Path | None = None
    ) -> UploadOptions:
        """Form fields -> campaign settings, through the CLI's own parser and validation."""
        argv = [f"{file_label}"]
        for name, values in fields.items():
            if name in SWITCHES:
                if any(v.strip().lower() in _TRUE for v in values):
                    argv.append(SWITCHES[name])
                continue
            flag = OPTION_FLAGS.get(name)
            if flag is None:
                raise BadRequest(f"unknown option {name!r}", "Options.Invalid")
            argv += [f"{flag}={v.strip()}" for v in values if v.strip()]
        if not any(a.startswith("--name=") for a in argv):
            argv.append(f"--name={Path(file_label).stem}")
        parser = _OptionParser(prog="upload", add_help=False)
        add_upload_options(parser)
        args = parser.parse_args(argv)
        try:
            campaign = settings_from_args(args, self.settings)
            dnc = load_dnc(str(dnc_path)) if dnc_path else frozenset()
        except SheetError as exc:
            raise Unprocessable(f"do-not-call file: {exc.reason}") from None
        except DialerError as exc:
            raise BadRequest(str(exc), "Options.Invalid") from None
        return UploadOptions(campaign, dnc, args.sheet_name)

    def preview(self, path: Path, label: str, opts: UploadOptions) -> dict[str, Any]:
        """What `upload` would store and reject, computed by `upload` itself into a sink."""
        sink = _PreviewSink()
        with _sheet_errors(label):
            source = sheet.detect(path, opts.sheet_name)
            header = next(sheet.read_chunks(source, 1)).columns
            columns = ingest.ColumnMap.from_header(str(path), header)
            report = upload(
                cast(CampaignStore, sink),
                path,
                opts.campaign,
                dnc=opts.dnc,
                sheet_name=opts.sheet_name,
            )
        return {
            "file": label,
            "kind": source.kind,
            "encoding": source.encoding,
            "delimiter": source.delimiter,
            "columns": columns.fields,
            "passthrough": list(columns.passthrough),
            "total": report.total,
            "accepted": report.accepted,
            "rejected": sum(report.rejected.values()),
            "reasons": dict(report.rejected),
            "brokers": {
                b: {"rows": n, "rate_per_s": opts.campaign.rate_for(b)}
                for b, n in sorted(report.per_broker.items())
            },
            "first_rows": sink.first,
            "rejected_rows": sink.rejected,
        }

    def upload(self, path: Path, label: str, opts: UploadOptions) -> dict[str, Any]:
        store = self.store
        with _sheet_errors(label):
            report = upload(store, path, opts.campaign, dnc=opts.dnc, sheet_name=opts.sheet_name)
        # upload() records the path it read (a temporary file here); the operator knows the
        # sheet by the name it had on their machine. The engine package will take this name.
        store.r.hset(store.keys.meta(report.campaign_id), "file", label)
        return {
            "id": report.campaign_id,
            "total": report.total,
            "accepted": report.accepted,
            "rejected": sum(report.rejected.values()),
            "reasons": dict(report.rejected),
        }

    # --- downloads ----------------------------------------------------------------------

    def write_results(
        self, cid: str, path: Path, *, masked: bool = False, encoding: str = "utf-8"
    ) -> None:
        with _translated():
            export(self.store, cid, path, masked=masked, encoding=encoding)

    def write_report(self, cid: str, path: Path) -> None:
        with _translated():
            write_report(self.store, cid, path)

    # --- metrics ------------------------------------------------------------------------

    def metrics(self) -> MetricsSnapshot:
        snap = MetricsSnapshot()
        try:
            store = self.store
            ids = [
                text(c) for c in cast(list[bytes], store.r.zrange(store.keys.campaigns(), 0, -1))
            ]
            snap.redis_up = True
        except (redis.RedisError, OSError):
            return snap
        for cid in ids:
            try:
                campaign = store.campaign(cid)
            except CampaignNotFound:
                continue
            snap.campaigns[campaign.status.value] += 1
            if campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
                continue
            counts = store.counts(cid)
            snap.rows[(cid, campaign.settings.name)] = counts
            dialed = {
                text(k): int(float(v)) for k, v in store.r.hgetall(store.keys.dialed(cid)).items()
            }
            for key, n in dialed.items():
                if key.startswith("n:"):
                    snap.placed[(cid, key[2:])] = n
            for code, n in self._failed_by_code(cid, counts.get(RowState.FAILED.value, 0)).items():
                snap.failed[(cid, code)] = n
        snap.workers = self._workers_alive()
        return snap

    def _failed_by_code(self, cid: str, failed: int) -> Counter[str]:
        """Failed rows by error code; rescanned only when the FAILED count moved."""
        cached = self._failed_cache.get(cid)
        if cached and cached[0] == failed:
            return cached[1]
        store = self.store
        rows = [
            text(r)
            for r, s in store.r.hscan_iter(store.keys.state(cid), count=1000)
            if text(s).split("|", 1)[0] == RowState.FAILED.value
        ]
        codes: Counter[str] = Counter()
        for start in range(0, len(rows), 1000):
            for raw in store.r.hmget(store.keys.result(cid), rows[start : start + 1000]):
                codes[json.loads(raw).get("error_code") or "" if raw else ""] += 1
        self._failed_cache[cid] = (failed, codes)
        return codes

    def _workers_alive(self) -> int | None:
        """Celery workers answering a ping on this Redis within half a second."""
        try:
            if self._celery is None:
                from celery import Celery

                from dialer.runtime import redis_url

                self._celery = Celery(
                    "dialer-web", broker=redis_url(self.settings), set_as_current=False
                )
            return len(self._celery.control.ping(timeout=0.5) or [])
        except Exception:  # a broker hiccup makes the gauge absent, not the scrape fail
            return None


_TERMINAL = {
    s.value
    for s in (
        RowState.DISPATCHED,
        RowState.FAILED,
        RowState.UNKNOWN,
        RowState.CANCELLED,
        RowState.REJECTED,
    )
}


@contextmanager
def _translated() -> Iterator[None]:
    """Library errors -> web errors, for the calls that name one campaign."""
    try:
        yield
    except CampaignNotFound as exc:
        raise NotFound(str(exc)) from None
    except (redis.RedisError, OSError):
        raise Unavailable("Redis cannot be reached") from None


@contextmanager
def _sheet_errors(label: str) -> Iterator[None]:
    """A sheet that cannot be used: the CLI's one-line reason, naming the client's file."""
    try:
        yield
    except SheetError as exc:
        named = SheetError(label, exc.reason, row=exc.row, column=exc.column)
        raise Unprocessable(str(named)) from None
    except DialerError as exc:
        raise BadRequest(str(exc), "Options.Invalid") from None
