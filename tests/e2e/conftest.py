from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from agents_support import AGENT, PASSWORD
from web_support import Console, running_console

from dialer.accounts.directory import Directory
from dialer.engine import AccountStore, Keys

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get install -y chromium fonts-noto-cjk (Debian's browser; .ci/run does this as root)"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip(f"no Chromium at {CHROMIUM}: {INSTALL}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            headless=True,
            args=["--no-sandbox"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def console(redis_server, namespace, simulator) -> Iterator[Console]:
    with running_console(redis_server.url, namespace, simulator.url) as c:
        yield c


@pytest.fixture
def staff(console, redis_server, namespace) -> Iterator[Directory]:
    """An agent, zhang-wei (phone AGENT), and a supervisor, li-na, both with PASSWORD."""
    client = redis.Redis.from_url(redis_server.url)
    directory = Directory(AccountStore(client, Keys(namespace)))
    directory.add("zhang-wei", "agent", AGENT)
    directory.add("li-na", "supervisor")
    for name in ("zhang-wei", "li-na"):
        directory.set_password(name, PASSWORD)
    yield directory
    client.close()
