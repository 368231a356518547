"""Numbers as CCC may write them in call records, matched against the sheet's numbers."""

from __future__ import annotations

import pytest

from dialer.ccc.records import CallRecord, matches
from dialer.phones import normalise_for_match, same_number

# (as the sheet normaliser leaves it, as a call record may write it)
SAME = [
    ("13900000001", "13900000001"),
    ("13900000001", "+8613900000001"),
    ("13900000001", "8613900000001"),
    ("13900000001", "008613900000001"),
    ("13900000001", "+86 139 0000 0001"),
    ("13900000001", "139-0000-0001"),
    ("13900000001", "１３９０００００００１"),  # full-width digits
    ("13900000001", "＋８６ １３９ ００００ ０００１"),  # full-width + and space
    ("13900000001", "13900000001.0"),  # a spreadsheet's float
    ("13900000001", "013900000001"),  # a mobile dialled with the trunk 0
    ("02151234567", "02151234567"),
    ("02151234567", "+862151234567"),  # the landline's trunk 0 dropped after +86
    ("02151234567", "+86 21 5123 4567"),
    ("02151234567", "862151234567"),
    ("02151234567", "8602151234567"),
    ("02151234567", "0086-21-51234567"),
    ("02151234567", "2151234567"),
    ("02151234567", "(021) 5123-4567"),
    ("02151234567", "０２１－５１２３－４５６７"),
    ("02151234567", "021.5123.4567"),
    ("075512345678", "+86 755 1234 5678"),
    ("4001234567", "+864001234567"),
    ("95588", "95588"),
]
DIFFERENT = [
    ("13900000001", "13900000002"),
    ("13900000001", "139000000011"),
    ("13900000001", "3900000001"),
    ("13900000001", "+8613900000002"),
    ("02151234567", "02151234568"),
    ("02151234567", "01051234567"),
    ("02151234567", "+12151234567"),  # another country's number with the same digits
    ("13900000001", ""),
    ("13900000001", None),
    ("", ""),
    (None, None),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_number_written_differently_matches(a: str, b: str) -> None:
    assert same_number(a, b)
    assert same_number(b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_numbers_do_not_match(a: str | None, b: str | None) -> None:
    assert not same_number(a, b)
    assert not same_number(b, a)


@pytest.mark.parametrize(
    ("written", "national"),
    [
        ("+86 21 5123 4567", "2151234567"),
        ("02151234567", "2151234567"),
        ("008613900000001", "13900000001"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalised_form_is_the_national_number(written: str | None, national: str) -> None:
    assert normalise_for_match(written) == national


def record(**fields: str | None) -> CallRecord:
    return CallRecord("job-1", 1_700_000_000_000, **fields)  # type: ignore[arg-type]


def test_matches_callee_on_called_number_and_broker_on_broker() -> None:
    r = record(called_number="+8613900000001", broker="+862151234567", calling_number=None)
    assert matches(r, callee="13900000001", broker="02151234567")
    assert not matches(r, callee="13900000002", broker="02151234567")
    assert not matches(r, callee="13900000001", broker="02151234568")


def test_matches_broker_on_calling_number_when_broker_is_not_given() -> None:
    # GetCallDetailRecord names no Broker; its CallingNumber is the broker.
    r = record(called_number="13900000001", broker=None, calling_number="862151234567")
    assert matches(r, callee="13900000001", broker="02151234567")
    assert not matches(r, callee="13900000001", broker="02151234568")


def test_matches_broker_on_either_field() -> None:
    r = record(called_number="13900000001", broker="02151234569", calling_number="02151234567")
    assert matches(r, callee="13900000001", broker="02151234567")
    assert matches(r, callee="13900000001", broker="02151234569")


def test_record_without_numbers_matches_nothing() -> None:
    assert not matches(record(), callee="13900000001", broker="02151234567")
    r = record(called_number="13900000001")
    assert not matches(r, callee="13900000001", broker="02151234567")
    r = record(broker="02151234567", calling_number="02151234567")
    assert not matches(r, callee="13900000001", broker="02151234567")


# National numbers over real area codes: Beijing (10), every 2X city, 3-digit codes with 8-
# and 7-digit local numbers, 400 numbers and mobiles of several ranges.
NATIONAL = [
    "1021571000",
    "2087654321",
    "2151234567",
    "2223456789",
    "2361234567",
    "2423456789",
    "2584567890",
    "2765432109",
    "2886543210",
    "2988765432",
    "3118765432",
    "3716543210",
    "4318765432",
    "4512345678",
    "5318765432",
    "5718765432",
    "5918765432",
    "7318765432",
    "75512345678",
    "7698765432",
    "8518765432",
    "8718765432",
    "8986543210",
    "9916543210",
    "9512345678",
    "3511234567",
    "9031234567",
    "4001234567",
    "8001234567",
    "13012345678",
    "13900000001",
    "15812345678",
    "17712345678",
    "18612345678",
    "19912345678",
    "16612345678",
]
MOBILE_PREFIX = "1"


def written_forms(national: str) -> list[str]:
    """Every way CCC or a sheet may write the number: with +86, 0086 or a bare 86, with or
    without the trunk 0 (before or after the country code), with separators."""
    trunk = "" if national.startswith(("1", "400", "800")) else "0"
    forms = [
        national,
        trunk + national,
        "+86" + national,
        "+860" + national,
        "+86 " + national,
        "+86-" + national,
        "0086" + national,
        "00860" + national,
        "0086 " + national,
        "86" + national,
        "860" + national,
        "86 " + trunk + national,
        f"+86 {national[:3]} {national[3:7]} {national[7:]}",
        f"({trunk}{national[:3]}) {national[3:]}",
    ]
    if not national.startswith(MOBILE_PREFIX):
        forms.append("0" + national)
    return forms


@pytest.mark.parametrize("national", NATIONAL)
def test_every_written_form_of_a_number_matches_its_sheet_form(national: str) -> None:
    sheet = national if national.startswith(("1", "400", "800")) else "0" + national
    for written in written_forms(national):
        assert normalise_for_match(written) == national, written
        assert same_number(sheet, written), written


@pytest.mark.parametrize("national", NATIONAL)
def test_a_number_one_digit_off_in_any_form_does_not_match(national: str) -> None:
    other = national[:-1] + str((int(national[-1]) + 1) % 10)
    for written in written_forms(other):
        assert not same_number(national, written), written
