"""Our Standard Webhooks signatures, checked by the `standardwebhooks` package; the options
that name endpoints; the event catalogue the Lua scripts write from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from dialer.engine.events import EventType
from dialer.errors import ConfigError
from dialer.options.upload import options_from_fields
from dialer.settings import Settings
from dialer.webhooks import policy
from dialer.webhooks.endpoints import global_endpoint, matches, parse_spec
from dialer.webhooks.signing import headers, new_secret

LUA = Path(__file__).resolve().parents[2] / "dialer" / "engine" / "lua"
BODY = '{"id":"evt_1-0","type":"call.placed","data":{"name":"张三"}}'.encode()


def test_a_signature_verifies_with_the_standardwebhooks_package() -> None:
    secret = new_secret()
    sent = headers((secret,), "evt_1-0", int(__import__("time").time()), BODY)
    assert Webhook(secret).verify(BODY, sent)["data"]["name"] == "张三"


def test_a_signature_does_not_verify_with_another_secret_or_a_reserialised_body() -> None:
    secret = new_secret()
    sent = headers((secret,), "evt_1-0", int(__import__("time").time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b'":', b'": '), sent)


def test_during_a_rotation_either_secret_verifies() -> None:
    new, old = new_secret(), new_secret()
    sent = headers((new, old), "evt_2-0", int(__import__("time").time()), BODY)
    assert len(sent["webhook-signature"].split()) == 2
    for secret in (new, old):
        Webhook(secret).verify(BODY, sent)


def test_an_endpoint_takes_only_http_urls_and_known_event_patterns() -> None:
    spec = parse_spec("https://crm.example/hook events=call.*,row.finished")
    assert spec.events == ("call.*", "row.finished")
    for bad in (
        "ftp://crm.example/hook",
        "crm.example/hook",
        "https://x/h events=calls.*",
        "https://x/h retries=3",
    ):
        with pytest.raises(ConfigError):
            parse_spec(bad)


def test_upload_fields_refuse_a_bad_webhook_in_the_options_words() -> None:
    with pytest.raises(ConfigError, match="--webhook: 'file:///etc/passwd' is not an http"):
        options_from_fields({"webhook": ["file:///etc/passwd"]}, Path("s.csv"))
    with pytest.raises(ConfigError, match="--webhook-secret"):
        options_from_fields({"webhook_secret": ["not-a-secret"]}, Path("s.csv"))


def test_filters_match_by_pattern() -> None:
    spec = parse_spec("http://127.0.0.1/h events=call.*")
    from dialer.engine.events import WebhookEndpoint

    e = WebhookEndpoint("1", spec.url, spec.events, ())
    assert matches(e, "call.ended") and not matches(e, "row.finished")
    assert matches(WebhookEndpoint("2", spec.url), "row.unknown")


def test_the_global_endpoint_needs_its_secret_and_never_shows_it() -> None:
    with pytest.raises(ConfigError, match="DIALER_WEBHOOK_SECRET"):
        global_endpoint(Settings(webhook_url="https://crm.example/h"))
    secret = new_secret()
    settings = Settings(webhook_url="https://crm.example/h", webhook_secret=secret)
    endpoint = global_endpoint(settings)
    assert endpoint is not None and endpoint.secrets == (secret,)
    assert secret not in repr(endpoint) and secret not in repr(settings)


def test_answers_map_to_what_follows() -> None:
    assert [policy.act_for(s) for s in (200, 204, 301, 410, 429, 500)] == [
        policy.OK,
        policy.OK,
        policy.FAIL,
        policy.GONE,
        policy.FAIL,
        policy.FAIL,
    ]


def test_the_scripts_emit_every_event_of_the_catalogue_and_no_other() -> None:
    written = set()
    for path in LUA.glob("*.lua"):
        written |= set(re.findall(r"emit\('([a-z]+\.[a-z]+)'", path.read_text()))
    prelude = (LUA / "prelude.lua").read_text()
    written |= set(re.findall(r"emit\('([a-z]+\.[a-z]+)'", prelude))
    # agent.presence is also announced (ANNOUNCE, the type given as an argument).
    assert written | {EventType.AGENT_PRESENCE.value} == {t.value for t in EventType}
