"""One table of upload options builds the CLI's parser, the API's fields and their OpenAPI
description: a new option appears in all three, with the same checks and defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dialer.errors import DialerError, OptionError
from dialer.options.upload import UPLOAD_OPTIONS, add_upload_options, options_from_fields
from dialer.settings import Settings
from dialer.web.app import create_app
from dialer.web.settings import WebSettings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="upload")
    add_upload_options(p)
    return p


def test_every_option_is_a_cli_flag_and_every_web_option_an_api_field() -> None:
    flags = {s for a in parser()._actions for s in a.option_strings}
    assert {o.flag for o in UPLOAD_OPTIONS} <= flags
    app = create_app(Settings(), WebSettings(token="t" * 32))
    body = app.openapi()["paths"]["/api/campaigns"]["post"]["requestBody"]
    fields = body["content"]["multipart/form-data"]["schema"]["properties"]
    assert set(fields) == {"file", "dnc"} | {o.name for o in UPLOAD_OPTIONS if o.web}
    assert fields["broker"]["type"] == "array" and fields["no_outcomes"]["type"] == "boolean"
    assert fields["max_attempts"] == {
        "type": "integer",
        "default": 3,
        "description": "as `dialer upload --max-attempts`: ",
    }


def test_fields_and_flags_make_the_same_values() -> None:
    cli = parser().parse_args(
        [
            "s.csv",
            "--rate",
            "2/s",
            "--broker",
            "02151234567",
            "--broker",
            "02151234568",
            "--no-outcomes",
            "--window",
            "08:00-12:00",
        ]
    )
    web = options_from_fields(
        {
            "rate": ["2/s"],
            "broker": ["02151234567", "02151234568"],
            "no_outcomes": ["on"],
            "window": ["08:00-12:00"],
        },
        Path("s.csv"),
    )
    assert {k: v for k, v in vars(web).items() if k != "sheet_path"} == {
        k: v for k, v in vars(cli).items() if k != "sheet_path"
    }


def test_a_bad_field_is_refused_in_the_cli_words() -> None:
    with pytest.raises(OptionError, match=r"--max-attempts: must be"):
        options_from_fields({"max_attempts": ["0"]}, Path("s.csv"))
    with pytest.raises(OptionError, match=r"--rate: may be given once"):
        options_from_fields({"rate": ["1/s", "2/s"]}, Path("s.csv"))
    with pytest.raises(DialerError, match=r"unknown option 'dnc'"):
        options_from_fields({"dnc": ["/etc/passwd"]}, Path("s.csv"))  # a local path: CLI only


def test_every_json_answer_of_the_api_is_described() -> None:
    """/api/openapi.json names a schema for every JSON answer (files are described by their
    media type), so a client or a generator can check what it gets."""
    spec = create_app(Settings(), WebSettings(token="t" * 32)).openapi()
    undescribed = [
        f"{method.upper()} {path} {code}"
        for path, methods in spec["paths"].items()
        if path.startswith("/api/")
        for method, op in methods.items()
        for code, answer in op["responses"].items()
        if code.startswith("2") and code != "204"
        for media, body in answer.get("content", {}).items()
        if media == "application/json" and not body.get("schema")
    ]
    assert undescribed == []
