from __future__ import annotations

from collections.abc import Iterator

import pytest
from web_support import Console, running_console


@pytest.fixture
def console(redis_server, namespace, simulator) -> Iterator[Console]:
    with running_console(redis_server.url, namespace, simulator.url) as c:
        yield c
