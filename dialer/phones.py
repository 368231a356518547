"""Phone number helpers shared by logging, ingest, export and call-record matching."""

from __future__ import annotations

import re
import unicodedata

# After NFKC folding, so full-width spaces, dashes and brackets are caught too.
_SEPARATORS = re.compile(r"[\s\-.()/]")
_EXCEL_FLOAT = re.compile(r"(\+?\d+)\.0+")
_COUNTRY_CODE = re.compile(r"(?:\+|00)86")
# "86" without + or 00 is read as the country code only in front of a whole Chinese number
# (a mobile, or a landline with or without its trunk 0): no national number starts that way.
_BARE_COUNTRY_CODE = re.compile(r"86(?=1\d{10}$|0?[2-9]\d{8,10}$)")
_TRUNK_ZERO = re.compile(r"^0(?=[1-9])")


def mask_number(number: str | None) -> str:
    """Mask the last four digits the way the vendor's examples do: 13918140000 -> 1391814****."""
    if not number:
        return ""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:-4] + "****"


def normalise_for_match(number: str | None) -> str:
    """The number as CCC and the sheet may both write it, reduced to one form for comparing:
    full-width characters folded, separators and Excel's trailing `.0` removed, the `+86` /
    `0086` / `86` country code and the landline trunk 0 dropped. `+86 21 5123-4567`,
    `862151234567` and `021 5123 4567` all give `2151234567`; `+86 139 0000 0000` and
    `008613900000000` give `13900000000`. Empty for an empty number."""
    if not number:
        return ""
    s = unicodedata.normalize("NFKC", str(number)).strip()
    excel = _EXCEL_FLOAT.fullmatch(s)
    if excel:
        s = excel[1]
    s = _SEPARATORS.sub("", s)
    country = _COUNTRY_CODE.match(s) or _BARE_COUNTRY_CODE.match(s)
    if country:
        s = s[country.end() :]
    return _TRUNK_ZERO.sub("", s)


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two written numbers are the same line (see normalise_for_match). An empty or
    missing number is the same as nothing, not even another empty one."""
    left = normalise_for_match(a)
    return bool(left) and left == normalise_for_match(b)
