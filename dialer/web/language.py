"""The language of a request: the `dialer_lang` cookie (set by the switch in the page header),
or else the browser's Accept-Language. The catalogue itself is dialer.i18n, shared with the
HTML report; `words` hands the data words to templates and the pages' scripts."""

from __future__ import annotations

from starlette.requests import Request

from dialer.i18n import meanings
from dialer.i18n.catalogue import LOCALES, negotiate, translations
from dialer.web.backend import STALL_TEXT, WAIT_TEXT, CallerNow

COOKIE = "dialer_lang"


def locale_for(request: Request) -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    return negotiate(request.headers.get("accept-language", ""))


def words(locale: str) -> dict[str, dict[str, str]]:
    """The data words translated, for templates and for the pages' scripts."""
    t = translations(locale).gettext
    tables: dict[str, dict[str, str]] = {
        "statuses": meanings.CAMPAIGN_STATUSES,
        "states": meanings.ROW_STATES,
        "outcomes": meanings.OUTCOMES,
        "reasons": meanings.REASONS,
        "columns": meanings.COLUMNS,
        "waits": {str(k): v for k, v in WAIT_TEXT.items()},
        "stall_causes": {str(k): v for k, v in STALL_TEXT.items()},
        "caller_now": {now.value: now.value for now in CallerNow},
        "outcome_meanings": meanings.OUTCOME_MEANINGS,
    }
    return {name: {k: t(v) for k, v in table.items()} for name, table in tables.items()}
