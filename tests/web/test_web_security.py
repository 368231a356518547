"""Who may do what: tokens, sessions, CSRF, the sign-in slow-down, the token kept out of
logs, /metrics behind the token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import requests
from support import NUMBERS
from web_support import TOKEN, WINDOW, running_console, sheet

PROTECTED = [
    ("GET", "/api/campaigns"),
    ("GET", "/api/campaigns/0123456789ab"),
    ("GET", "/api/campaigns/0123456789ab/rows?state=REJECTED"),
    ("GET", "/api/campaigns/0123456789ab/results.csv"),
    ("GET", "/api/campaigns/0123456789ab/results.xlsx"),
    ("GET", "/api/campaigns/0123456789ab/report.html"),
    ("POST", "/api/campaigns/preview"),
    ("POST", "/api/campaigns"),
    ("POST", "/api/campaigns/0123456789ab/start"),
    ("POST", "/api/campaigns/0123456789ab/pause"),
    ("POST", "/api/campaigns/0123456789ab/resume"),
    ("POST", "/api/campaigns/0123456789ab/cancel"),
    ("GET", "/api/openapi.json"),
    ("GET", "/metrics"),
]


def test_no_token_or_a_wrong_token_is_401_on_every_path(redis_server, namespace, simulator) -> None:
    # Dozens of wrong tokens from one address: without a higher allowance the slow-down
    # (tested below) would stretch this test to minutes.
    with running_console(redis_server.url, namespace, simulator.url, free_failures=1000) as c:
        check_every_path_refuses(c)


def check_every_path_refuses(console) -> None:
    for method, path in PROTECTED:
        files = {"file": ("s.csv", sheet(1))} if method == "POST" else None
        bare = requests.request(method, console.url + path, files=files, timeout=10)
        assert bare.status_code == 401, path
        assert bare.json()["error"] == "Auth.Required"
        for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN):
            wrong = requests.request(
                method,
                console.url + path,
                files=files,
                timeout=10,
                headers={"Authorization": header},
            )
            assert wrong.status_code == 401, (path, header)
            assert wrong.json()["error"] == "Auth.InvalidToken"


def sign_in(console) -> requests.Session:
    browser = requests.Session()
    response = browser.post(
        console.url + "/login",
        data={"token": TOKEN, "next": "/campaigns"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303 and response.headers["location"] == "/campaigns"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    return browser


def page_csrf(browser: requests.Session, url: str) -> str:
    html = browser.get(url, timeout=10).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', html)[1]


def test_session_changes_need_the_pages_csrf_token(console) -> None:
    cid = console.create(sheet(2))["id"]
    browser = sign_in(console)
    assert browser.get(console.url + "/api/campaigns", timeout=10).status_code == 200
    start = f"{console.url}/api/campaigns/{cid}/start"
    refused = browser.post(start, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"] == "Auth.Csrf"
    assert browser.post(start, headers={"X-CSRF-Token": "0" * 64}, timeout=10).status_code == 403
    forged = {"broker": NUMBERS[0], "csrf_token": "forged"}
    upload = browser.post(
        console.url + "/api/campaigns", files={"file": ("s.csv", sheet(1))}, data=forged, timeout=10
    )
    assert upload.status_code == 403
    assert console.get(f"/api/campaigns/{cid}").json()["status"] == "READY"

    csrf = page_csrf(browser, console.url + "/campaigns")
    assert browser.post(start, headers={"X-CSRF-Token": csrf}, timeout=10).status_code == 200
    upload = browser.post(
        console.url + "/api/campaigns",
        files={"file": ("s.csv", sheet(1))},
        data={"broker": NUMBERS[0], "window": WINDOW, "csrf_token": csrf},
        timeout=10,
    )
    assert upload.status_code == 201
    # Another session's token is not this session's.
    other = page_csrf(sign_in(console), console.url + "/campaigns")
    assert other != csrf
    pause = browser.post(
        f"{console.url}/api/campaigns/{cid}/pause", headers={"X-CSRF-Token": other}, timeout=10
    )
    assert pause.status_code == 403


def test_a_forged_or_old_session_cookie_is_not_a_session(
    console, redis_server, namespace, simulator
) -> None:
    browser = sign_in(console)
    value = browser.cookies["dialer_session"]
    nonce, issued, signature = value.split(".")
    for forged in (
        f"{nonce}.{int(issued) + 999}.{signature}",
        f"x{nonce}.{issued}.{signature}",
        "a.b.c",
        "",
    ):
        response = requests.get(
            console.url + "/api/campaigns", timeout=10, cookies={"dialer_session": forged}
        )
        assert response.status_code == 401
    with running_console(redis_server.url, namespace, simulator.url, session_max_age_s=0) as c:
        stale = sign_in(c)
        time.sleep(1.1)
        assert stale.get(c.url + "/api/campaigns", timeout=10).status_code == 401
        assert (
            stale.get(c.url + "/campaigns", allow_redirects=False, timeout=10).headers["location"]
            == "/login?next=/campaigns"
        )


def test_sign_out_needs_csrf_and_ends_the_session(console) -> None:
    browser = sign_in(console)
    assert browser.post(console.url + "/logout", timeout=10).status_code == 403
    csrf = page_csrf(browser, console.url + "/campaigns")
    out = browser.post(
        console.url + "/logout", data={"csrf_token": csrf}, allow_redirects=False, timeout=10
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert browser.get(console.url + "/api/campaigns", timeout=10).status_code == 401


@pytest.mark.timing  # judges how long answers take
def test_repeated_failed_sign_ins_are_slowed_down(console) -> None:
    def attempt(token: str) -> tuple[int, float]:
        started = time.monotonic()
        response = requests.post(
            console.url + "/login", data={"token": token}, allow_redirects=False, timeout=30
        )
        return response.status_code, time.monotonic() - started

    times = [attempt("wrong") for _ in range(4)]
    assert [s for s, _ in times] == [401] * 4
    assert times[0][1] < 0.4 and times[1][1] < 0.4
    assert times[2][1] >= 0.5 and times[3][1] >= 1.0
    # Bearer guesses count too.
    started = time.monotonic()
    requests.get(console.url + "/api/campaigns", headers={"Authorization": "Bearer no"}, timeout=30)
    assert time.monotonic() - started >= 2.0
    assert attempt(TOKEN)[0] == 303  # the right token still works, and clears the count
    assert attempt("wrong")[1] < 0.4


def test_sign_in_goes_only_to_a_path_on_this_site(console) -> None:
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:1"):
        response = requests.post(
            console.url + "/login",
            data={"token": TOKEN, "next": evil},
            allow_redirects=False,
            timeout=10,
        )
        assert response.headers["location"] == "/campaigns", evil


def test_metrics_need_the_token_unless_opened(console, redis_server, namespace, simulator) -> None:
    assert requests.get(console.url + "/metrics", timeout=10).status_code == 401
    scraped = console.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "dialer_redis_up 1.0" in scraped.text
    with running_console(redis_server.url, namespace, simulator.url, metrics_open=True) as c:
        assert requests.get(c.url + "/metrics", timeout=10).status_code == 200
        assert requests.get(c.url + "/api/campaigns", timeout=10).status_code == 401


@pytest.mark.timeout(120)
def test_dialer_web_prints_a_sign_in_link_once_and_never_logs_the_token(
    redis_server, namespace, tmp_path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_"))}
    env.update(
        DIALER_REDIS_URL=redis_server.url, DIALER_NAMESPACE=namespace, CCC_INSTANCE_ID="ccc-test"
    )
    err = open(tmp_path / "stderr.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "-v", "web", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
    )
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        link = re.search(r"Sign in: (http://127\.0\.0\.1:\d+/login\?token=(\S+))", lines[1])
        assert link, lines
        url, token = link[1], link[2]
        base = url.split("/login")[0]
        browser = requests.Session()
        assert browser.get(url, timeout=10).url == base + "/campaigns"  # signed in
        assert (
            requests.get(
                base + "/api/campaigns", timeout=10, headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
        requests.get(
            base + "/api/campaigns", timeout=10, headers={"Authorization": f"Bearer {token}x"}
        )
        requests.post(base + "/login", data={"token": token[:-1]}, timeout=10)
        requests.get(base + f"/login?token={token}&next=/metrics", timeout=10)
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=20)
    err.seek(0)
    log = err.read()
    assert "GET /login 303" in log and "GET /api/campaigns 200" in log  # it does log
    assert token not in log and token[:-1] not in log
    assert (lines[0] + lines[1] + rest).count(token) == 1
