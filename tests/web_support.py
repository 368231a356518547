"""Helpers for the console's tests: a real uvicorn server on 127.0.0.1:0 with the app wired
to the session's private Redis and the simulator, and the `dialer` CLI beside it (in-process)."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from fastapi import FastAPI
from support import ALWAYS, NUMBERS, engine_env, run_dialer

from dialer.settings import Credentials, Settings
from dialer.web.app import create_app
from dialer.web.serve import ConsoleServer
from dialer.web.settings import WebSettings

TOKEN = "console-test-token-5f1c2b"
MAX_UPLOAD = 1024 * 1024
WINDOW = ALWAYS[0]


@dataclass
class Console:
    url: str
    token: str
    settings: Settings
    web: WebSettings
    env: dict[str, str]  # for workers and CLI subprocesses on the same Redis and namespace
    app: FastAPI | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, headers=self.auth, timeout=30, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, headers=self.auth, timeout=30, **kw)

    def put(self, path: str, **kw) -> requests.Response:
        return requests.put(self.url + path, headers=self.auth, timeout=30, **kw)

    def create(self, sheet: str | bytes, name: str = "s.csv", **fields) -> dict:
        # One call per row, as these tests were written for (the contact strategy's own
        # tests say how many agent misses they allow).
        data = {"broker": list(NUMBERS[:2]), "window": WINDOW, "max_agent_misses": "1", **fields}
        body = sheet.encode() if isinstance(sheet, str) else sheet
        response = self.post("/api/campaigns", files={"file": (name, body)}, data=data)
        assert response.status_code == 201, response.text
        return response.json()

    def wait_status(self, cid: str, wanted: set[str], timeout_s: float = 60) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            doc = self.get(f"/api/campaigns/{cid}").json()
            if doc["status"] in wanted or time.monotonic() > deadline:
                assert doc["status"] in wanted, doc
                return doc
            time.sleep(0.2)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return run_dialer(*args, env=self.env)


@contextmanager
def running_console(redis_url: str, namespace: str, sim_url: str, **web_kw) -> Iterator[Console]:
    settings = Settings(
        redis_url=redis_url,
        namespace=namespace,
        ccc_endpoint=sim_url,
        credentials=Credentials("testid", "testsecret"),
        instance_id="ccc-test",
    )
    web = WebSettings(**{"token": TOKEN, "max_upload_bytes": MAX_UPLOAD, **web_kw})
    app = create_app(settings, web)
    server = ConsoleServer(app, port=0).start()
    try:
        yield Console(
            server.url, web.token, settings, web, engine_env(redis_url, namespace, sim_url), app
        )
    finally:
        server.stop()


def sheet(rows: int, bad: tuple[str, ...] = (), start: int = 0) -> str:
    """Caller/callee rows (callees 139…, each with a caller of its own: callers are people,
    one call at a time), then `bad` callees that validation rejects."""
    lines = ["主叫号码,被叫号码,客户姓名"]
    lines += [f"1380{start + i:07d},139{start + i:08d},客户{i}" for i in range(rows)]
    lines += [f"13800000001,{callee},坏行" for callee in bad]
    return "\n".join(lines) + "\n"


def wait_for_outcomes(console, cid: str, timeout_s: float = 90) -> None:
    """Call records keep landing after a campaign is DONE: wait until every placed call in
    the results has its outcome, so downloads compared later cannot differ."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = console.get(f"/api/campaigns/{cid}/results.csv").content.decode("utf-8-sig")
        placed = [r for r in csv.DictReader(io.StringIO(text)) if r["status"] == "DISPATCHED"]
        if all(r["outcome"] for r in placed):
            return
        assert time.monotonic() < deadline, "call records still missing"
        time.sleep(0.25)
