"""The console's one door into the library. Every call the web layer makes into the engine,
upload, status, export and report goes through `Backend`, and library errors become
`dialer.web.errors` here and nowhere else — so when the engine's API moves, only this file
changes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from dialer.accounts.audit import Trail
from dialer.agents import Agents
from dialer.agents.disposition import DispositionError, NotYourCall
from dialer.agents.presence import SUPERVISOR, PresenceError
from dialer.campaign.activity import STALL_TEXT as STALL_TEXT
from dialer.campaign.activity import WAIT_TEXT as WAIT_TEXT
from dialer.campaign.manage import RowFilter, find_rows, list_campaigns
from dialer.campaign.status import CallerNow as CallerNow
from dialer.campaign.status import disabled_endpoints, status_view
from dialer.engine import CampaignStore, Engine, open_accounts, open_store
from dialer.engine.dnc import DoNotCall
from dialer.engine.events import EventStore, WebhookEndpoint
from dialer.errors import CampaignNotFound, DialerError, OptionError, SheetError, StoreError
from dialer.models import CampaignSettings, CampaignStatus, RowState
from dialer.options.upload import UPLOAD_OPTIONS as UPLOAD_OPTIONS
from dialer.options.upload import Option as Option
from dialer.options.upload import options_from_fields, settings_from_args, webhooks_from_args
from dialer.options.values import checked, phone_number, row_states
from dialer.results.calls import export_calls
from dialer.results.export import export
from dialer.results.report import write_report
from dialer.settings import Settings
from dialer.sheets import reader, validate
from dialer.sheets.append import append
from dialer.sheets.upload import upload
from dialer.sheets.validate import load_dnc
from dialer.web.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unavailable,
    Unprocessable,
)
from dialer.webhooks.log import parse_since, redeliver, webhooks_view
from dialer.worker.monitor import live_workers

# STALL_TEXT, WAIT_TEXT and CallerNow are imported "as" themselves: the words the console's
# scripts show for a campaign's states reach the web layer through this door too.

PREVIEW_ROWS = 20
PREVIEW_REJECTED = 200
ACTIONS = ("start", "pause", "resume", "cancel")


def display_name(client_name: str | None) -> str:
    """The client's file name for showing and naming only: its last path part, never a path."""
    base = (client_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base if base not in ("", ".", "..") else "upload.csv"


@dataclass(frozen=True)
class UploadOptions:
    campaign: CampaignSettings
    dnc: frozenset[str]
    sheet_name: str | None
    webhooks: tuple[WebhookEndpoint, ...] = ()
    webhook_secret: str | None = None  # made at upload: answered once


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

    def add_rows(
        self,
        cid: str,
        frame: pd.DataFrame,
        passthrough: tuple[str, ...],
        settings: CampaignSettings,
    ) -> None:
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
    webhooks_disabled: list[tuple[str, str, str]] = field(default_factory=list)  # id, ep, why
    webhook_backlog: dict[str, int] = field(default_factory=dict)  # outbox, due -> entries


class Backend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: CampaignStore | None = None
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._failed_cache: dict[str, tuple[int, Counter[str]]] = {}
        self._agents: Agents | None = None

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

    # --- agents at work (dialer.agents) ---------------------------------------------------

    @property
    def agents(self) -> Agents:
        store = self.store
        with self._lock:
            if self._agents is None:
                trail = Trail(open_accounts(self.settings), self.settings.audit_retention_days)
                self._agents = Agents(store, trail, self.settings)
            return self._agents

    def agents_wall(self) -> dict[str, Any]:
        return self.agents.wall()

    def agent_presence(self, number: str) -> dict[str, Any]:
        agents = self.agents
        return agents.presences.get(number).as_dict(agents.presences.reasons)

    def set_presence(
        self, number: str, state: str, reason: str, *, account: str, own: bool
    ) -> dict[str, Any]:
        """`own`: the agent on their own screen (which beats from now on)."""
        agents = self.agents
        try:
            presence = agents.presences.set(
                number,
                state,
                reason if own or state.upper() != "BREAK" else reason or SUPERVISOR,
                who=account,
                account=account if own else "",
                screen=True if own else None,
                audit=False,
            )
        except PresenceError as exc:
            raise BadRequest(str(exc), "Agents.Presence") from None
        return presence.as_dict(agents.presences.reasons)

    def heartbeat(self, number: str) -> dict[str, Any]:
        agents = self.agents
        return agents.presences.beat(number).as_dict(agents.presences.reasons)

    def agent_desk(self, number: str, *, whole_numbers: bool, own: bool) -> dict[str, Any]:
        return self.agents.desk_of(number, whole_numbers=whole_numbers, own=own)

    def dispose(
        self,
        cid: str,
        row: int,
        *,
        agent: str | None,
        code: str,
        notes: str,
        callback_at: str | None,
        callback_for: str,
        account: str,
    ) -> dict[str, Any]:
        try:
            saved = self.agents.dispose(
                cid,
                row,
                agent=agent,
                code=code,
                notes=notes,
                callback_at=callback_at,
                callback_for=callback_for,
                who=account,
                audit=False,
            )
        except CampaignNotFound as exc:
            raise NotFound(str(exc)) from None
        except NotYourCall as exc:
            raise Forbidden(str(exc), "Agents.NotYourCall") from None
        except DispositionError as exc:
            raise Conflict(str(exc), "Agents.Disposition") from None
        return saved

    # --- campaigns ----------------------------------------------------------------------

    def campaigns(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first: what `dialer list --json` shows (dialer.campaign.manage.list_campaigns)."""
        return [c.as_dict() for c in list_campaigns(self.engine, limit=limit)]

    def status(self, cid: str, masked: bool = False) -> dict[str, Any]:
        """The `dialer status --json` document; `masked`: callers' numbers masked too."""
        with _translated():
            doc = status_view(self.engine, cid).as_dict()
        if masked:
            callers = cast(list[dict[str, Any]], doc["callers"])
            doc["callers"] = [{**c, "number": c["masked"]} for c in callers]
        return doc

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

    def append(
        self, cid: str, path: Path, label: str, sheet_name: str | None, dnc_path: Path | None = None
    ) -> dict[str, Any]:
        """As `dialer append ID SHEET`: the rows stored and rejected, with their reasons."""
        with _sheet_errors(label), _translated():
            try:
                dnc = load_dnc(str(dnc_path)) if dnc_path else frozenset()
                report = append(
                    self.engine, cid, path, dnc=dnc, sheet_name=sheet_name, file_label=label
                )
            except (CampaignNotFound, SheetError):
                raise
            except DialerError as exc:
                raise Conflict(str(exc)) from None
        return {
            "id": cid,
            "total": report.total,
            "accepted": report.accepted,
            "rejected": sum(report.rejected.values()),
            "reasons": dict(report.rejected),
            "examples": report.examples,
        }

    # --- webhooks -----------------------------------------------------------------------

    def webhooks(self, cid: str, limit: int = 50) -> dict[str, Any]:
        """What `dialer webhooks ID --json` shows: endpoints and recent deliveries."""
        store = self.store
        with _translated():
            store.campaign(cid)
            events = EventStore(store.r, store.keys)
            return webhooks_view(events, self.settings, cid, recent=limit).as_dict()

    def redeliver(
        self, cid: str, event_ids: list[str], since: str | None, endpoint: str | None
    ) -> dict[str, Any]:
        """As `dialer webhooks ID --redeliver EVENT_ID` / `--since TIME`."""
        store = self.store
        with _translated():
            campaign = store.campaign(cid)
            try:
                since_ms = (
                    parse_since(since, campaign.settings.timezone, store.now_ms())
                    if since
                    else None
                )
                if not event_ids and since_ms is None:
                    raise OptionError("event_ids", "name events, or a time to redeliver since")
                events = EventStore(store.r, store.keys)
                n = redeliver(
                    events,
                    self.settings,
                    cid,
                    event_ids=event_ids,
                    since_ms=since_ms,
                    endpoint=endpoint,
                )
            except OptionError as exc:
                raise BadRequest(str(exc)) from None
        return {"id": cid, "queued": n}

    def rows(
        self, cid: str, states: Iterable[str], limit: int = 100, masked: bool = False
    ) -> list[dict[str, Any]]:
        """Up to `limit` rows in the given states, in source order, with their reasons: what
        `dialer rows` shows (dialer.campaign.manage.find_rows)."""
        try:  # the words `dialer rows --state` refuses a state with
            wanted = frozenset(s for text in states for s in checked("state", text, row_states))
        except OptionError as exc:
            raise BadRequest(str(exc)) from None
        if not wanted:
            return []
        with _translated():
            found = find_rows(self.store, cid, RowFilter(states=wanted), limit=limit, masked=masked)
        return [{**r.as_dict(), "error_message": r.message} for r in found]

    # --- upload -------------------------------------------------------------------------

    def options(
        self, fields: Mapping[str, list[str]], file_label: str, dnc_path: Path | None = None
    ) -> UploadOptions:
        """Fields -> campaign settings, by the same option table and checks as the CLI's."""
        try:
            args = options_from_fields(fields, Path(file_label))
            campaign = settings_from_args(args, self.settings)
            webhooks, secret = webhooks_from_args(args)
            dnc = load_dnc(str(dnc_path)) if dnc_path else frozenset()
        except SheetError as exc:
            raise Unprocessable(f"do-not-call file: {exc.reason}") from None
        except DialerError as exc:
            raise BadRequest(str(exc), "Options.Invalid") from None
        return UploadOptions(campaign, dnc, args.sheet, tuple(webhooks), secret)

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
        try:
            valid = [checked("number", str(text), phone_number) for text in numbers]
        except OptionError as exc:
            raise BadRequest(str(exc), "Options.Invalid") from None
        dnc = DoNotCall(self.store)
        if add:
            return {"added": dnc.add(valid)}
        return {"removed": dnc.remove(valid)}

    def upload(self, path: Path, label: str, opts: UploadOptions) -> dict[str, Any]:
        store = self.store
        with _sheet_errors(label):
            report = upload(
                store,
                path,
                opts.campaign,
                dnc=opts.dnc,
                sheet_name=opts.sheet_name,
                file_label=label,
                webhooks=opts.webhooks,
            )
        if opts.campaign.start_at_ms:  # it starts by itself, as `dialer upload` does
            self.engine.start(report.campaign_id)
        return {
            "id": report.campaign_id,
            "total": report.total,
            "accepted": report.accepted,
            "rejected": sum(report.rejected.values()),
            "reasons": dict(report.rejected),
            **({"webhook_secret": opts.webhook_secret} if opts.webhook_secret else {}),
        }

    # --- downloads ----------------------------------------------------------------------

    def write_results(
        self,
        cid: str,
        path: Path,
        *,
        masked: bool = False,
        encoding: str | None = None,
        calls: bool = False,
    ) -> None:
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
        except StoreError:
            return snap
        for cid in ids:
            try:
                campaign = store.campaign(cid)
            except CampaignNotFound:
                continue
            snap.campaigns[campaign.status.value] += 1
            for eid, why in disabled_endpoints(self.engine, cid):
                snap.webhooks_disabled.append((cid, eid, why))
            if campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
                continue
            counts = store.counts(cid)
            snap.rows[(cid, campaign.settings.name)] = counts
            for figures in store.broker_figures(cid):
                snap.placed[(cid, figures.number)] = figures.dispatched
            for code, n in self._failed_by_code(cid, counts.get(RowState.FAILED.value, 0)).items():
                snap.failed[(cid, code)] = n
        snap.workers = live_workers(self.engine).alive
        events = EventStore(store.r, store.keys)
        snap.webhook_backlog = {"outbox": events.outbox_backlog(), "due": events.due_count()}
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
    except StoreError:
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
