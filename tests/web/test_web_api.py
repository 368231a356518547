"""The JSON API against a real uvicorn server, the session's private Redis and the simulator:
every endpoint, and every error the issue lists, compared with what the CLI says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from support import NUMBERS
from web_support import WINDOW, running_console, sheet

from dialer.engine import open_engine


def keys_of(redis_client: redis.Redis, namespace: str) -> list[bytes]:
    return list(redis_client.scan_iter(match=f"{namespace}:*"))


def test_healthz_is_open_and_says_whether_redis_answers(console, simulator) -> None:
    import requests

    response = requests.get(console.url + "/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "redis": "up"}
    with running_console("redis://127.0.0.1:1/0", "x", simulator.url) as dead:
        response = requests.get(dead.url + "/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json() == {"ok": False, "redis": "down"}


def test_preview_shows_encoding_columns_and_rejections_and_stores_nothing(
    console, redis_client, namespace
) -> None:
    text = (
        "主叫号码;被叫号码;中间号;订单号\n"
        + "".join(f"13800000001;1390000000{i};;单{i}\n" for i in range(5))
        + "13800000001;1.39182E+10;;坏\n13800000001;13900000001;;重复\n"
    )
    response = console.post(
        "/api/campaigns/preview",
        files={"file": ("名单.csv", text.encode("gbk"))},
        data={"broker": list(NUMBERS[:2]), "rate": "2/s", "window": WINDOW},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["file"], body["kind"], body["encoding"], body["delimiter"]) == (
        "名单.csv",
        "csv",
        "gb18030",
        ";",
    )
    assert body["columns"] == {"caller": "主叫号码", "callee": "被叫号码", "broker": "中间号"}
    assert body["passthrough"] == ["订单号"]
    assert (body["total"], body["accepted"], body["rejected"]) == (7, 5, 2)
    assert body["reasons"] == {"Sheet.InvalidNumber": 1, "Sheet.Duplicate": 1}
    assert body["brokers"] == {
        NUMBERS[0]: {"rows": 3, "rate_per_s": 2.0},
        NUMBERS[1]: {"rows": 2, "rate_per_s": 2.0},
    }
    rejected = {r["row"]: r for r in body["rejected_rows"]}
    assert rejected[6]["reason"] == "Sheet.InvalidNumber"
    assert "scientific notation" in rejected[6]["detail"]
    assert rejected[7]["reason"] == "Sheet.Duplicate"
    assert [r["订单号"] for r in body["first_rows"]][:2] == ["单0", "单1"]
    assert keys_of(redis_client, namespace) == []


def test_create_answers_201_and_status_is_the_cli_status_document(console) -> None:
    created = console.create(sheet(4, bad=("12345",)), name="客户名单.csv")
    assert set(created) >= {"id", "accepted", "rejected", "reasons"}
    assert (created["accepted"], created["rejected"]) == (4, 1)
    assert created["reasons"] == {"Sheet.InvalidNumber": 1}
    doc = console.get(f"/api/campaigns/{created['id']}").json()
    assert doc["status"] == "READY" and doc["name"] == "客户名单"
    cli = console.cli("status", created["id"], "--json")
    assert cli.returncode == 0, cli.stderr
    assert doc == json.loads(cli.stdout)


def test_an_agent_pool_campaign_is_created_from_the_api(console) -> None:
    agents = ["13700000001", "13700000002"]
    response = console.post(
        "/api/campaigns",
        files={"file": ("pool.csv", "Callee\n13900000001\n13900000002\n")},
        data={"broker": NUMBERS[0], "caller": agents, "wrap_up_s": "15", "caller_concurrency": "2"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == 2
    cid = response.json()["id"]
    settings = open_engine(console.settings).store.campaign(cid).settings
    assert (settings.agents, settings.wrap_up_s, settings.caller_concurrency) == (
        tuple(agents),
        15.0,
        2,
    )
    assert settings.caller_pacing
    off = console.post(
        "/api/campaigns",
        files={"file": ("s.csv", sheet(2))},
        data={"broker": NUMBERS[0], "no_caller_pacing": "on"},
    )
    assert not open_engine(console.settings).store.campaign(off.json()["id"]).settings.caller_pacing


def test_list_shows_campaigns_newest_first_with_their_file_names(console) -> None:
    first = console.create(sheet(2), name="一月.csv")["id"]
    second = console.create(sheet(3), name="二月.csv")["id"]
    listed = console.get("/api/campaigns").json()["campaigns"]
    assert [c["id"] for c in listed] == [second, first]
    assert [(c["file"], c["name"], c["status"], c["total"]) for c in listed] == [
        ("二月.csv", "二月", "READY", 3),
        ("一月.csv", "一月", "READY", 2),
    ]
    assert console.get("/api/campaigns?limit=1").json()["campaigns"][0]["id"] == second


def test_options_are_refused_with_the_cli_words(console, tmp_path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(sheet(2))
    for fields, cli_args in (
        ({"rate": "fast"}, ["--rate", "fast"]),
        ({"window": "25:00-26:00"}, ["--window", "25:00-26:00"]),
        ({"broker_rate": "021"}, ["--broker-rate", "021"]),
        ({"max_attempts": "0"}, ["--max-attempts", "0"]),
    ):
        response = console.post(
            "/api/campaigns",
            files={"file": ("s.csv", sheet(2))},
            data={"broker": NUMBERS[0], **fields},
        )
        assert response.status_code == 400, fields
        assert response.json()["error"] == "Options.Invalid"
        cli = console.cli("upload", str(path), "--broker", NUMBERS[0], *cli_args)
        assert cli.returncode == 2
        assert response.json()["message"] in cli.stderr.strip()  # the CLI's own words
    response = console.post(
        "/api/campaigns", files={"file": ("s.csv", sheet(2))}, data={"timeout_seconds": "soon"}
    )
    assert response.status_code == 400
    assert (
        "--timeout-seconds: must be a whole number of seconds from 1 to 600, not 'soon'"
        in (response.json()["message"])
    )
    response = console.post(
        "/api/campaigns", files={"file": ("s.csv", sheet(2))}, data={"color": "red"}
    )
    assert response.json() == {"error": "Options.Invalid", "message": "unknown option 'color'"}
    response = console.post("/api/campaigns", data={"name": "no file"})
    assert response.status_code == 400 and response.json()["error"] == "Request.Invalid"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.bin", b"\x00\x01\x02\x03binary"),
        ("empty.csv", b""),
        ("header.csv", "主叫号码,被叫号码\n".encode()),
        ("nocallee.csv", b"Caller,Phone\n13800000001,13900000001\n"),
    ],
)
def test_unusable_sheets_get_the_cli_reason_and_store_nothing(
    console, redis_client, namespace, tmp_path, name, content
) -> None:
    for path in ("/api/campaigns/preview", "/api/campaigns"):
        response = console.post(path, files={"file": (name, content)}, data={"broker": NUMBERS[0]})
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "Sheet.Unusable"
        message = response.json()["message"]
        assert message.startswith(f"{name}: ") and "Traceback" not in message
    local = tmp_path / name
    local.write_bytes(content)
    cli = console.cli("upload", str(local), "--broker", NUMBERS[0])
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"dialer: {tmp_path}/{message}"
    assert keys_of(redis_client, namespace) == []


def test_upload_over_the_size_limit_is_413_and_stores_nothing(
    console, redis_client, namespace
) -> None:
    big = sheet(60_000)
    assert len(big) > console.web.max_upload_bytes
    response = console.post(
        "/api/campaigns", files={"file": ("big.csv", big)}, data={"broker": NUMBERS[0]}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "Upload.TooLarge"
    assert "DIALER_WEB_MAX_UPLOAD_MB" in response.json()["message"]

    def chunked():  # no Content-Length: the limit holds while the body streams
        boundary = b"--b0undary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024].encode()
        yield b"\r\n--b0undary--\r\n"

    import requests

    try:
        response = requests.post(
            console.url + "/api/campaigns",
            data=chunked(),
            timeout=30,
            headers={**console.auth, "Content-Type": "multipart/form-data; boundary=b0undary"},
        )
        assert response.status_code == 413
        assert response.json()["error"] == "Upload.TooLarge"
    except requests.ConnectionError:
        pass  # the server may close before the client has sent everything: also a refusal
    assert keys_of(redis_client, namespace) == []


def test_a_path_like_file_name_is_only_a_label(console, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a" / "b").mkdir(parents=True)
    for evil, shown in (
        ("../../x.csv", "x.csv"),
        ("..\\..\\y.csv", "y.csv"),
        ("/etc/cron.d/z.csv", "z.csv"),
        ("..", "upload.csv"),
    ):
        created = console.create(sheet(2), name=evil)
        listed = {c["id"]: c for c in console.get("/api/campaigns").json()["campaigns"]}
        assert listed[created["id"]]["file"] == shown
    assert not list(tmp_path.rglob("x.csv")) and not Path("/etc/cron.d/z.csv").exists()
    assert not Path(tmp_path.parent.parent / "x.csv").exists()


def test_unknown_campaign_is_404_everywhere(console) -> None:
    for cid in ("0123456789ab", "NOT-AN-ID"):
        for method, path in (
            ("GET", ""),
            ("GET", "/rows?state=REJECTED"),
            ("GET", "/results.csv"),
            ("GET", "/results.xlsx"),
            ("GET", "/report.html"),
            ("POST", "/start"),
            ("POST", "/pause"),
            ("POST", "/resume"),
            ("POST", "/cancel"),
        ):
            call = console.get if method == "GET" else console.post
            response = call(f"/api/campaigns/{cid}{path}")
            assert response.status_code == 404, (cid, path)
            assert response.json()["error"] == "Campaign.NotFound"
    response = console.get("/api/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "Route.NotFound"


def test_control_answers_409_when_the_state_does_not_allow_it(console) -> None:
    cid = console.create(sheet(3))["id"]
    for action in ("pause", "resume"):
        response = console.post(f"/api/campaigns/{cid}/{action}")
        assert response.status_code == 409
        assert response.json()["error"] == "Campaign.WrongState"
        assert "READY" in response.json()["message"]
    cancelled = console.post(f"/api/campaigns/{cid}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json() == {"id": cid, "status": "CANCELLED", "cancelled": 3}
    assert console.post(f"/api/campaigns/{cid}/start").status_code == 409
    # The engine's cancel may be repeated (it completes a cancel cut short): nothing left.
    again = console.post(f"/api/campaigns/{cid}/cancel")
    assert again.json() == {"id": cid, "status": "CANCELLED", "cancelled": 0}


def test_rows_lists_rejected_rows_with_their_reasons(console) -> None:
    cid = console.create(sheet(3, bad=("12345", "13900000000")))["id"]
    rows = console.get(f"/api/campaigns/{cid}/rows?state=REJECTED").json()["rows"]
    assert [(r["row"], r["callee"], r["error_code"]) for r in rows] == [
        (4, "12345", "Sheet.InvalidNumber"),
        (5, "13900000000", "Sheet.Duplicate"),
    ]
    assert "'被叫号码'" in rows[0]["error_message"]
    assert rows[0]["passthrough"] == {"客户姓名": "坏行"}
    assert console.get(f"/api/campaigns/{cid}/rows?state=UNKNOWN").json() == {"rows": []}
    assert console.get(f"/api/campaigns/{cid}/rows").status_code == 400
    bogus = console.get(f"/api/campaigns/{cid}/rows?state=BOGUS")
    assert bogus.status_code == 400 and "BOGUS" in bogus.json()["message"]


def test_openapi_describes_every_endpoint(console) -> None:
    spec = console.get("/api/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/api/campaigns",
        "/api/campaigns/preview",
        "/api/campaigns/{cid}",
        "/api/campaigns/{cid}/start",
        "/api/campaigns/{cid}/cancel",
        "/api/campaigns/{cid}/results.csv",
        "/api/campaigns/{cid}/report.html",
        "/metrics",
        "/healthz",
    } <= paths
    form = spec["paths"]["/api/campaigns"]["post"]["requestBody"]["content"]
    assert "broker" in form["multipart/form-data"]["schema"]["properties"]


def test_dnc_api_adds_lists_and_removes_numbers_as_the_cli_does(console) -> None:
    import requests

    added = console.post("/api/dnc", json={"numbers": ["+86 139 0000 0001", "13900000002"]})
    assert added.status_code == 200 and added.json() == {"added": 2}, added.text
    bad = console.post("/api/dnc", json={"numbers": ["12345"]})
    assert bad.status_code == 400 and "'12345'" in bad.text
    listed = console.get("/api/dnc").json()["numbers"]
    assert [e["number"] for e in listed] == ["13900000001", "13900000002"]
    gone = requests.delete(console.url + "/api/dnc/13900000001", headers=console.auth, timeout=30)
    assert gone.json() == {"removed": 1}
    assert [e["number"] for e in console.get("/api/dnc").json()["numbers"]] == ["13900000002"]
    assert console.cli("dnc", "list").stdout.startswith("13900000002")
    assert requests.get(console.url + "/api/dnc", timeout=30).status_code == 401


def test_the_strategy_options_go_through_the_clis_parser(console) -> None:
    sheet_text = "Caller,Callee\n13800000001,13900000001\n"
    body = console.create(
        sheet_text,
        recycle=["CALLEE_NO_ANSWER=30m,2h", "BUSY=10m"],
        max_agent_misses="2",
        agent_miss_wait_s="20",
        end_at="2030-01-02T18:00",
    )
    s = open_engine(console.settings).store.campaign(body["id"]).settings
    assert s.recycle == {"CALLEE_NO_ANSWER": [1800.0, 7200.0], "BUSY": [600.0]}
    assert (s.contacts_allowed, s.max_agent_misses, s.agent_miss_wait_s) == (3, 2, 20.0)
    assert s.end_at_ms == 1893578400000  # 2030-01-02 18:00 Asia/Shanghai
    bad = console.post(
        "/api/campaigns/preview",
        files={"file": ("s.csv", sheet_text.encode())},
        data={"broker": NUMBERS[0], "recycle": "CONNECTED=1m"},
    )
    assert bad.status_code == 400 and "must be OUTCOME=DELAY" in bad.text
