"""POST /api/campaigns/{id}/rows: a sheet or JSON rows, validated as an upload."""

from __future__ import annotations

from support import NUMBERS
from web_support import sheet

from dialer.engine import open_engine


def test_json_rows_and_a_sheet_are_appended_with_an_uploads_reasons(console) -> None:
    cid = console.create(sheet(2), broker=NUMBERS[0])["id"]
    store = open_engine(console.settings).store
    existing = [rec[2] for rec, _, _ in store.iter_rows(cid)]
    rows = [
        {"Caller": "13800000100", "Callee": "13700000001"},
        {"Caller": "13800000101", "Callee": existing[0]},
        {"Caller": "13800000102", "Callee": "1.37E+10"},
    ]
    got = console.post(f"/api/campaigns/{cid}/rows", json={"rows": rows})
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["total"], body["accepted"], body["rejected"]) == (3, 1, 2)
    assert body["reasons"] == {"Sheet.Duplicate": 1, "Sheet.InvalidNumber": 1}
    csv = "Caller,Callee\n13800000103,13700000002\n13800000104,13700000001\n"
    got = console.post(f"/api/campaigns/{cid}/rows", files={"file": ("more.csv", csv)})
    assert got.status_code == 200, got.text
    assert (got.json()["accepted"], got.json()["reasons"]) == (1, {"Sheet.Duplicate": 1})
    stored = [(rec[0], rec[2]) for rec, _, _ in store.iter_rows(cid)]
    assert stored[2:] == [
        (3, "13700000001"),
        (4, existing[0]),
        (5, "1.37E+10"),
        (6, "13700000002"),
        (7, "13700000001"),
    ]


def test_appending_is_refused_with_reasons(console) -> None:
    cid = console.create(sheet(2), broker=NUMBERS[0])["id"]
    assert console.post(f"/api/campaigns/{cid}/rows", json={"rows": []}).status_code == 400
    bad = console.post(f"/api/campaigns/{cid}/rows", json={"rows": [{"Caller": "13800000001"}]})
    assert bad.status_code == 422 and "callee" in bad.json()["message"].lower()
    row = {"rows": [{"Caller": "13800000100", "Callee": "13700000001"}]}
    missing = console.post("/api/campaigns/ffff/rows", json=row)
    assert missing.status_code == 404, missing.text
    assert console.post(f"/api/campaigns/{cid}/cancel").status_code == 200
    done = console.post(f"/api/campaigns/{cid}/rows", json=row)
    assert done.status_code == 409 and "CANCELLED" in done.json()["message"]
