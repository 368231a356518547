"""People's accounts in the running console: signing in by link and password, personal API
tokens, taking them back, masked numbers, the audit trail, and secrets kept out of Redis and
the logs."""

from __future__ import annotations

import logging
import re
import time

import pytest
import redis
import requests
from support import NUMBERS
from test_web_security import page_csrf
from web_support import TOKEN, WINDOW, running_console, sheet

PASSWORD = "grey-Heron-7734-quartz"
CALLEE = re.compile(r"139\d{8}")
CALLER = re.compile(r"1380\d{7}")


def add_user(console, name: str, role: str, **extra) -> str:
    """Added by the console token (the bootstrap admin); answers the one-time link."""
    response = console.post("/api/users", json={"name": name, "role": role, **extra})
    assert response.status_code == 201, response.text
    assert response.json()["role"] == role
    return response.json()["link"]


def open_link(link: str) -> requests.Session:
    browser = requests.Session()
    response = browser.get(link, allow_redirects=False, timeout=10)
    assert response.status_code == 303, response.text[:300]
    return browser


def api_token(console, browser: requests.Session) -> str:
    csrf = page_csrf(browser, console.url + "/account")
    made = browser.post(
        console.url + "/api/me/tokens",
        json={"label": "crm"},
        headers={"X-CSRF-Token": csrf},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return made.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_link_signs_in_once_and_a_password_and_a_token_work_after(console) -> None:
    link = add_user(console, "li-wei", "operator")
    browser = open_link(link)
    me = browser.get(console.url + "/api/me", timeout=10).json()
    assert me["name"] == "li-wei" and me["role"] == "operator" and me["via"] == "session"
    again = requests.get(link, allow_redirects=False, timeout=10)
    assert again.status_code == 401 and 'id="login-error"' in again.text

    csrf = page_csrf(browser, console.url + "/account")
    short = browser.post(
        console.url + "/api/me/password",
        json={"password": "short"},
        headers={"X-CSRF-Token": csrf},
        timeout=10,
    )
    assert short.status_code == 400 and short.json()["error"] == "Account.Invalid"
    # No CSRF token: refused.
    refused = browser.post(
        console.url + "/api/me/password", json={"password": PASSWORD}, timeout=10
    )
    assert refused.status_code == 403
    done = browser.post(
        console.url + "/api/me/password",
        json={"password": PASSWORD},
        headers={"X-CSRF-Token": csrf},
        timeout=10,
    )
    assert done.status_code == 204

    fresh = requests.Session()
    wrong = fresh.post(
        console.url + "/login",
        data={"name": "li-wei", "password": "nope"},
        allow_redirects=False,
        timeout=10,
    )
    assert wrong.status_code == 401
    right = fresh.post(
        console.url + "/login",
        data={"name": "Li-Wei ", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert right.status_code == 303 and right.headers["location"] == "/campaigns"
    assert fresh.get(console.url + "/api/me", timeout=10).json()["name"] == "li-wei"

    token = api_token(console, fresh)
    assert token.startswith("dlr_")
    as_program = requests.get(console.url + "/api/me", headers=bearer(token), timeout=10).json()
    assert as_program["via"] == "api-token" and [t["label"] for t in as_program["tokens"]] == [
        "crm"
    ]
    assert "token" not in str(as_program["tokens"][0].keys() - {"id", "label", "created_ms"})


def test_disabling_or_resetting_ends_sessions_and_tokens_on_the_next_request(console) -> None:
    browser = open_link(add_user(console, "wang", "operator"))
    token = api_token(console, browser)
    assert browser.get(console.url + "/api/campaigns", timeout=10).status_code == 200
    assert (
        requests.get(console.url + "/api/campaigns", headers=bearer(token), timeout=10).status_code
        == 200
    )

    assert console.post("/api/users/wang/disable").json()["disabled"] is True
    assert browser.get(console.url + "/api/campaigns", timeout=10).status_code == 401
    assert (
        requests.get(console.url + "/api/campaigns", headers=bearer(token), timeout=10).status_code
        == 401
    )
    page = browser.get(console.url + "/campaigns", allow_redirects=False, timeout=10)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # Enabling lets them sign in again; what was ended stays ended.
    console.post("/api/users/wang/enable")
    assert browser.get(console.url + "/api/campaigns", timeout=10).status_code == 401
    assert (
        requests.get(console.url + "/api/me", headers=bearer(token), timeout=10).status_code == 401
    )

    reset = console.post("/api/users/wang/reset")
    assert reset.status_code == 200
    again = open_link(reset.json()["link"])
    second = api_token(console, again)
    assert requests.get(console.url + "/api/me", headers=bearer(second), timeout=10).ok
    console.post("/api/users/wang/reset")
    assert again.get(console.url + "/api/me", timeout=10).status_code == 401
    assert (
        requests.get(console.url + "/api/me", headers=bearer(second), timeout=10).status_code == 401
    )


def test_agents_and_viewers_never_see_a_whole_customer_number(console, tmp_path) -> None:
    cid = console.create(sheet(4, bad=("1391234",)))["id"]
    viewer = open_link(add_user(console, "guest", "viewer"))
    operator = open_link(add_user(console, "ops", "operator"))
    agent = open_link(add_user(console, "zhao", "agent", phone="13800000009"))
    paths = [
        f"/api/campaigns/{cid}",
        f"/api/campaigns/{cid}/rows?state=PENDING&state=REJECTED",
        f"/api/campaigns/{cid}/results.csv",
        f"/api/campaigns/{cid}/results.csv?masked=false",
        f"/api/campaigns/{cid}/results.xlsx",
        f"/api/campaigns/{cid}/report.html",
        f"/campaigns/{cid}",
        "/campaigns",
        "/api/campaigns",
    ]
    for path in paths:
        whole = operator.get(console.url + path, timeout=30)
        masked = viewer.get(console.url + path, timeout=30)
        assert whole.status_code == masked.status_code == 200, path
        text = _text(masked)
        assert not CALLEE.search(text) and not CALLER.search(text), path
        assert "1391234" not in text, path  # the rejected row's number
        if "rows" in path or "results.csv" in path:
            assert CALLEE.search(_text(whole)), path  # the operator's copy has them whole
            assert "1390000****" in text, path
        refused = agent.get(console.url + path, allow_redirects=False, timeout=30)
        assert refused.status_code == 403, path
        assert not CALLEE.search(refused.text), path
    me = agent.get(console.url + "/api/me", timeout=10).json()
    assert me["role"] == "agent" and me["phone"] == "13800000009"


def _text(response: requests.Response) -> str:
    if "spreadsheetml" in response.headers.get("content-type", ""):
        import io

        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        return " ".join(
            str(c) for ws in book for row in ws.iter_rows(values_only=True) for c in row
        )
    return response.content.decode("utf-8-sig", errors="replace")


def test_every_change_is_in_the_audit_trail_with_its_account(console) -> None:
    operator = open_link(add_user(console, "ops", "operator"))
    token = api_token(console, operator)
    viewer = open_link(add_user(console, "guest", "viewer"))
    as_ops = bearer(token)

    def post(path: str, **kw) -> requests.Response:
        return requests.post(console.url + path, headers=as_ops, timeout=30, **kw)

    made = post(
        "/api/campaigns",
        files={"file": ("s.csv", sheet(3))},
        data={"broker": NUMBERS[0], "window": WINDOW, "rate": "2/s"},
    )
    assert made.status_code == 201
    cid = made.json()["id"]
    for action in ("start", "pause", "resume", "cancel"):
        assert post(f"/api/campaigns/{cid}/{action}").status_code == 200, action
    assert post(f"/api/campaigns/{cid}/start").status_code == 409  # a change that failed
    for path in ("results.csv", "results.xlsx", "report.html"):
        assert (
            requests.get(
                f"{console.url}/api/campaigns/{cid}/{path}", headers=as_ops, timeout=30
            ).status_code
            == 200
        )
    csrf = page_csrf(viewer, console.url + "/campaigns")
    refused = viewer.post(
        f"{console.url}/api/campaigns/{cid}/resume", headers={"X-CSRF-Token": csrf}, timeout=10
    )
    assert refused.status_code == 403
    forged = operator.post(
        f"{console.url}/api/campaigns/{cid}/pause", headers={"X-CSRF-Token": "forged"}, timeout=10
    )
    assert forged.status_code == 403 and forged.json()["error"] == "Auth.Csrf"
    requests.post(console.url + "/login", data={"name": "ops", "password": "wrong"}, timeout=10)
    requests.post(console.url + "/login", data={"name": PASSWORD, "password": "x"}, timeout=10)
    console.post("/api/users/guest/disable")

    entries = console.get("/api/audit").json()["entries"]
    seen = {(e["who"], e["action"], e["target"], e["outcome"]) for e in entries}
    for action in ("upload", "start", "pause", "resume", "cancel", "export", "report"):
        assert ("ops", action, cid, "ok") in seen, action
    assert ("ops", "start", cid, "failed") in seen
    assert ("guest", "resume", cid, "refused") in seen
    assert ("ops", "pause", cid, "refused") in seen  # the forged CSRF token
    assert ("ops", "sign-in", "", "ok") in seen and ("ops", "sign-in", "", "failed") in seen
    assert ("", "sign-in", "", "failed") in seen  # a name no account has is not recorded
    assert ("web-token", "users.add", "ops", "ok") in seen
    assert ("web-token", "users.disable", "guest", "ok") in seen
    assert ("ops", "token.create", "", "ok") not in seen  # its target is the token's id
    assert any(e["who"] == "ops" and e["action"] == "token.create" for e in entries)
    upload = next(e for e in entries if e["action"] == "upload" and e["outcome"] == "ok")
    assert upload["detail"]["accepted"] == 3 and upload["detail"]["file"] == "s.csv"
    assert upload["detail"]["options"]["rate"] == ["2/s"] and upload["address"] == "127.0.0.1"
    assert upload["role"] == "operator" and upload["detail"]["via"] == "api-token"
    assert PASSWORD not in str(entries)
    only_ops = console.get("/api/audit?who=ops&since=1h").json()["entries"]
    assert only_ops and {e["who"] for e in only_ops} == {"ops"}
    assert console.get("/api/audit?since=yesterday").status_code == 400

    supervisor = open_link(add_user(console, "boss", "supervisor"))
    page = supervisor.get(console.url + "/audit?who=guest", timeout=10)
    assert page.status_code == 200 and "resume" in page.text and "refused" in page.text
    assert operator.get(console.url + "/audit", timeout=10).status_code == 403


@pytest.mark.timeout(120)
def test_secrets_are_never_in_redis_in_clear_nor_in_the_logs(
    redis_server, namespace, simulator, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_console(redis_server.url, namespace, simulator.url) as console:
        link = add_user(console, "li-wei", "operator")
        link_secret = link.split("link=")[1].split(".")[1]
        browser = open_link(link)
        csrf = page_csrf(browser, console.url + "/account")
        browser.post(
            console.url + "/api/me/password",
            json={"password": PASSWORD},
            headers={"X-CSRF-Token": csrf},
            timeout=10,
        )
        token = api_token(console, browser)
        requests.post(
            console.url + "/login", data={"name": "li-wei", "password": PASSWORD}, timeout=10
        )
        requests.post(
            console.url + "/login", data={"name": "li-wei", "password": PASSWORD + "x"}, timeout=10
        )
        requests.get(console.url + "/api/me", headers=bearer(token), timeout=10)
        requests.get(console.url + "/api/me", headers=bearer(token + "x"), timeout=10)
        console.get("/api/audit")
    secrets = [PASSWORD, token, token.split("_", 2)[2], link_secret, TOKEN]
    client = redis.Redis.from_url(redis_server.url)
    stored = b""
    for key in client.scan_iter(match=f"{namespace}:*"):
        kind = client.type(key)
        if kind == b"hash":
            stored += b" ".join(k + b"=" + v for k, v in client.hgetall(key).items())
        elif kind == b"set":
            stored += b" ".join(client.smembers(key))
        elif kind == b"stream":
            stored += b" ".join(
                b" ".join(k + b"=" + v for k, v in f.items()) for _, f in client.xrange(key)
            )
        elif kind == b"string":
            stored += client.get(key) or b""
        stored += b" " + key + b"\n"
    client.close()
    assert b"scrypt$" in stored and b"li-wei" in stored  # it did look at the accounts
    # Everything the console and the library logged; the test's own HTTP client (urllib3)
    # logs the links it opens, which is not the console's doing.
    logged = "\n".join(
        f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith("urllib3")
    )
    assert "GET /api/me 200" in logged and "POST /login" in logged  # it did log
    for secret in secrets:
        assert secret.encode() not in stored, secret[:4]
        assert secret not in logged, secret[:4]


@pytest.mark.timing  # compares how long answers take
def test_failed_passwords_slow_down_per_account_as_well_as_per_address(
    redis_server, namespace, simulator
) -> None:
    with running_console(redis_server.url, namespace, simulator.url) as console:
        for name in ("alice", "bob"):
            add_user(console, name, "viewer")

        def attempt(name: str) -> float:
            started = time.monotonic()
            response = requests.post(
                console.url + "/login",
                data={"name": name, "password": "x"},
                allow_redirects=False,
                timeout=30,
            )
            assert response.status_code == 401
            return time.monotonic() - started

        # Lower bounds only (the waits are sleeps): the machine may be slow, never fast.
        attempt("alice"), attempt("alice")  # free
        assert attempt("alice") >= 0.5  # the third waits 0.5 s
        # The console token from this address clears the address's count, not alice's.
        requests.post(console.url + "/login", data={"token": TOKEN}, timeout=10)
        alice = attempt("alice")  # the fourth against alice: 1 s more
        bob = attempt("bob")  # the second from this address since the token: free
        assert alice >= 1.0 and bob < alice - 0.6, (alice, bob)
