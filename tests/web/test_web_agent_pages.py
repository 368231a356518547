"""The agents' pages as a browser receives them: an agent signs in onto their own screen, the
header leads each role to its page, a supervisor may open any agent's screen (an agent only
their own), and an account without a phone is told why no call comes."""

from __future__ import annotations

import json
import re

import pytest
import redis
import requests
from web_support import TOKEN

from dialer.accounts.directory import Directory
from dialer.engine import AccountStore, Keys

PASSWORD = "grey-Heron-7734-quartz"


@pytest.fixture
def people(console, redis_server, namespace):
    client = redis.Redis.from_url(redis_server.url)
    directory = Directory(AccountStore(client, Keys(namespace)))
    for name, role, phone in (
        ("zhang-wei", "agent", "13800000001"),
        ("no-phone", "agent", ""),
        ("li-na", "supervisor", ""),
    ):
        directory.add(name, role, phone)
        directory.set_password(name, PASSWORD)
    yield directory
    client.close()


def signed_in(console, name: str) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    landed = browser.post(
        console.url + "/login", data={"name": name, "password": PASSWORD}, timeout=10
    )
    return browser, landed


def screen_of(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="agent">(.*?)</script>', page)
    assert found, "no agent screen"
    return json.loads(found[1])


def test_an_agent_lands_on_their_own_screen_and_the_header_leads_there(console, people) -> None:
    browser, landed = signed_in(console, "zhang-wei")
    assert landed.url == console.url + "/agent"
    assert screen_of(landed.text) == {"number": "13800000001", "own": True}
    assert '<a href="/agent" aria-current="page">My calls</a>' in landed.text
    assert 'href="/agents"' not in landed.text and 'href="/campaigns"' not in landed.text
    home = browser.get(console.url + "/", allow_redirects=False, timeout=10)
    assert home.headers["location"] == "/agent"
    # Another agent's screen is not theirs to open: ?number= is a supervisor's.
    other = browser.get(console.url + "/agent?number=13800000002", timeout=10)
    assert screen_of(other.text) == {"number": "13800000001", "own": True}
    assert browser.get(console.url + "/agents", timeout=10).status_code == 403


def test_a_supervisor_gets_the_wall_and_may_open_an_agents_screen(console, people) -> None:
    browser, landed = signed_in(console, "li-na")
    assert landed.url == console.url + "/campaigns"
    assert '<a href="/agents">Agents</a>' in landed.text
    wall = browser.get(console.url + "/agents", timeout=10)
    assert wall.status_code == 200 and 'id="wall"' in wall.text
    looking = browser.get(console.url + "/agent?number=13800000001", timeout=10)
    # Not their own: the screen does not beat for the agent, and says whose it is.
    assert screen_of(looking.text) == {"number": "13800000001", "own": False}
    assert "You are looking at the screen of agent 13800000001" in looking.text


def test_an_account_without_a_phone_is_told_why_no_call_comes(console, people) -> None:
    _, landed = signed_in(console, "no-phone")
    assert landed.url == console.url + "/agent"
    assert 'id="no-phone"' in landed.text and "--phone NUMBER" in landed.text
    assert "/static/agent.js" not in landed.text
    admin = requests.Session()
    admin.headers["Accept-Language"] = "zh-CN"
    admin.post(console.url + "/login", data={"token": TOKEN}, timeout=10)
    page = admin.get(console.url + "/agent", timeout=10).text
    assert "你的账号没有电话号码" in page and "打开某个坐席的工作台" in page


def test_an_agent_reaches_only_their_own_number_over_the_api(console, people) -> None:
    browser, _ = signed_in(console, "zhang-wei")
    own = browser.get(console.url + "/api/agents/13800000001/desk", timeout=10)
    assert own.status_code == 200 and own.json()["presence"]["number"] == "13800000001"
    for path in ("/desk", "/presence"):
        other = browser.get(console.url + "/api/agents/13800000002" + path, timeout=10)
        assert other.status_code == 403 and other.json()["error"] == "Auth.Forbidden"
    assert browser.get(console.url + "/api/agents", timeout=10).status_code == 403
    supervisor, _ = signed_in(console, "li-na")
    seen = supervisor.get(console.url + "/api/agents/13800000002/desk", timeout=10)
    assert seen.status_code == 200
