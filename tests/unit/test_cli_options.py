"""Option values are checked as strictly as sheet cells, one readable reason each."""

from __future__ import annotations

import argparse

import pytest

from dialer.options import values as opt


def refused(parse, text: str) -> str:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parse(text)
    return str(info.value)


def test_timeout_seconds_is_the_sheets_range() -> None:
    assert opt.timeout_seconds("600") == 600 and opt.timeout_seconds("１") == 1
    for text in ("0", "601", "100000", "2.5", "x"):
        assert "from 1 to 600" in refused(opt.timeout_seconds, text)


def test_caps_refuse_negatives_rather_than_meaning_off() -> None:
    assert opt.cap("0") == 0 and opt.cap("12") == 12
    assert "0 or more (0 = off)" in refused(opt.cap, "-1")


@pytest.mark.parametrize(
    ("text", "per_s"),
    [("2/s", 2.0), ("30/m", 0.5), ("1/h", 1 / 3600), ("1000/s", 1000.0), ("２/s", 2.0)],
)
def test_rates_in_range(text, per_s) -> None:
    assert opt.rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize("text", ["1e9/s", "1000000000/s", "1001/s", "0/s", "0.1/h", "inf/s"])
def test_rates_out_of_range_are_refused(text) -> None:
    refused(opt.rate, text)


def test_pair_guard_refuses_nan_and_infinity() -> None:
    for text in ("nan", "inf", "-1", "1e12"):
        refused(opt.pair_guard_s, text)
    assert opt.pair_guard_s("60") == 60.0


def test_broker_numbers_are_normalised_and_checked() -> None:
    assert opt.broker_number("０２１-5123 4567") == "02151234567"
    assert "5 to 15 digits" in refused(opt.broker_number, "abc")
    assert opt.broker_rate("０２１５１２３４５６７=2/s") == ("02151234567", 2.0)
    assert "NUMBER=RATE" in refused(opt.broker_rate, "02151234567")


ALIASES = [
    ("UTF8", "utf-8"),
    ("utf-8-sig", "utf-8"),
    ("GBK", "gbk"),
    ("cp936", "gbk"),
    ("gb18030", "gb18030"),
    ("UTF-16LE", "utf-16-le"),
]


@pytest.mark.parametrize(("text", "name"), ALIASES)
def test_export_encodings_and_their_aliases(text, name) -> None:
    assert opt.export_encoding(text) == name


@pytest.mark.parametrize("text", ["latin1", "ascii", "klingon", "cp1252", "big5"])
def test_encodings_that_cannot_hold_chinese_text_are_refused(text) -> None:
    assert "must be one of utf-8, gbk" in refused(opt.export_encoding, text)


def test_a_long_value_is_cut_in_the_message() -> None:
    assert len(refused(opt.broker_number, "9" * 100_000)) < 200


def test_parser_mistake_is_one_line(capsys) -> None:
    parser = opt.Parser(prog="dialer upload")
    parser.add_argument("--rate", type=opt.rate)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--rate", "fast"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dialer upload: argument --rate:")
