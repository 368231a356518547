"""The API's webhook fields and endpoints against a real uvicorn server and Redis."""

from __future__ import annotations

from support import NUMBERS
from web_support import sheet

from dialer.engine import open_events


def test_an_upload_with_a_webhook_answers_its_new_secret_once_and_lists_the_endpoint(
    console,
) -> None:
    response = console.post(
        "/api/campaigns",
        files={"file": ("s.csv", sheet(2))},
        data={
            "broker": NUMBERS[0],
            "webhook": ["http://127.0.0.1:9/hook events=row.*", "https://crm.example/h"],
        },
    )
    assert response.status_code == 201, response.text
    cid, secret = response.json()["id"], response.json()["webhook_secret"]
    assert secret.startswith("whsec_")
    listed = console.get(f"/api/campaigns/{cid}/webhooks").json()
    assert [(e["id"], e["url"], e["events"], e["disabled"]) for e in listed["endpoints"]] == [
        ("1", "http://127.0.0.1:9/hook", ["row.*"], ""),
        ("2", "https://crm.example/h", [], ""),
    ]
    assert secret not in str(listed) and secret not in str(
        console.get(f"/api/campaigns/{cid}").json()
    )
    stored = open_events(console.settings).endpoints(cid)
    assert [e.secrets for e in stored] == [(secret,), (secret,)]


def test_redelivery_is_refused_with_reasons_and_queues_kept_events(console) -> None:
    cid = console.post(
        "/api/campaigns",
        files={"file": ("s.csv", sheet(2))},
        data={"broker": NUMBERS[0], "webhook": "http://127.0.0.1:9/hook"},
    ).json()["id"]
    bad = console.post(f"/api/campaigns/{cid}/webhooks/redeliver", json={"event_ids": ["evt_x"]})
    assert bad.status_code == 400 and "keeps no event" in bad.json()["message"]
    assert console.post(f"/api/campaigns/{cid}/webhooks/redeliver", json={}).status_code == 400
    since = console.post(f"/api/campaigns/{cid}/webhooks/redeliver", json={"since": "1h"})
    assert since.status_code == 200 and since.json() == {"id": cid, "queued": 0}
    assert console.get("/api/campaigns/ffff/webhooks").status_code == 404
