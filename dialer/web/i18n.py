"""The operators' language: Simplified Chinese or English, from the `dialer_lang` cookie (set
by the switch in the page header) or else the browser's Accept-Language.

Every word a page shows comes from one gettext catalogue, `locale/zh_CN/LC_MESSAGES/
messages.po` (English is the source language); templates use `_()`, and the words that come
from data — campaign statuses, row states, reason codes, column names — are listed below so
the catalogue holds them too. The .po file is read with Babel at start-up, so there is no
compiled .mo to fall out of date."""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LOCALES = ("zh_CN", "en")
DEFAULT = "en"
COOKIE = "dialer_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Marks a word for the catalogue; it is translated where it is shown."""
    return message


# Row states by their code; the words an operator reads are in the catalogue.
ROW_STATES = {
    "PENDING": N_("Pending"),
    "QUEUED": N_("Queued"),
    "DIALING": N_("Dialing"),
    "DISPATCHED": N_("Dispatched"),
    "FAILED": N_("Failed"),
    "UNKNOWN": N_("Unknown"),
    "RETRY_WAIT": N_("Waiting to retry"),
    "CANCELLED": N_("Cancelled"),
    "REJECTED": N_("Rejected"),
}
CAMPAIGN_STATUSES = {
    "READY": N_("Ready"),
    "RUNNING": N_("Running"),
    "PAUSED": N_("Paused"),
    "CANCELLED": N_("Cancelled"),
    "DONE": N_("Done"),
}
REASONS = {
    "Sheet.MissingValue": N_("Missing value"),
    "Sheet.InvalidNumber": N_("Invalid number"),
    "Sheet.TagsTooLong": N_("Tags too long"),
    "Sheet.InvalidTimeout": N_("Invalid timeout"),
    "Sheet.DoNotCall": N_("On the do-not-call list"),
    "Sheet.Duplicate": N_("Duplicate callee"),
}
# The engine's own words for a pause the operator asked for; other reasons are CCC's codes.
PAUSE_REASONS = {"paused by operator": N_("paused by operator")}
COLUMNS = {
    "row": N_("Row"),
    "caller": N_("Caller"),
    "callee": N_("Callee"),
    "broker": N_("Broker"),
    "additional_broker": N_("Additional broker"),
    "timeout_seconds": N_("Timeout (s)"),
    "tags": N_("Tags"),
    "reason": N_("Reason"),
    "detail": N_("Detail"),
}


@cache
def translations(locale: str) -> gettext.NullTranslations:
    if locale == DEFAULT:
        return gettext.NullTranslations()
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def negotiate(accept_language: str) -> str:
    """The best of LOCALES for an Accept-Language header; English when nothing fits."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for neg_q, _, tag in sorted(ranked):
        if neg_q >= 0:
            break
        if tag == "zh" or tag.startswith(("zh-cn", "zh-hans", "zh-sg")):
            return "zh_CN"
        if tag.startswith("en") or tag == "*":
            return "en"
    return DEFAULT


def locale_for(request: Request) -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    return negotiate(request.headers.get("accept-language", ""))


def words(locale: str) -> dict[str, dict[str, str]]:
    """The data words translated, for templates and for the pages' scripts."""
    t = translations(locale).gettext
    return {
        "statuses": {k: t(v) for k, v in CAMPAIGN_STATUSES.items()},
        "states": {k: t(v) for k, v in ROW_STATES.items()},
        "reasons": {k: t(v) for k, v in REASONS.items()},
        "columns": {k: t(v) for k, v in COLUMNS.items()},
        "pause_reasons": {k: t(v) for k, v in PAUSE_REASONS.items()},
    }
