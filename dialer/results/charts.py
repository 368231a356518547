"""The report's chart: calls over time by outcome, with the connect rate, as inline SVG.

Time is cut into buckets of a round size aligned on the campaign's local clock; each bar is
one bucket, its label the bucket's start, so labels sit under the bars they name. Its words
come from the catalogue (dialer.i18n.catalogue); text is drawn as paths, so the chart looks the same
wherever the report is opened."""

from __future__ import annotations

import datetime as dt
import io
import math
import threading
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from dialer.i18n.catalogue import N_

# (label in the legend, colour); the index is what Timeline stores per call.
CATEGORIES = (
    (N_("connected"), "#2f855a"),
    (N_("callee no answer"), "#ecc94b"),
    (N_("caller no answer"), "#b7791f"),
    (N_("busy"), "#dd6b20"),
    (N_("rejected by carrier"), "#9b2c2c"),
    (N_("other, not connected"), "#c05621"),
    (N_("placed, no call record"), "#a0aec0"),
    (N_("request FAILED"), "#e53e3e"),
    (N_("UNKNOWN"), "#805ad5"),
)
OUTCOME_CATEGORY = {
    "CONNECTED": 0,
    "CALLEE_NO_ANSWER": 1,
    "CALLER_NO_ANSWER": 2,
    "BUSY": 3,
    "REJECTED_BY_CARRIER": 4,
    "FAILED_OTHER": 5,
}
NO_RECORD, REQUEST_FAILED, UNKNOWN = 6, 7, 8
_STEPS_S = (10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_MAX_BARS = 72
_MAX_LABELS = 11
_MIN_FOR_RATE = 5
# Fonts with the Chinese glyphs, best first (Debian's fonts-noto-cjk, WenQuanYi).
_CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")
# A fixed salt for the ids in the SVG: the same report renders to the same bytes.
_SVG_SALT = "dialer-report"
Gettext = Callable[[str], str]


@dataclass
class Timeline:
    """One entry per attempt that ended: when (epoch ms) and which CATEGORIES index.
    Compact arrays, so a million-row campaign costs about 9 MB."""

    at_ms: array
    category: bytearray

    @classmethod
    def empty(cls) -> Timeline:
        return cls(array("q"), bytearray())

    def add(self, at_ms: int, category: int) -> None:
        self.at_ms.append(at_ms)
        self.category.append(category)


def _step_name(step_s: int, _: Gettext) -> str:
    if step_s < 60:
        return _("{n} seconds").format(n=step_s)
    if step_s < 3600:
        return _("minute") if step_s == 60 else _("{n} minutes").format(n=step_s // 60)
    if step_s < 86400:
        return _("hour") if step_s == 3600 else _("{n} hours").format(n=step_s // 3600)
    return _("day")


@cache
def cjk_font() -> str | None:
    """An installed font that draws Chinese, if any (the chart's Chinese needs one)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def _local_s(at_ms: int, zone: ZoneInfo) -> int:
    """Seconds on the campaign's wall clock, counted as if it were UTC."""
    moment = dt.datetime.fromtimestamp(at_ms / 1000, zone)
    offset = moment.utcoffset() or dt.timedelta(0)
    return at_ms // 1000 + int(offset.total_seconds())


@dataclass
class Axis:
    """Where the bars go: bucket `i` (bar at x = i) covers local seconds
    [(start + i) * step_s, (start + i + 1) * step_s); ticks are bar positions."""

    step_s: int
    start: int
    count: int
    ticks: list[int]
    labels: list[str]
    title: str


def time_axis(local: list[int], zone_name: str, _: Gettext = N_) -> Axis:
    """Round buckets (at most _MAX_BARS) over wall-clock seconds, labelled at round times."""
    first, last = min(local), max(local)
    step = next((s for s in _STEPS_S if (last - first) / s < _MAX_BARS), _STEPS_S[-1])
    start = first // step
    count = last // step - start + 1
    every = next(
        (s for s in _STEPS_S if s >= step and count * step / s <= _MAX_LABELS),
        step * math.ceil(count / _MAX_LABELS),
    )
    ticks = [i for i in range(count) if ((start + i) * step) % every == 0] or [0]
    same_day = first // 86400 == last // 86400
    fmt = "%H:%M:%S" if step < 60 else "%H:%M" if same_day else "%m-%d %H:%M"
    if step >= 86400:
        fmt = "%Y-%m-%d"
    labels = [dt.datetime.fromtimestamp((start + i) * step, dt.UTC).strftime(fmt) for i in ticks]
    day = dt.datetime.fromtimestamp(first, dt.UTC).strftime("%Y-%m-%d")
    where = f"{day}, " if same_day and step < 86400 else ""
    title = _("start of each {step} ({where}{zone})").format(
        step=_step_name(step, _), where=where, zone=zone_name
    )
    return Axis(step, start, count, ticks, labels, title)


_DRAWING = threading.Lock()


def render_timeline(timeline: Timeline, zone: ZoneInfo, _: Gettext = N_) -> str:
    """An SVG chart in the words `_` gives, or "" when nothing has been dialled yet. Without
    a font that draws Chinese the chart keeps its English words rather than draw boxes."""
    if not timeline.at_ms:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    cjk = cjk_font()
    if cjk is None:
        _ = N_
    fonts = ["DejaVu Sans", *([cjk] if cjk else [])]  # per glyph: Latin first, then Chinese
    # rc_context swaps matplotlib's global settings: two reports drawn at once by the web
    # console's threads would otherwise put each other's font and SVG salt back mid-draw.
    with _DRAWING, matplotlib.rc_context({"font.family": fonts, "svg.hashsalt": _SVG_SALT}):
        return _draw(timeline, zone, _)


def _draw(timeline: Timeline, zone: ZoneInfo, _: Gettext) -> str:
    from matplotlib import pyplot as plt

    local = [_local_s(ms, zone) for ms in timeline.at_ms]
    axis = time_axis(local, zone.key, _)
    count = axis.count
    per: list[Counter[int]] = [Counter() for _bucket in range(count)]
    for seconds, category in zip(local, timeline.category, strict=True):
        per[seconds // axis.step_s - axis.start][category] += 1

    fig, ax = plt.subplots(figsize=(9, 3.6))
    xs = range(count)
    bottoms = [0] * count
    for index, (label, colour) in enumerate(CATEGORIES):
        heights = [bucket[index] for bucket in per]
        if any(heights):
            ax.bar(xs, heights, bottom=bottoms, width=0.8, color=colour, label=_(label))
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_xlim(-0.6, count - 0.4)
    ax.set_ylabel(_("calls per {step}").format(step=_step_name(axis.step_s, _)))
    ax.spines[["top"]].set_visible(False)

    rates = []
    for bucket in per:
        recorded = sum(bucket[i] for i in OUTCOME_CATEGORY.values())
        # A handful of records says little: a bucket's rate is drawn from five up.
        rates.append(100 * bucket[0] / recorded if recorded >= _MIN_FOR_RATE else math.nan)
    if any(not math.isnan(r) for r in rates):
        rate_ax = ax.twinx()
        rate_ax.plot(
            xs,
            rates,
            color="#1a365d",
            marker="o",
            markersize=3,
            linewidth=1.5,
            label=_("connect rate, right axis"),
        )
        rate_ax.set_ylim(0, 105)
        rate_ax.set_ylabel(_("connect rate %"))
        rate_ax.spines[["top"]].set_visible(False)
        handles, labels = ax.get_legend_handles_labels()
        more, more_labels = rate_ax.get_legend_handles_labels()
        handles, labels = handles + more, labels + more_labels
    else:
        handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles,
        labels,
        loc="lower left",
        bbox_to_anchor=(0, 1.02),
        ncol=5,
        frameon=False,
        fontsize=8,
    )

    ax.set_xticks(axis.ticks, axis.labels)
    ax.set_xlabel(axis.title)

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
