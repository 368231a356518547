"""Phone numbers: normalising them as operators type them (sheet cells, --broker, the
do-not-call list), checking them, masking them for logs and exports, and matching them as
call records write them."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

# ASCII digits only: Python's \d also matches full-width and other Unicode digits, and a
# number must be dialled as digits CCC knows, never "as typed".
PHONE = r"1[0-9]{10}|0[0-9]{9,11}"  # mobile, or landline with its trunk 0
BROKER = r"[0-9]{5,15}"
SCIENTIFIC = r"^[+-]?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+$"
# Spaces, dots, brackets and every dash a keyboard or a word processor makes.
_SEPARATORS = r"[\s\-.()（）\u2010-\u2015\u2212\u30fc\uff70]"


def normalise_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(normalised numbers, scientific-notation mask) of stripped strings. Full-width and other
    compatibility digits become ASCII (NFKC); a value with any digit that does not stays
    invalid. Scientific notation has lost digits: it is flagged, never repaired."""
    clean = raw.str.fullmatch(PHONE) | (raw == "")
    scientific = pd.Series(False, index=raw.index)
    if clean.all():
        return raw, scientific
    # Only the messy minority goes through the rewrite pipeline: most sheets are clean.
    s = raw[~clean].str.normalize("NFKC")
    scientific[~clean] = s.str.match(SCIENTIFIC)
    s = s.str.replace(r"\.0+$", "", regex=True)
    s = s.str.replace(_SEPARATORS, "", regex=True)
    international = s.str.match(r"^(?:\+86|0086)")
    s = s.str.replace(r"^(?:\+86|0086)", "", regex=True)
    s = s.mask(s.str.fullmatch(r"861[0-9]{10}"), s.str[2:])
    # "+86 21 5123 4567" is the landline 021-5123-4567: the trunk 0 goes back on.
    lost_trunk_zero = international & s.str.match(r"^[2-9][0-9]{8,10}$")
    s = s.mask(lost_trunk_zero, "0" + s)
    out = raw.copy()
    out[~clean] = s
    return out, scientific


def normalise_number(text: str) -> str:
    """One number (a command-line option) normalised as a sheet cell is; "" when it is in
    scientific notation."""
    numbers, scientific = normalise_numbers(pd.Series([text.strip()], dtype=object))
    return "" if bool(scientific.iloc[0]) else str(numbers.iloc[0])


def is_phone(number: str) -> bool:
    return re.fullmatch(PHONE, number) is not None


def is_broker(number: str) -> bool:
    return re.fullmatch(BROKER, number) is not None


# After NFKC folding, so full-width spaces, dashes and brackets are caught too.
_MATCH_SEPARATORS = re.compile(r"[\s\-.()/]")
_EXCEL_FLOAT = re.compile(r"(\+?\d+)\.0+")
_COUNTRY_CODE = re.compile(r"(?:\+|00)86")
# "86" without + or 00 is read as the country code only in front of a whole Chinese number,
# with or without its trunk 0: a mobile (1 + 10 digits), a Beijing line (area code 10 + 8
# digits), a 2X city (2X + 8 digits), a 3-digit area code (+ 7 or 8 digits) or a 400/800
# number. No national number starts with 86 (there is no area code 86x), so this never eats
# the start of one.
_BARE_COUNTRY_CODE = re.compile(r"86(?=0?1[3-9]\d{9}$|0?10\d{8}$|0?2\d{9}$|0?[3-9]\d{9,10}$)")
_TRUNK_ZERO = re.compile(r"^0(?=[1-9])")


def mask_number(number: str | None) -> str:
    """Mask the last four digits the way the vendor's examples do: 13918140000 -> 1391814****."""
    if not number:
        return ""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:-4] + "****"


def mask_caller(number: str) -> str:
    """A caller (an agent, staff) as operators tell them apart without the whole number:
    the middle hidden, the last four kept: 13700000005 -> 137****0005."""
    if len(number) <= 7:
        return mask_number(number)
    return number[:3] + "****" + number[-4:]


def normalise_for_match(number: str | None) -> str:
    """The number as CCC and the sheet may both write it, reduced to one form for comparing:
    full-width characters folded, separators and Excel's trailing `.0` removed, the `+86` /
    `0086` / `86` country code and the landline trunk 0 dropped. `+86 21 5123-4567`,
    `862151234567` and `021 5123 4567` all give `2151234567`; `861021571000` and
    `010 2157 1000` give `1021571000`; `+86 139 0000 0000` and `008613900000000` give
    `13900000000`. Empty for an empty number."""
    if not number:
        return ""
    s = unicodedata.normalize("NFKC", str(number)).strip()
    excel = _EXCEL_FLOAT.fullmatch(s)
    if excel:
        s = excel[1]
    s = _MATCH_SEPARATORS.sub("", s)
    country = _COUNTRY_CODE.match(s) or _BARE_COUNTRY_CODE.match(s)
    if country:
        s = s[country.end() :]
    return _TRUNK_ZERO.sub("", s)


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two written numbers are the same line (see normalise_for_match). An empty or
    missing number is the same as nothing, not even another empty one."""
    left = normalise_for_match(a)
    return bool(left) and left == normalise_for_match(b)


# A mobile (1 + 10 digits) or landline (0 + 9-11 digits) number, maybe with a +86/0086/86
# prefix and spaces or dashes between digit groups, not inside a longer run of digits.
_PHONE_IN_TEXT = re.compile(
    r"(?<![\d])(?:\+?86[ -]?|0086[ -]?)?(?:1(?:[ -]?\d){10}|0(?:[ -]?\d){9,11})(?!\d)"
)


def _mask_match(match: re.Match[str]) -> str:
    chars = list(match[0])
    hidden = 0
    for i in range(len(chars) - 1, -1, -1):
        if chars[i].isdigit():
            chars[i] = "*"
            hidden += 1
            if hidden == 4:
                break
    return "".join(chars)


def mask_text(text: str) -> str:
    """Every phone number in free text with its last four digits masked, as mask_number does."""
    return _PHONE_IN_TEXT.sub(_mask_match, text) if any(c.isdigit() for c in text) else text


def mask_quoting(text: str, *numbers: str) -> str:
    """mask_text, and also `numbers` (a row's own caller and callee) wherever `text` quotes
    them: a rejected row's reason quotes its cell, which need not be phone-shaped."""
    for number in numbers:
        if len(number) > 4:
            text = text.replace(number, mask_number(number))
    return mask_text(text)
