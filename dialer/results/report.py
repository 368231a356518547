"""A single self-contained HTML report of a campaign: its settings, totals, call outcomes and
the connect rate over time, retries and their reasons, failures explained, per-broker,
per-caller and per-agent tables (dispositions, occupancy, breaks) and the first failed and
UNKNOWN rows (numbers masked). Every time is in the campaign's zone and says so; the one
chart is inline SVG; nothing is loaded from elsewhere. In Simplified Chinese or English:
every word from the one catalogue (dialer.i18n.catalogue), while codes, numbers and times
stay as the results sheet has them.

This module decides what the report says; templates/report.html lays it out through Jinja2
with autoescape, as the console's pages are (text is escaped there; only the report's own
markup — codes, the chart — is Markup)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from dialer import times
from dialer.campaign.activity import format_duration, pause_code
from dialer.campaign.status import busy_share
from dialer.engine import Campaign, CampaignStore
from dialer.engine.presence import AgentStore
from dialer.i18n.catalogue import DEFAULT, HTML_LANG, translations
from dialer.i18n.meanings import (
    CAMPAIGN_STATUSES,
    MEANINGS,
    OUTCOME_MEANINGS,
    OUTCOMES,
    REASONS,
    ROW_STATES,
    STATUS_MEANINGS,
)
from dialer.models import CampaignStatus, format_rate
from dialer.phones import mask_caller
from dialer.results.charts import Timeline, render_timeline
from dialer.results.export import replacing
from dialer.results.summary import NOT_RECORDED, Summary, summarise

REPORT_SUFFIXES = (".html", ".htm")
_NUMERIC = re.compile(r"[\d.,]+%?|–")
_BACKTICKED = re.compile(r"`([^`<>]+)`")

Cell = str | int | float | Markup


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _code(value: str) -> Markup:
    return Markup("<code>{}</code>").format(value)


def _fill(message: str, **slots: object) -> Markup:
    """A translated message with its slots filled: text is escaped, Markup kept."""
    return escape(message).format(**slots)


@dataclass
class Table:
    """One table of the report: `rows` of cells; with `numeric`, numbers (and percentages,
    "12 s", "–") align right."""

    id: str
    header: Sequence[str]
    cells: Sequence[Sequence[Cell]]
    empty: str = ""
    numeric: bool = True
    total: tuple[str, int] | None = None

    @property
    def width(self) -> int:
        return len(self.header) or 2

    @property
    def rows(self) -> list[list[tuple[Cell, bool]]]:
        return [[(v, self.numeric and _is_number(v)) for v in row] for row in self.cells]


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) or bool(_NUMERIC.fullmatch(str(value).removesuffix(" s")))


@dataclass
class Section:
    title: str | None = None
    paragraphs: list[str | Markup] = field(default_factory=list)
    table: Table | None = None
    chart: Markup | None = None


class _Page:
    """The words of one language, and times in the campaign's zone."""

    def __init__(self, zone: ZoneInfo, lang: str) -> None:
        self.zone = zone
        self._ = translations(lang).gettext

    def time(self, ms: int | float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        moment = times.local(ms, self.zone.key) if ms else None
        return moment.strftime(fmt) if moment else "–"

    def offset(self, ms: float) -> str:
        moment = times.local(ms, self.zone.key)
        minutes = (
            int((moment.utcoffset() or dt.timedelta(0)).total_seconds() // 60) if moment else 0
        )
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    def word(self, table: dict[str, str], key: str) -> Markup:
        """The translated word for a code of `table` ('' for an unknown code); a command in
        backticks (`dialer redial`) is shown as code."""
        if key not in table:
            return Markup("")
        return Markup(_BACKTICKED.sub(r"<code>\1</code>", str(escape(self._(table[key])))))

    def named(self, table: dict[str, str], key: str) -> Markup:
        """A state, status or outcome: its word, then its code as the results sheet has it."""
        word = self.word(table, key)
        if not word:
            return _code(key)
        return word + Markup(' <code class="of">{}</code>').format(key)


def _settings_rows(campaign: Campaign, page: _Page) -> list[list[Cell]]:
    s, _ = campaign.settings, page._
    overrides = ", ".join(f"{b} {format_rate(r)}" for b, r in sorted(s.broker_rates.items()))

    def per_day(n: int) -> str:
        return _("{n} a day").format(n=n) if n else _("no daily cap")

    daily = per_day(s.callee_daily_cap)
    monthly = (
        _("{n} a month").format(n=s.callee_monthly_cap)
        if s.callee_monthly_cap
        else _("no monthly cap")
    )
    broker = per_day(s.broker_daily_cap)
    caps = _(
        "per callee {daily}, {monthly}; per broker {broker}; the same caller and callee not "
        "twice within {guard} s"
    ).format(daily=daily, monthly=monthly, broker=broker, guard=f"{s.pair_guard_s:g}")
    zone = s.timezone
    finished = f"{page.time(campaign.finished_at_ms)} ({zone})" if campaign.finished_at_ms else "–"
    rows = _("{total} ({accepted} accepted, {rejected} rejected)").format(
        total=campaign.total, accepted=campaign.accepted, rejected=campaign.rejected
    )
    attempts = _("at most {n} (retried only when certainly not placed)").format(n=s.max_attempts)
    records = _("fetched for every placed call") if s.outcomes else _("not fetched (--no-outcomes)")
    return [
        [_("file"), campaign.file],
        [_("uploaded"), f"{page.time(campaign.created_at_ms)} ({zone})"],
        [_("finished"), finished],
        [_("rows"), rows],
        [_("CCC instance"), s.instance_id],
        [_("broker pool"), ", ".join(s.pool) or _("– (every row names its broker)")],
        [_("rate per broker"), format_rate(s.rate_per_s) + (f"; {overrides}" if overrides else "")],
        [_("additional broker"), s.additional_broker or "–"],
        [_("timeout (rows without one)"), f"{s.timeout_seconds} s"],
        [_("attempts per row"), attempts],
        [_("calling windows"), f"{', '.join(s.windows)} ({zone})"],
        [_("caps"), caps],
        [_("call records"), records],
    ]


def _paused_text(campaign: Campaign, page: _Page) -> Markup:
    """' — why' after the status in the lead line of a paused campaign ('' otherwise)."""
    reason = campaign.pause_reason
    if campaign.status is not CampaignStatus.PAUSED or not reason:
        return Markup("")
    found = pause_code(reason)
    why = page.word(REASONS, found)
    if found != "Operator.Pause":
        why = Markup("{} ({})").format(why, reason) if why else escape(reason)
    return Markup(" — ") + why


def _status_rows(by_status: dict[str, int], total: int, page: _Page) -> list[list[Cell]]:
    return [
        [page.named(ROW_STATES, s), n, _share(n, total), page.word(STATUS_MEANINGS, s)]
        for s, n in by_status.items()
    ]


def _outcome_rows(
    outcomes: dict[str, int], no_record: dict[str, int], page: _Page
) -> list[list[Cell]]:
    _ = page._
    recorded = sum(outcomes.values())
    out: list[list[Cell]] = [
        [page.named(OUTCOMES, o), n, _share(n, recorded), page.word(OUTCOME_MEANINGS, o)]
        for o, n in outcomes.items()
    ]
    for why, n in no_record.items():
        label: Cell
        meaning: Cell
        if why in REASONS:
            label = _fill(_("no record ({why})"), why=page.word(REASONS, why))
            meaning = page.word(MEANINGS, why)
        elif why:  # a row written before its reason had a code: the note as it was written
            label = _fill(_("no record ({why})"), why=_code(why))
            meaning = _("placed; its call record was not fetched")
        else:
            label = _("no call record yet")
            meaning = _("placed; the record was not fetched (yet)")
        out.append([label, n, "", meaning])
    return out


def _chart(timeline: Timeline, zone: ZoneInfo, page: _Page) -> Markup:
    svg = render_timeline(timeline, zone, page._)
    if svg:
        return Markup(svg)  # drawn by dialer.results.charts, which escapes its text
    return Markup("<p><i>{}</i></p>").format(page._("Nothing dialled yet: no chart."))


def _callers(store: CampaignStore, campaign: Campaign, page: _Page) -> Section | None:
    """Per caller (a person), when callers are paced: calls, connects, talk, time busy."""
    if not campaign.settings.caller_pacing:
        return None
    _ = page._
    figures = store.caller_figures(campaign.id, campaign.settings.agents, limit=100)
    now = store.now_ms()
    cells: list[list[Cell]] = [
        [
            mask_caller(c.number),
            c.calls,
            c.connected,
            _share(c.connected, c.calls),
            f"{c.talk_s} s",
            f"{c.busy_ms / 1000 / c.calls:.0f} s" if c.calls else "–",
            f"{busy_share(c.busy_ms, campaign, now):.0%}",
        ]
        for c in figures
    ]
    intro = _(
        "Each caller is rung for one call at a time (plus {wrap} s of wrap-up); numbers masked."
    ).format(wrap=f"{campaign.settings.wrap_up_s:g}")
    if len(figures) == 100:
        intro += " " + _("The 100 with most calls are shown.")
    header = [
        _("caller"),
        _("calls"),
        _("connected"),
        _("connect rate"),
        _("talk"),
        _("average call"),
        _("share of time in calls"),
    ]
    table = Table("callers", header, cells, _("no call placed yet"))
    return Section(_("Per caller"), [intro], table)


# At most this many days of break time are read for one report.
_MAX_DAYS = 62


def _days(campaign: Campaign, now_ms: int, zone: ZoneInfo) -> list[str]:
    """The day keys (YYYYMMDD, the campaign's zone) from its upload to its end or now.
    Breaks are kept by day in DIALER_AGENTS_TIMEZONE, which the report cannot read: the days
    match while that zone is the campaign's (both Asia/Shanghai by default)."""
    first = dt.datetime.fromtimestamp(campaign.created_at_ms / 1000, zone).date()
    last = dt.datetime.fromtimestamp((campaign.finished_at_ms or now_ms) / 1000, zone).date()
    span = max(0, min((last - first).days, _MAX_DAYS - 1))
    return [(first + dt.timedelta(days=n)).strftime("%Y%m%d") for n in range(span + 1)]


def _breaks(days: list[dict[str, int]]) -> Cell:
    """'25 min (lunch 20 min, System.MissedRings 5 min)': break time on the days read, in
    all and by reason (breaks that ended before reasons were counted show in the total)."""
    total = sum(d.get("break_ms", 0) for d in days)
    if not total:
        return "–"
    by_reason: Counter[str] = Counter()
    for d in days:
        for key, ms in d.items():
            if key.startswith("break_ms:"):
                by_reason[key.removeprefix("break_ms:") or "–"] += ms
    reasons = Markup(", ").join(
        Markup("{} {}").format(_code(r), format_duration(ms / 1000))
        for r, ms in by_reason.most_common()
        if ms
    )
    shown = format_duration(total / 1000)
    return Markup("{} ({})").format(shown, reasons) if reasons else shown


def _agents(
    store: CampaignStore, campaign: Campaign, summary: Summary, page: _Page
) -> Section | None:
    """Per agent (callers paced): calls, connects, talk, occupancy, dispositions by code and
    break time on the campaign's days."""
    if not campaign.settings.caller_pacing:
        return None
    _ = page._
    now = store.now_ms()
    figures = store.caller_figures(campaign.id, campaign.settings.agents, limit=100)
    days = AgentStore(store).days_figures(
        _days(campaign, now, page.zone), [c.number for c in figures]
    )
    cells: list[list[Cell]] = []
    for c in figures:
        codes = summary.dispositions.get(c.number, Counter())
        cells.append(
            [
                mask_caller(c.number),
                c.calls,
                c.connected,
                format_duration(c.talk_s),
                f"{busy_share(c.busy_ms, campaign, now):.0%}",
                Markup(", ").join(
                    Markup("{} {}").format(_code(code), n) for code, n in codes.most_common()
                )
                or "–",
                _breaks(days[c.number]),
            ]
        )
    every: Counter[str] = sum(summary.dispositions.values(), Counter())
    saved = Markup(", ").join(
        Markup("{} {}").format(_code(code), n) for code, n in every.most_common()
    )
    intro = _fill(
        _(
            "Dispositions saved: {codes}. Occupancy is the share of the campaign's time in "
            "its calls; break time is the agent's, on the days the campaign ran ({zone}), "
            "whatever campaign they were in. Numbers masked."
        ),
        codes=saved or _("none yet"),
        zone=page.zone.key,
    )
    header = [
        _("agent"),
        _("calls"),
        _("connected"),
        _("talk"),
        _("occupancy"),
        _("dispositions"),
        _("break"),
    ]
    table = Table("agents", header, cells, _("no agent yet"))
    return Section(_("Per agent"), [intro], table)


def _campaign_status(campaign: Campaign, page: _Page) -> Markup:
    return page.word(CAMPAIGN_STATUSES, campaign.status.value) or escape(campaign.status.value)


def _contacts(summary: Summary, page: _Page) -> Section:
    """Customers reached against calls placed, and the funnel: reached on which contact."""
    _ = page._
    reached = sum(summary.reached_on.values())
    text = _(
        "{reached} of {dialled} customers dialled were reached ({share}), in {calls} calls; "
        "{misses} calls rang out at the agent and rang no customer."
    ).format(
        reached=reached,
        dialled=summary.dialled,
        share=_share(reached, summary.dialled),
        calls=summary.calls,
        misses=summary.agent_misses,
    )
    so_far = 0
    cells: list[list[Cell]] = []
    for contact in sorted(summary.reached_on):
        so_far += summary.reached_on[contact]
        cells.append(
            [contact, summary.reached_on[contact], so_far, _share(so_far, summary.dialled)]
        )
    header = [_("contact"), _("reached on it"), _("reached by then"), _("share")]
    table = Table("contacts", header, cells, _("nobody reached yet"))
    return Section(_("Contacts"), [text], table)


def _retries(summary: Summary, page: _Page) -> Section:
    _ = page._
    retried = sum(summary.retried.values())
    if not retried:
        return Section(_("Retries"), [_("No row was dialled more than once.")])
    ends = Markup(", ").join(
        Markup("{} {}").format(n, page.word(ROW_STATES, s) or s)
        for s, n in summary.retried.most_common()
    )
    intro = _fill(
        _(
            "{rows} rows were dialled more than once ({extra} extra attempts); they ended "
            "{ends}. A row is dialled again only when the call was certainly not placed (a "
            "transient CCC error, a broker taken out of service, a paused campaign) or an "
            "operator asked (`dialer redial`)."
        ),
        rows=retried,
        extra=summary.extra_attempts,
        ends=ends,
    )
    cells: list[list[Cell]] = [
        [
            _code(r) if r != NOT_RECORDED else _("(not recorded)"),
            n,
            summary.retry_reasons_placed.get(r, 0),
            page.word(MEANINGS, r),
        ]
        for r, n in summary.retry_reasons.most_common()
    ]
    header = [_("reason of the last retry"), _("rows"), _("then placed"), _("meaning")]
    return Section(_("Retries"), [intro], Table("retries", header, cells))


def _problems(summary: Summary, page: _Page) -> Section:
    _ = page._
    title = _("FAILED and UNKNOWN rows")
    if not summary.problems_total:
        return Section(title, [_("No row FAILED or is UNKNOWN.")])
    shown, total = len(summary.problems), summary.problems_total
    intro = (
        _("The first {shown} of {total} rows, numbers masked.")
        if shown < total
        else _("{total} rows, numbers masked.")
    ).format(shown=shown, total=total)
    never = _("UNKNOWN rows may have been placed: they are never retried blindly.")
    text = escape(f"{intro} {never}")
    if shown < total:
        other = _("The other {n} are in the results sheet ({command}).")
        text += Markup(" ") + _fill(other, n=total - shown, command=_code("dialer export"))
    cells: list[list[Cell]] = [
        [
            p.row,
            p.caller,
            p.callee,
            p.broker,
            page.named(ROW_STATES, p.status),
            p.attempts,
            _code(p.code),
            p.message,
            page.time(p.at_ms, "%m-%d %H:%M:%S"),
        ]
        for p in summary.problems
    ]
    header = [
        _("row"),
        _("caller"),
        _("callee"),
        _("broker"),
        _("status"),
        _("attempts"),
        _("code"),
        _("message"),
        _("last attempt ({zone})").format(zone=page.zone.key),
    ]
    return Section(title, [Markup(text)], Table("problems", header, cells))


def _brokers(summary: Summary, page: _Page) -> Section:
    _, zone = page._, page.zone.key
    cells: list[list[Cell]] = [
        [
            b,
            s.calls,
            s.failures,
            f"{s.achieved_per_s:.2f}",
            format_rate(s.limit_per_s),
            _share(s.connected, s.with_outcome),
            f"{s.talk_s // s.connected} s" if s.connected else "–",
            page.time(s.first_ms, "%m-%d %H:%M:%S"),
            page.time(s.last_ms, "%m-%d %H:%M:%S"),
        ]
        for b, s in summary.brokers.items()
    ]
    header = [
        _("broker"),
        _("calls placed"),
        _("FAILED or UNKNOWN"),
        _("achieved calls/s"),
        _("limit"),
        _("connect rate"),
        _("average talk"),
        _("first call ({zone})").format(zone=zone),
        _("last call ({zone})").format(zone=zone),
    ]
    return Section(_("Per broker"), table=Table("brokers", header, cells, _("no calls yet")))


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("dialer.results", "templates"),
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
    )


def render_html(store: CampaignStore, cid: str, lang: str = DEFAULT) -> str:
    """The report in `lang` (one of dialer.i18n.catalogue.LOCALES)."""
    campaign = store.campaign(cid)
    zone = times.zone(campaign.settings.timezone)
    summary = summarise(store, cid)
    page = _Page(zone, lang)
    _ = page._
    placed = summary.by_status.get("DISPATCHED", 0)
    recorded = sum(summary.outcomes.values())
    connected = summary.outcomes.get("CONNECTED", 0)
    note = campaign.outcomes_note
    if not campaign.settings.outcomes:
        note = _("Call records are not fetched for this campaign (--no-outcomes).")
    now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
    lead = _fill(
        _("Id {id} · status {status}{paused} · report made {time} · all times {zone}"),
        id=_code(cid),
        status=Markup("<b>{}</b>").format(_campaign_status(campaign, page)),
        paused=_paused_text(campaign, page),
        time=page.time(now_ms, "%Y-%m-%d %H:%M"),
        zone=f"{zone.key}, {page.offset(now_ms)}",
    )
    figures = [
        (summary.total, _("rows")),
        (placed, _("calls placed")),
        (
            connected,
            _("connected ({share} of {n} with a record)").format(
                share=_share(connected, recorded), n=recorded
            ),
        ),
        (sum(summary.retried.values()), _("rows dialled again")),
        (summary.problems_total, _("FAILED or UNKNOWN")),
        (summary.by_status.get("REJECTED", 0), _("rejected by the sheet check")),
    ]
    connect = _fill(
        _(
            "Connect rate {rate} of the {n} placed calls whose call record was fetched "
            "({placed} placed in all)."
        ),
        rate=Markup("<b>{}</b>").format(_share(connected, recorded)),
        n=recorded,
        placed=placed,
    )
    by_status = dict(summary.by_status.most_common())
    error_cells: list[list[Cell]] = [
        [_code(c), n, page.word(MEANINGS, c)] for c, n in summary.by_error.most_common()
    ]
    outcomes = _outcome_rows(
        dict(summary.outcomes.most_common()), dict(summary.no_record.most_common()), page
    )
    totals = Table(
        "totals",
        [_("status"), _("rows"), _("share"), _("meaning")],
        _status_rows(by_status, summary.total, page),
        _("no rows"),
        total=(_("total"), summary.total),
    )
    sections = [
        Section(
            _("Settings"),
            table=Table("settings", [], _settings_rows(campaign, page), numeric=False),
        ),
        Section(_("Rows by status"), table=totals),
        Section(
            _("Call outcomes"),
            [connect + Markup(" ") + escape(note) if note else connect],
            Table(
                "outcomes",
                [_("outcome"), _("calls"), _("share"), _("meaning")],
                outcomes,
                _("no call placed yet"),
            ),
            _chart(summary.timeline, zone, page),
        ),
        _contacts(summary, page),
        _retries(summary, page),
        Section(
            _("Failures and rejections by code"),
            table=Table("failures", [_("code"), _("rows"), _("meaning")], error_cells, _("none")),
        ),
        _brokers(summary, page),
        _callers(store, campaign, page),
        _agents(store, campaign, summary, page),
        _problems(summary, page),
    ]
    name = campaign.settings.name
    return (
        _environment()
        .get_template("report.html")
        .render(
            html_lang=HTML_LANG[lang],
            title=_("Campaign {name} — report").format(name=name),
            heading=_("Campaign {name}").format(name=name),
            lead=lead,
            figures=figures,
            sections=[s for s in sections if s is not None],
        )
    )


def write_report(store: CampaignStore, cid: str, path: Path, lang: str = DEFAULT) -> None:
    """Write the report in `lang` whole or not at all (a temporary file beside `path`,
    renamed)."""
    page = render_html(store, cid, lang)
    with replacing(path) as out:
        out.write(page.encode("utf-8"))
