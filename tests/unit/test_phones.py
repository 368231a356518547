"""Numbers as operators type them: normalised once, in one place, for every entry point."""

from __future__ import annotations

import pandas as pd
import pytest

from dialer.phones import is_broker, is_phone, normalise_number, normalise_numbers


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("13800000001", "13800000001"),
        ("１３８００００００01", "13800000001"),  # full-width, mixed with ASCII
        ("１３８　００００　０００１", "13800000001"),  # ideographic spaces
        ("＋８６ １３８－００００－０００１", "13800000001"),
        ("138—0000—0001", "13800000001"),  # em dashes from a word processor
        ("０２１－５１２３４５６７", "02151234567"),
        ("+86 21 5123 4567", "02151234567"),
        ("①③⑧０００００００１", "13800000001"),  # circled digits are compatibility forms too
        ("13800000001.0", "13800000001"),
    ],
)
def test_typed_forms_normalise_to_ascii_digits(typed, number) -> None:
    assert normalise_number(typed) == number
    assert is_phone(normalise_number(typed))


@pytest.mark.parametrize("typed", ["1380000000٠", "١٣٨٠٠٠٠٠٠٠١", "13８0000000x"])
def test_a_digit_that_does_not_normalise_leaves_the_number_invalid(typed) -> None:
    assert not is_phone(normalise_number(typed))


def test_a_mixed_number_is_never_kept_as_typed() -> None:
    numbers, _ = normalise_numbers(pd.Series(["1３８00000001", "13800000001"], dtype=object))
    assert numbers.tolist() == ["13800000001", "13800000001"]


def test_scientific_notation_is_flagged_not_repaired() -> None:
    _, scientific = normalise_numbers(pd.Series(["1.38E+10", "１.３８Ｅ+10"], dtype=object))
    assert scientific.tolist() == [True, True]
    assert normalise_number("1.38E+10") == ""


def test_broker_numbers_are_5_to_15_ascii_digits() -> None:
    assert is_broker("95555") and is_broker("02151234567")
    assert not is_broker("1234") and not is_broker("９５５５５") and not is_broker("abc")
