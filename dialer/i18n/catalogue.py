"""The operators' languages: Simplified Chinese and English (the source language).

Every word an operator reads in the console's pages and in the HTML report comes from one
gettext catalogue, `locale/zh_CN/LC_MESSAGES/messages.po`, extracted with `babel.cfg` (the
`_()` of templates, and `N_()` marks on the words that come from data: statuses, states,
reason codes, column names). The .po file is read with Babel when first asked for, so there
is no compiled .mo to fall out of date. This module knows nothing of HTTP: the console picks
the language of a request, `dialer report --lang` the report's."""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("zh_CN", "en")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Marks a word for the catalogue; it is translated where it is shown."""
    return message


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalogue of `locale` (one of LOCALES); English is the messages themselves."""
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
