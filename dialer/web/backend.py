"""The console's one door into the library. Every call the web layer makes into the engine,
upload, status, export and report goes through `Backend`, and library errors become
`dialer.web.errors` here and nowhere else — so when the engine's API moves, only this file
changes."""

from __future__ import annotations

import argparse
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, cast

import pandas as pd
import redis

from dialer.campaign.manage import RowFilter, find_rows, list_campaigns
from dialer.campaign.status import campaign_report
from dialer.engine import CampaignStore, Engine, open_store
from dialer.engine.dnc import DoNotCall
from dialer.errors import CampaignNotFound, DialerError, SheetError
from dialer.models import CampaignSettings, CampaignStatus, RowState
from dialer.options.upload import add_upload_options, settings_from_args
from dialer.options.values import phone_number, row_states
from dialer.results.calls import export_calls
from dialer.results.export import export
from dialer.results.report import write_report
from dialer.settings import Settings
from dialer.sheets import reader, validate
from dialer.sheets.upload import upload
from dialer.sheets.validate import load_dnc
from dialer.web.errors import BadRequest, Conflict, NotFound, Unavailable, Unprocessable
from dialer.worker.monitor import live_workers

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
    "reconcile_horizon": "--reconcile-horizon",
    "sheet": "--sheet",
    "caller": "--caller",
    "caller_concurrency": "--caller-concurrency",
    "wrap_up_s": "--wrap-up-s",
    "caller_max_hold_s": "--caller-max-hold-s",
    "recycle": "--recycle",
    "max_contacts": "--max-contacts",
    "max_agent_misses": "--max-agent-misses",
    "agent_miss_wait_s": "--agent-miss-wait-s",
    "start_at": "--start-at",
    "end_at": "--end-at",
}
SWITCHES = {"no_outcomes": "--no-outcomes", "no_caller_pacing": "--no-caller-pacing"}
_TRUE = {"1", "true", "on", "yes"}


class _OptionParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadRequest(message, "Options.Invalid")


def display_name(client_name: str | None) -> str:
    """The client's file name for showing and naming only: its last path part, never a path."""
    base = (client_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
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

    def add_rows(self, cid: str, frame: pd.DataFrame, passthrough: tuple[str, ...],
                 settings: CampaignSettings) -> None:  # fmt: skip
        columns = ["row", *validate.FIELDS, "reason", "detail", *passthrough]
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
    workers: int = 0


class Backend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: CampaignStore | None = None
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._failed_cache: dict[str, tuple[int, Counter[str]]] = {}

    @property
    def store(self) -> CampaignStore:
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings)
            return self._store

    @property
    def engine(self) -> Engine:
        # Built once: an Engine measures the Redis clock's offset when it is made.
        store = self.store
        with self._lock:
            if self._engine is None:
                self._engine = Engine(store, self.settings.timing())
            return self._engine

    def healthy(self) -> bool:
        return self.store.ping()

    # --- campaigns ----------------------------------------------------------------------

    def campaigns(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first: what `dialer list --json` shows (dialer.campaign.manage.list_campaigns)."""
        return [c.as_dict() for c in list_campaigns(self.engine, limit=limit)]

    def status(self, cid: str) -> dict[str, Any]:
        """The `dialer status --json` document."""
        with _translated():
            return campaign_report(self.engine, cid).as_dict()

    def describe(self, cid: str) -> dict[str, Any]:
        """What the campaign page shows besides its status: file, creation, settings."""
        with _translated():
            c = self.store.campaign(cid)
        s = c.settings
        return {
            "id": c.id,
            "name": s.name,
            "file": c.file,
            "created_at": c.created_at_ms / 1000,
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
        """Up to `limit` rows in the given states, in source order, with their reasons: what
        `dialer rows` shows (dialer.campaign.manage.find_rows)."""
        try:  # the words `dialer rows --state` refuses a state with
            wanted = frozenset(state for text in states for state in row_states(text))
        except argparse.ArgumentTypeError as exc:
            raise BadRequest(f"state: {exc}") from None
        if not wanted:
            return []
        with _translated():
            found = find_rows(self.store, cid, RowFilter(states=wanted), limit=limit)
        return [{**r.as_dict(), "error_message": r.message} for r in found]

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
            source = reader.detect(path, opts.sheet_name)
            header = next(reader.read_chunks(source, 1)).columns
            columns = validate.ColumnMap.from_header(str(path), header)
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

    # --- the do-not-call list -----------------------------------------------------------

    def dnc_list(self) -> dict[str, Any]:
        entries = DoNotCall(self.store).entries()
        return {"numbers": [{"number": n, "added_at_ms": at} for n, at in entries]}

    def dnc_change(self, numbers: Iterable[str], *, add: bool) -> dict[str, Any]:
        """Numbers checked (and normalised) as `dialer dnc add|remove` checks them."""
        checked = []
        for text in numbers:
            try:
                checked.append(phone_number(str(text)))
            except argparse.ArgumentTypeError as exc:
                raise BadRequest(f"number {exc}", "Options.Invalid") from None
        dnc = DoNotCall(self.store)
        if add:
            return {"added": dnc.add(checked)}
        return {"removed": dnc.remove(checked)}

    def upload(self, path: Path, label: str, opts: UploadOptions) -> dict[str, Any]:
        store = self.store
        with _sheet_errors(label):
            report = upload(store, path, opts.campaign, dnc=opts.dnc, sheet_name=opts.sheet_name,
                            file_label=label)  # fmt: skip
        if opts.campaign.start_at_ms:  # it starts by itself, as `dialer upload` does
            self.engine.start(report.campaign_id)
        return {
            "id": report.campaign_id,
            "total": report.total,
            "accepted": report.accepted,
            "rejected": sum(report.rejected.values()),
            "reasons": dict(report.rejected),
        }

    # --- downloads ----------------------------------------------------------------------

    def write_results(self, cid: str, path: Path, *, masked: bool = False,
                      encoding: str | None = None, calls: bool = False) -> None:  # fmt: skip
        """The results sheet, or (`calls`) the call log."""
        write = export_calls if calls else export
        with _translated():
            write(self.store, cid, path, masked=masked, encoding=encoding)

    def write_report(self, cid: str, path: Path, lang: str) -> None:
        with _translated():
            write_report(self.store, cid, path, lang)

    # --- metrics ------------------------------------------------------------------------

    def metrics(self) -> MetricsSnapshot:
        snap = MetricsSnapshot()
        try:
            store = self.store
            ids = store.campaign_ids()
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
            for figures in store.broker_figures(cid):
                snap.placed[(cid, figures.number)] = figures.dispatched
            for code, n in self._failed_by_code(cid, counts.get(RowState.FAILED.value, 0)).items():
                snap.failed[(cid, code)] = n
        snap.workers = live_workers(self.engine).alive
        return snap

    def _failed_by_code(self, cid: str, failed: int) -> Counter[str]:
        """FAILED rows by error code; read again only when the FAILED count moved."""
        cached = self._failed_cache.get(cid)
        if cached and cached[0] == failed:
            return cached[1]
        rows = self.store.rows_in_states(cid, {RowState.FAILED.value}) if failed else []
        codes = Counter(outcome.get("error_code") or "" for _, _, outcome in rows)
        self._failed_cache[cid] = (failed, codes)
        return codes


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
