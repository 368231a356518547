"""Campaign sheets through `upload` into a real Redis: encodings, delimiters, header aliases,
every reason code, XLSX, pass-through columns, broken files, the broker pool spread."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import redis
from openpyxl import Workbook
from support import cli_env, run_dialer

from dialer.engine import CampaignStore, DialEntry, Keys
from dialer.errors import SheetError
from dialer.models import CampaignSettings
from dialer.sheets.upload import upload

POOL = ("02151234567", "02151234568", "02151234569")


@pytest.fixture
def store(redis_client: redis.Redis, namespace: str) -> CampaignStore:
    return CampaignStore(redis_client, Keys(namespace))


def settings(**kw) -> CampaignSettings:
    return CampaignSettings(name="t", instance_id="ccc-test", pool=kw.pop("pool", POOL), **kw)


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def rows_of(store: CampaignStore, cid: str) -> list[tuple[list, str, dict]]:
    return list(store.iter_rows(cid))


def queued(store: CampaignStore, cid: str, broker: str) -> list[DialEntry]:
    raw = store.r.lrange(store.keys.queue(cid, broker), 0, -1)
    return [DialEntry.unpack(v, broker) for v in raw]


CHINESE = "主叫号码,被叫号码,客户姓名\n13800000001,13900000001,张三\n13800000001,13900000002,李四\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(store, tmp_path, encoding) -> None:
    report = upload(store, write(tmp_path, CHINESE, encoding), settings())
    records = rows_of(store, report.campaign_id)
    assert report.accepted == 2
    assert [r[0][-1] for r in records] == ["张三", "李四"]
    assert store.campaign(report.campaign_id).passthrough == ("客户姓名",)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(store, tmp_path, sep) -> None:
    text = f"Caller{sep}Callee{sep}Note\n13800000001{sep}13900000001{sep}a,b\n"
    if sep == ",":
        text = 'Caller,Callee,Note\n13800000001,13900000001,"a,b"\n'
    report = upload(store, write(tmp_path, text), settings())
    assert report.accepted == 1
    assert rows_of(store, report.campaign_id)[0][0][-1] == "a,b"


def test_the_delimiter_of_long_rows_is_sniffed_from_their_first_lines(store, tmp_path) -> None:
    # 60 rows of 500 characters: more than the sniffer reads, cut at a whole line.
    note = "a,b " * 125
    body = "".join(f"13800000001;139{i:08d};{note}\n" for i in range(60))
    report = upload(store, write(tmp_path, "Caller;Callee;Note\n" + body), settings())
    assert report.accepted == 60
    assert rows_of(store, report.campaign_id)[0][0][-1] == note


@pytest.mark.parametrize(
    "header",
    [
        "Caller,Callee,Broker,AdditionalBroker,TimeoutSeconds,Tags",
        "caller,CALLEE,broker,additional_broker,timeout_seconds,tags",
        "主叫,被叫,中间号,附加中间号码,TimeoutSeconds,随路数据",
        "主叫号码,被叫号码,中间号码,附加中间号码,TimeoutSeconds,随路数据",
    ],
)
def test_header_aliases(store, tmp_path, header) -> None:
    text = f"{header}\n13800000001,13900000001,02150000000,02150000001,45,k=v\n"
    report = upload(store, write(tmp_path, text), settings())
    [entry] = queued(store, report.campaign_id, "02150000000")
    assert entry == DialEntry(
        1, "13800000001", "13900000001", "02150000000", "02150000001", 45, False, "k=v"
    )


def test_numbers_are_normalised(store, tmp_path) -> None:
    text = (
        "Caller,Callee\n"
        "138 0000 0001,+86 139-0000-0001\n"
        "(138)00000001,0086 139.0000.0002\n"
        "13800000001.0,8613900000003\n"
        "13800000001,+86 21 5123 4567\n"
        "13800000001,021-51234568\n"
    )
    report = upload(store, write(tmp_path, text), settings(pool=("02150000000",)))
    assert report.accepted == 5
    callees = [e.callee for e in queued(store, report.campaign_id, "02150000000")]
    assert callees == ["13900000001", "13900000002", "13900000003", "02151234567", "02151234568"]
    assert {e.caller for e in queued(store, report.campaign_id, "02150000000")} == {"13800000001"}


def test_every_reason_code(store, tmp_path) -> None:
    dnc = frozenset({"13900000009"})
    text = (
        "Caller,Callee,TimeoutSeconds,Tags,Broker\n"
        "13800000001,13900000001,,,\n"  # 1 ok
        ",13900000002,,,\n"  # 2 missing caller
        "13800000001,1.39182E+10,,,\n"  # 3 scientific notation
        "13800000001,12345,,,\n"  # 4 too short
        f"13800000001,13900000005,,{'é' * 65},\n"  # 5 tags 130 bytes
        "13800000001,13900000006,0,,\n"  # 6 timeout 0
        "13800000001,13900000007,2.5,,\n"  # 7 timeout fractional
        "13800000001,13900000009,,,\n"  # 8 dnc
        "13800000001,139-0000-0001,,,\n"  # 9 duplicate of row 1
        "13800000001,13900000010,,,abc\n"  # 10 bad broker
        f"13800000001,13900000011,,{'é' * 64},\n"  # 11 tags exactly 128 bytes: fine
    )
    report = upload(store, write(tmp_path, text), settings(), dnc=dnc)
    states = {
        rec[0]: (state, res.get("error_code"))
        for rec, state, res in rows_of(store, report.campaign_id)
    }
    assert states == {
        1: ("PENDING", None),
        2: ("REJECTED", "Sheet.MissingValue"),
        3: ("REJECTED", "Sheet.InvalidNumber"),
        4: ("REJECTED", "Sheet.InvalidNumber"),
        5: ("REJECTED", "Sheet.TagsTooLong"),
        6: ("REJECTED", "Sheet.InvalidTimeout"),
        7: ("REJECTED", "Sheet.InvalidTimeout"),
        8: ("REJECTED", "Sheet.DoNotCall"),
        9: ("REJECTED", "Sheet.Duplicate"),
        10: ("REJECTED", "Sheet.InvalidNumber"),
        11: ("PENDING", None),
    }
    details = {
        rec[0]: res.get("error_message", "") for rec, _, res in rows_of(store, report.campaign_id)
    }
    assert "scientific notation" in details[3] and "'Callee'" in details[3]
    assert "'Caller'" in details[2]
    assert store.counts(report.campaign_id) == {"PENDING": 2, "REJECTED": 9}


def test_missing_broker_without_pool_is_rejected_per_row(store, tmp_path) -> None:
    text = "Caller,Callee,Broker\n13800000001,13900000001,02150000000\n13800000001,13900000002,\n"
    report = upload(store, write(tmp_path, text), settings(pool=()))
    assert report.rejected == Counter({"Sheet.MissingValue": 1})


def test_duplicates_are_found_across_chunks(store, tmp_path) -> None:
    lines = [f"13800000001,139{i % 1500:08d}" for i in range(3000)]
    path = write(tmp_path, "Caller,Callee\n" + "\n".join(lines) + "\n")
    report = upload(store, path, settings(), chunk_rows=1000)
    assert (report.accepted, report.rejected["Sheet.Duplicate"]) == (1500, 1500)


def test_pool_spreads_rows_evenly(store, tmp_path) -> None:
    lines = [f"13800000001,139{i:08d}" for i in range(3001)]
    path = write(tmp_path, "Caller,Callee\n" + "\n".join(lines) + "\n")
    report = upload(store, path, settings(), chunk_rows=1000)
    sizes = [len(queued(store, report.campaign_id, b)) for b in POOL]
    assert sorted(sizes) == [1000, 1000, 1001]
    assert all(e.from_pool for e in queued(store, report.campaign_id, POOL[0]))


def test_xlsx_with_sheet_name_and_numeric_cells(store, tmp_path) -> None:
    book = Workbook()
    book.active.title = "first"
    ws = book.create_sheet("名单")
    ws.append(["被叫号码", "主叫号码", "备注"])
    ws.append([13900000001, 13800000001, "vip"])
    ws.append([13900000002.0, "138 0000 0001", None])
    path = tmp_path / "c.xlsx"
    book.save(path)
    report = upload(store, path, settings(pool=("02150000000",)), sheet_name="名单")
    assert report.accepted == 2
    records = [rec for rec, _, _ in rows_of(store, report.campaign_id)]
    assert [r[2] for r in records] == ["13900000001", "13900000002"]
    assert [r[-1] for r in records] == ["vip", ""]


def test_passthrough_columns_keep_order_and_names(store, tmp_path) -> None:
    text = "Zeta,Callee,alpha,Caller,中文列\nz1,13900000001,a1,13800000001,中\n"
    report = upload(store, write(tmp_path, text), settings())
    campaign = store.campaign(report.campaign_id)
    assert campaign.passthrough == ("Zeta", "alpha", "中文列")
    assert rows_of(store, report.campaign_id)[0][0][-3:] == ["z1", "a1", "中"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"Caller,Callee\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"Caller,Name\n13800000001,x\n", "no callee column"),
        ("Caller,Callee\n13800000001,13900000001,\xff\xfe\xfd\n".encode("latin-1"), "decoded"),
        (b"Callee\n13900000001\n", "no caller column"),
    ],
)
def test_unusable_files_raise_and_store_nothing(store, tmp_path, content, message) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(SheetError) as info:
        upload(store, path, settings())
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert list(store.r.scan_iter(match=f"{store.keys.namespace}:*")) == []


def test_no_broker_anywhere_is_a_file_error(store, tmp_path) -> None:
    with pytest.raises(SheetError, match="no broker column"):
        upload(
            store, write(tmp_path, "Caller,Callee\n13800000001,13900000001\n"), settings(pool=())
        )


def run_cli(*args: str, redis_url: str, namespace: str) -> subprocess.CompletedProcess:
    return run_dialer(*args, env=cli_env(redis_url, namespace))


def test_cli_upload_prints_summary_and_id_last(redis_server, namespace, store) -> None:
    done = run_cli(
        "upload",
        "campaigns/sample.csv",
        "--broker",
        "02151234567",
        "--instance-id",
        "ccc-test",
        redis_url=redis_server.url,
        namespace=namespace,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert "Sheet.InvalidNumber" in done.stdout
    campaign = store.campaign(lines[-1])
    assert campaign.total == 300 and campaign.rejected > 0


def test_cli_upload_json(redis_server, namespace) -> None:
    args = ["upload", "campaigns/sample.xlsx", "--broker", "02151234569", "--json"]
    done = run_cli(
        *args, "--instance-id", "ccc-test", redis_url=redis_server.url, namespace=namespace
    )
    body = json.loads(done.stdout)
    assert body["total"] == 21 and body["accepted"] == 20 and len(body["id"]) == 12


def test_cli_upload_bad_file_is_one_clear_line(redis_server, namespace, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    done = run_cli(
        "upload",
        str(bad),
        "--broker",
        "02151234567",
        "--instance-id",
        "i",
        redis_url=redis_server.url,
        namespace=namespace,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{bad}: the file is empty" in done.stderr
