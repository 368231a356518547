"""A single self-contained HTML report of a campaign: its settings, totals, call outcomes and
the connect rate over time, retries and their reasons, failures explained, per-broker and
per-caller tables and the first failed and UNKNOWN rows (numbers masked). Every time is in
the campaign's zone and says so; the one chart is inline SVG; nothing is loaded from
elsewhere. In Simplified Chinese or English: every word from the one catalogue
(dialer.i18n.catalogue), while codes, numbers and times stay as the results sheet has them."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from dialer.campaign.activity import pause_code
from dialer.engine import Campaign, CampaignStore
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
from dialer.results.export import local_time, replacing, zone_of
from dialer.results.summary import NOT_RECORDED, Summary, summarise

REPORT_SUFFIXES = (".html", ".htm")
_NUMERIC = re.compile(r"[\d.,]+%?|–")
e = html.escape


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _code(value: str) -> str:
    return f"<code>{e(value)}</code>"


class _Page:
    """The words of one language, and times in the campaign's zone."""

    def __init__(self, zone: ZoneInfo, lang: str) -> None:
        self.zone = zone
        self._ = translations(lang).gettext

    def time(self, ms: int | float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        moment = local_time(int(ms), self.zone) if ms else None
        return moment.strftime(fmt) if moment else "–"

    def offset(self, ms: float) -> str:
        moment = local_time(int(ms), self.zone)
        minutes = (
            int((moment.utcoffset() or dt.timedelta(0)).total_seconds() // 60) if moment else 0
        )
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    def word(self, table: dict[str, str], key: str) -> str:
        """The translated word for a code of `table`, escaped ('' for an unknown code); a
        command in backticks (`dialer redial`) is shown as code."""
        if key not in table:
            return ""
        return _BACKTICKED.sub(r"<code>\1</code>", e(self._(table[key])))

    def named(self, table: dict[str, str], key: str) -> str:
        """A state, status or outcome: its word, then its code as the results sheet has it."""
        word = self.word(table, key)
        return f'{word} <code class="of">{e(key)}</code>' if word else _code(key)


def _rows(
    cells: Sequence[Sequence[object]], empty: str, width: int, *, numeric: bool = True
) -> str:
    """Table rows; with `numeric`, numbers (and percentages, "12 s", "–") align right."""
    if not cells:
        return f'<tr><td colspan="{width}" class="none">{e(empty)}</td></tr>'
    out = []
    for row in cells:
        tds = "".join(
            f'<td class="num">{v}</td>'
            if numeric
            and (isinstance(v, int | float) or _NUMERIC.fullmatch(str(v).removesuffix(" s")))
            else f"<td>{v}</td>"
            for v in row
        )
        out.append(f"<tr>{tds}</tr>")
    return "".join(out)


def _h2(text: str) -> str:
    return f"<h2>{e(text)}</h2>"


_BACKTICKED = re.compile(r"`([^`<>]+)`")


def _head(*names: str) -> str:
    return "<tr>" + "".join(f"<th>{e(n)}</th>" for n in names) + "</tr>"


def _settings_rows(campaign: Campaign, page: _Page) -> list[list[object]]:
    s, _ = campaign.settings, page._
    overrides = ", ".join(f"{e(b)} {format_rate(r)}" for b, r in sorted(s.broker_rates.items()))

    def per_day(n: int) -> str:
        return _("{n} a day").format(n=n) if n else _("no daily cap")

    daily = per_day(s.callee_daily_cap)
    monthly = (
        _("{n} a month").format(n=s.callee_monthly_cap) if s.callee_monthly_cap
        else _("no monthly cap")
    )  # fmt: skip
    broker = per_day(s.broker_daily_cap)
    caps = _(
        "per callee {daily}, {monthly}; per broker {broker}; the same caller and callee not "
        "twice within {guard} s"
    ).format(daily=daily, monthly=monthly, broker=broker, guard=f"{s.pair_guard_s:g}")
    zone = e(s.timezone)
    return [
        [_("file"), e(campaign.file)],
        [_("uploaded"), f"{page.time(campaign.created_at_ms)} ({zone})"],
        [_("finished"), f"{page.time(campaign.finished_at_ms)} ({zone})"
                        if campaign.finished_at_ms else "–"],
        [_("rows"), _("{total} ({accepted} accepted, {rejected} rejected)").format(
            total=campaign.total, accepted=campaign.accepted, rejected=campaign.rejected)],
        [_("CCC instance"), e(s.instance_id)],
        [_("broker pool"), e(", ".join(s.pool)) or _("– (every row names its broker)")],
        [_("rate per broker"), format_rate(s.rate_per_s) + (f"; {overrides}" if overrides else "")],
        [_("additional broker"), e(s.additional_broker or "–")],
        [_("timeout (rows without one)"), f"{s.timeout_seconds} s"],
        [_("attempts per row"), _("at most {n} (retried only when certainly not placed)").format(
            n=s.max_attempts)],
        [_("calling windows"), f"{e(', '.join(s.windows))} ({zone})"],
        [_("caps"), caps],
        [_("call records"), _("fetched for every placed call") if s.outcomes
                            else _("not fetched (--no-outcomes)")],
    ]  # fmt: skip


def _paused_text(campaign: Campaign, page: _Page) -> str:
    """' — why' after the status in the lead line of a paused campaign ('' otherwise)."""
    reason = campaign.pause_reason
    if campaign.status is not CampaignStatus.PAUSED or not reason:
        return ""
    found = pause_code(reason)
    why = page.word(REASONS, found)
    if found != "Operator.Pause":
        why = f"{why} ({e(reason)})" if why else e(reason)
    return " — " + why


def _status_rows(by_status: dict[str, int], total: int, page: _Page) -> list[list[object]]:
    return [
        [page.named(ROW_STATES, s), n, _share(n, total), page.word(STATUS_MEANINGS, s)]
        for s, n in by_status.items()
    ]


def _outcome_rows(outcomes: dict[str, int], no_record: dict[str, int],
                  page: _Page) -> list[list[object]]:  # fmt: skip
    _ = page._
    recorded = sum(outcomes.values())
    out: list[list[object]] = [
        [page.named(OUTCOMES, o), n, _share(n, recorded), page.word(OUTCOME_MEANINGS, o)]
        for o, n in outcomes.items()
    ]
    for why, n in no_record.items():
        if why in REASONS:
            label = _("no record ({why})").format(why=page.word(REASONS, why))
            meaning = page.word(MEANINGS, why)
        elif why:  # a row written before its reason had a code: the note as it was written
            label = _("no record ({why})").format(why=_code(why))
            meaning = e(_("placed; its call record was not fetched"))
        else:
            label = e(_("no call record yet"))
            meaning = e(_("placed; the record was not fetched (yet)"))
        out.append([label, n, "", meaning])
    return out


def _chart(timeline: Timeline, zone: ZoneInfo, page: _Page) -> str:
    svg = render_timeline(timeline, zone, page._)
    return svg or "<p><i>" + e(page._("Nothing dialled yet: no chart.")) + "</i></p>"


def _callers_html(store: CampaignStore, campaign: Campaign, page: _Page) -> str:
    """Per caller (a person), when callers are paced: calls, connects, talk, time busy."""
    if not campaign.settings.caller_pacing:
        return ""
    _ = page._
    figures = store.caller_figures(campaign.id, campaign.settings.agents, limit=100)
    span_s = max(1.0, ((campaign.finished_at_ms or store.now_ms()) - campaign.created_at_ms) / 1000)
    cells = [
        [e(mask_caller(c.number)), c.calls, c.connected, _share(c.connected, c.calls),
         f"{c.talk_s} s", f"{c.busy_ms / 1000 / c.calls:.0f} s" if c.calls else "–",
         f"{min(1.0, c.busy_ms / 1000 / span_s):.0%}"]
        for c in figures
    ]  # fmt: skip
    intro = _(
        "Each caller is rung for one call at a time (plus {wrap} s of wrap-up); numbers masked."
    ).format(wrap=f"{campaign.settings.wrap_up_s:g}")
    if len(figures) == 100:
        intro += " " + _("The 100 with most calls are shown.")
    header = _head(_("caller"), _("calls"), _("connected"), _("connect rate"), _("talk"),
                   _("average call"), _("share of time in calls"))  # fmt: skip
    table = _rows(cells, _("no call placed yet"), 7)
    return (
        _h2(_("Per caller")) + f'\n<p>{e(intro)}</p>\n<table id="callers">{header}{table}</table>'
    )


STYLE = """body { font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC",
        "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
        margin: 2em auto; max-width: 1060px; padding: 0 1em; color: #1a202c;
        line-height: 1.4 }
h1 { margin-bottom: .2em }
h2 { margin-top: 1.6em; border-bottom: 1px solid #e2e8f0; padding-bottom: .2em }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .92em }
th, td { border: 1px solid #cbd5e0; padding: .25em .6em; text-align: left;
         vertical-align: top }
/* a Chinese heading breaks where an English one would, never inside a word (上/限) */
th { background: #edf2f7; word-break: keep-all }
td.num { text-align: right; font-variant-numeric: tabular-nums }
td.none { color: #718096; font-style: italic }
code.of { color: #718096; font-size: .8em }
#settings td:first-child { white-space: nowrap; color: #4a5568 }
#problems { font-size: .85em }
#problems td { white-space: nowrap }
#problems td:nth-child(8) { white-space: normal; min-width: 12em }
.lead { color: #4a5568 }
.figures { display: flex; flex-wrap: wrap; gap: .8em; margin: 1em 0 }
.figures div { border: 1px solid #cbd5e0; border-radius: 6px; padding: .4em .9em;
               min-width: 7em }
.figures b { display: block; font-size: 1.5em }
svg { max-width: 100%; height: auto }"""


def _document(lang: str, title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8">
<title>{title}</title>
<style>
{STYLE}
</style></head><body>
{body}
</body></html>
"""


def _campaign_status(campaign: Campaign, page: _Page) -> str:
    return page.word(CAMPAIGN_STATUSES, campaign.status.value) or e(campaign.status.value)


def _contacts_html(summary: Summary, page: _Page) -> str:
    """Customers reached against calls placed, and the funnel: reached on which contact."""
    _ = page._
    reached = sum(summary.reached_on.values())
    text = _(
        "{reached} of {dialled} customers dialled were reached ({share}), in {calls} calls; "
        "{misses} calls rang out at the agent and rang no customer."
    ).format(reached=reached, dialled=summary.dialled, share=_share(reached, summary.dialled),
             calls=summary.calls, misses=summary.agent_misses)  # fmt: skip
    so_far = 0
    cells: list[list[object]] = []
    for contact in sorted(summary.reached_on):
        so_far += summary.reached_on[contact]
        cells.append([contact, summary.reached_on[contact], so_far,
                      _share(so_far, summary.dialled)])  # fmt: skip
    header = _head(_("contact"), _("reached on it"), _("reached by then"), _("share"))
    return (f"<p>{e(text)}</p>\n" + '<table id="contacts">' + header
            + _rows(cells, _("nobody reached yet"), 4) + "</table>")  # fmt: skip


def _retries_html(summary: Summary, page: _Page) -> str:
    _ = page._
    retried = sum(summary.retried.values())
    if not retried:
        return "<p>" + e(_("No row was dialled more than once.")) + "</p>"
    ends = ", ".join(
        f"{n} {page.word(ROW_STATES, s) or e(s)}" for s, n in summary.retried.most_common()
    )
    intro = _(
        "{rows} rows were dialled more than once ({extra} extra attempts); they ended {ends}. A "
        "row is dialled again only when the call was certainly not placed (a transient CCC "
        "error, a broker taken out of service, a paused campaign) or an operator asked "
        "(`dialer redial`)."
    ).format(rows=retried, extra=summary.extra_attempts, ends=ends)
    cells = [
        [_code(r) if r != NOT_RECORDED else e(_("(not recorded)")), n,
         summary.retry_reasons_placed.get(r, 0), page.word(MEANINGS, r)]
        for r, n in summary.retry_reasons.most_common()
    ]  # fmt: skip
    header = _head(_("reason of the last retry"), _("rows"), _("then placed"), _("meaning"))
    return f'<p>{intro}</p>\n<table id="retries">{header}{_rows(cells, "", 4)}</table>'


def _problems_html(summary: Summary, page: _Page) -> str:
    _ = page._
    if not summary.problems_total:
        return "<p>" + e(_("No row FAILED or is UNKNOWN.")) + "</p>"
    shown, total = len(summary.problems), summary.problems_total
    intro = (
        _("The first {shown} of {total} rows, numbers masked.") if shown < total
        else _("{total} rows, numbers masked.")
    ).format(shown=shown, total=total)  # fmt: skip
    intro = e(intro + " " + _("UNKNOWN rows may have been placed: they are never retried blindly."))
    if shown < total:
        intro += " " + _("The other {n} are in the results sheet ({command}).").format(
            n=total - shown, command="<code>dialer export</code>"
        )
    cells = [
        [p.row, e(p.caller), e(p.callee), e(p.broker), page.named(ROW_STATES, p.status),
         p.attempts, _code(p.code), e(p.message), page.time(p.at_ms, "%m-%d %H:%M:%S")]
        for p in summary.problems
    ]  # fmt: skip
    header = _head(_("row"), _("caller"), _("callee"), _("broker"), _("status"), _("attempts"),
                   _("code"), _("message"),
                   _("last attempt ({zone})").format(zone=page.zone.key))  # fmt: skip
    return f'<p>{intro}</p>\n<table id="problems">{header}{_rows(cells, "", 9)}</table>'


def _brokers_html(summary: Summary, page: _Page) -> str:
    _, zone = page._, page.zone.key
    cells = [
        [e(b), s.calls, s.failures, f"{s.achieved_per_s:.2f}", format_rate(s.limit_per_s),
         _share(s.connected, s.with_outcome),
         f"{s.talk_s // s.connected} s" if s.connected else "–",
         page.time(s.first_ms, "%m-%d %H:%M:%S"), page.time(s.last_ms, "%m-%d %H:%M:%S")]
        for b, s in summary.brokers.items()
    ]  # fmt: skip
    header = _head(_("broker"), _("calls placed"), _("FAILED or UNKNOWN"),
                   _("achieved calls/s"), _("limit"), _("connect rate"), _("average talk"),
                   _("first call ({zone})").format(zone=zone),
                   _("last call ({zone})").format(zone=zone))  # fmt: skip
    table = _rows(cells, _("no calls yet"), 9)
    return f'<table id="brokers">{header}{table}</table>'


def render_html(store: CampaignStore, cid: str, lang: str = DEFAULT) -> str:
    """The report in `lang` (one of dialer.i18n.catalogue.LOCALES)."""
    campaign = store.campaign(cid)
    zone = zone_of(campaign)
    summary = summarise(store, cid)
    page = _Page(zone, lang)
    _ = page._
    placed = summary.by_status.get("DISPATCHED", 0)
    recorded = sum(summary.outcomes.values())
    connected = summary.outcomes.get("CONNECTED", 0)
    note = e(campaign.outcomes_note)
    if not campaign.settings.outcomes:
        note = e(_("Call records are not fetched for this campaign (--no-outcomes)."))
    now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
    lead = _("Id {id} · status {status}{paused} · report made {time} · all times {zone}").format(
        id=_code(cid), status=f"<b>{_campaign_status(campaign, page)}</b>",
        paused=_paused_text(campaign, page), time=page.time(now_ms, "%Y-%m-%d %H:%M"),
        zone=f"{e(zone.key)}, {page.offset(now_ms)}",
    )  # fmt: skip
    figures = [
        (summary.total, _("rows")),
        (placed, _("calls placed")),
        (connected, _("connected ({share} of {n} with a record)").format(
            share=_share(connected, recorded), n=recorded)),
        (sum(summary.retried.values()), _("rows dialled again")),
        (summary.problems_total, _("FAILED or UNKNOWN")),
        (summary.by_status.get("REJECTED", 0), _("rejected by the sheet check")),
    ]  # fmt: skip
    connect = _(
        "Connect rate {rate} of the {n} placed calls whose call record was fetched ({placed} "
        "placed in all)."
    ).format(rate=f"<b>{_share(connected, recorded)}</b>", n=recorded, placed=placed)
    by_status = dict(summary.by_status.most_common())
    error_cells = [[_code(c), n, page.word(MEANINGS, c)] for c, n in summary.by_error.most_common()]
    outcomes = _outcome_rows(
        dict(summary.outcomes.most_common()), dict(summary.no_record.most_common()), page
    )
    name = campaign.settings.name
    body = [
        "<h1>" + e(_("Campaign {name}").format(name=name)) + "</h1>",
        f'<p class="lead">{lead}</p>',
        '<div class="figures">',
        "".join(f"<div><b>{n}</b>{e(label)}</div>" for n, label in figures),
        "</div>",
        _h2(_("Settings")),
        '<table id="settings">' + _rows(_settings_rows(campaign, page), "", 2, numeric=False),
        "</table>",
        _h2(_("Rows by status")),
        '<table id="totals">' + _head(_("status"), _("rows"), _("share"), _("meaning")),
        _rows(_status_rows(by_status, summary.total, page), _("no rows"), 4),
        "<tr><th>" + e(_("total")) + f'</th><th class="num">{summary.total}</th><th></th>'
        "<th></th></tr></table>",
        _h2(_("Call outcomes")),
        f"<p>{connect} {note}</p>",
        '<table id="outcomes">' + _head(_("outcome"), _("calls"), _("share"), _("meaning")),
        _rows(outcomes, _("no call placed yet"), 4) + "</table>",
        f'<div id="timeline">{_chart(summary.timeline, zone, page)}</div>',
        _h2(_("Contacts")),
        _contacts_html(summary, page),
        _h2(_("Retries")),
        _retries_html(summary, page),
        _h2(_("Failures and rejections by code")),
        '<table id="failures">' + _head(_("code"), _("rows"), _("meaning")),
        _rows(error_cells, _("none"), 3) + "</table>",
        _h2(_("Per broker")),
        _brokers_html(summary, page),
        _callers_html(store, campaign, page),
        _h2(_("FAILED and UNKNOWN rows")),
        _problems_html(summary, page),
    ]
    title = e(_("Campaign {name} — report").format(name=name))
    return _document(lang, title, "\n".join(body))


def write_report(store: CampaignStore, cid: str, path: Path, lang: str = DEFAULT) -> None:
    """Write the report in `lang` whole or not at all (a temporary file beside `path`,
    renamed)."""
    page = render_html(store, cid, lang)
    with replacing(path) as out:
        out.write(page.encode("utf-8"))
