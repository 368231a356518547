"""Call records: the final outcome of each dispatched call (GetCallDetailRecord), and
reconciling UNKNOWN rows against ListCallDetailRecords instead of guessing."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dialer.ccc.client import CccClient
from dialer.ccc.responses import CallDetailRecord
from dialer.engine import Campaign, DialEntry, Engine
from dialer.engine.codec import split_member
from dialer.errors import CampaignFatal, CccError

log = logging.getLogger(__name__)

OUTCOMES = (
    "CONNECTED", "CALLER_NO_ANSWER", "CALLEE_NO_ANSWER", "BUSY", "REJECTED_BY_CARRIER",
    "FAILED_OTHER",
)  # fmt: skip
# Carrier refusals (CCC's "阿里云通信-SIP常见错误码" and partner variants): frequency and
# period limits, blacklists, line caps, arrears, no line, blind area.
CARRIER_CODES = frozenset({432, 434, 441, 472, 473, 474, 475, 476, 477, 478})
NO_ANSWER_CODES = frozenset({408, 480, 487})
MAX_RECORD_TRIES = 8
MAX_PACED_RECORD_TRIES = 40  # 2 s growing to 30 s apart (the default): past the max hold
MAX_RECONCILE_TRIES = 5
RECONCILE_BEFORE_MS = 60_000
RECONCILE_AFTER_MS = 600_000
LEASE_MS = 30_000


def sip_code(reason: str | None) -> int | None:
    match = re.match(r"\s*(\d{3})\b", reason or "")
    return int(match[1]) if match else None


def classify(cdr: CallDetailRecord) -> dict[str, Any]:
    """A call record -> the outcome columns of the results sheet."""
    code = sip_code(cdr.release_reason)
    initiator = (cdr.release_initiator or "").lower()
    if cdr.established_time_ms:
        outcome = "CONNECTED"
    elif code == 486:
        outcome = "BUSY"
    elif code in CARRIER_CODES:
        outcome = "REJECTED_BY_CARRIER"
    elif cdr.contact_disposition == "NoAnswer" or code in NO_ANSWER_CODES:
        # The caller's leg rings first; if it is the one that never answered, the callee was
        # never dialled.
        outcome = "CALLER_NO_ANSWER" if initiator in ("caller", "agent") else "CALLEE_NO_ANSWER"
    else:
        outcome = "FAILED_OTHER"
    talk = 0
    if cdr.established_time_ms and cdr.release_time_ms:
        talk = max(0, (cdr.release_time_ms - cdr.established_time_ms) // 1000)
    return {
        "outcome": outcome,
        "talk_seconds": talk,
        "release_initiator": cdr.release_initiator or "",
        "release_reason": cdr.release_reason or "",
        "established_at": cdr.established_time_ms,
        "released_at": cdr.release_time_ms,
    }


class RecordsPoller:
    """Fetches call records for every campaign that has some due. One leader per campaign
    (lease), requests spaced at `qps` and, under DIALER_MAX_QPS, only in the account
    budget's idle slots, so new calls are never pushed back."""

    def __init__(
        self,
        engine: Engine,
        client: CccClient,
        *,
        qps: float = 5.0,
        max_qps: float | None = None,
        batch: int = 20,
        lookups: int = 8,
        owner: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.client = client
        self.interval_s = 1.0 / qps
        self.account_interval_ms = 1000.0 / max_qps if max_qps else 0.0
        self.batch = batch
        self.owner = owner or uuid.uuid4().hex
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next_request = 0.0
        self._lookups = ThreadPoolExecutor(lookups, thread_name_prefix="dialer-records")

    def poll_once(self) -> int:
        """One pass over every campaign with records due; returns rows settled."""
        engine = self.engine
        settled = 0
        led = engine.led_campaigns(
            engine.keys.records(), engine.keys.records_lease, self.owner, LEASE_MS
        )
        for campaign in led:
            cid = campaign.id
            try:
                settled += self._records(campaign) + self._reconcile(campaign)
            except CampaignFatal as exc:
                self._give_up(campaign, exc)
            engine.forget_if_settled(cid)
        return settled

    def _pace(self) -> bool:
        """Space requests (across the lookup threads); False when the account budget has
        no idle slot right now."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_request)
            self._next_request = slot + self.interval_s
        if slot > now:
            self.sleep(slot - now)
        return not self.account_interval_ms or self.engine.take_idle_account_slot(
            self.account_interval_ms
        )

    def _records(self, campaign: Campaign) -> int:
        due = self.engine.store.due_records(campaign.id, self.engine.now_ms(), self.batch)
        # Lookups wait on the network, so a few run at once; pacing still spaces them.
        futures = [self._lookups.submit(self._settle_record, campaign, row) for row in due]
        return sum(f.result() for f in futures)

    def _settle_record(self, campaign: Campaign, row: int) -> bool:
        engine, store, cid = self.engine, self.engine.store, campaign.id
        result = store.result_of(cid, row)
        job_id = result.get("job_id")
        if not job_id:
            store.next_record_lookup(cid, row, None)
            return False
        if not self._pace():
            return False
        tries = int(result.get("cdr_tries") or 0) + 1
        try:
            cdr = self.client.get_call_detail_record(
                instance_id=campaign.settings.instance_id, contact_id=job_id
            )
        except CampaignFatal:
            raise
        except CccError as exc:
            # Not there yet (records land a while after hang-up), or a passing error. A
            # paced caller waits on this record to be free again: look often, for longer.
            paced = campaign.settings.caller_pacing
            if tries >= (MAX_PACED_RECORD_TRIES if paced else MAX_RECORD_TRIES):
                engine.patch_result(cid, row, {"cdr_tries": tries, "outcome_note": exc.code})
                store.next_record_lookup(cid, row, None)
            else:
                engine.patch_result(cid, row, {"cdr_tries": tries})
                first = engine.timing.caller_lookup_ms
                wait = (
                    min(30_000, first * 1.5 ** (tries - 1)) if paced else 10_000 * 2 ** (tries - 1)
                )
                store.next_record_lookup(cid, row, engine.now_ms() + int(wait))
            return False
        engine.patch_result(cid, row, {**classify(cdr), "cdr_tries": tries})
        if cdr.release_time_ms:
            outcome = classify(cdr)
            start = cdr.start_time_ms or cdr.release_time_ms
            engine.call_ended(campaign, row, cdr.release_time_ms,
                              connected=outcome["outcome"] == "CONNECTED",
                              talk_s=int(outcome["talk_seconds"]),
                              busy_ms=max(0, cdr.release_time_ms - start))  # fmt: skip
        store.next_record_lookup(cid, row, None)
        return True

    def _reconcile(self, campaign: Campaign) -> int:
        engine, store, cid = self.engine, self.engine.store, campaign.id
        settled = 0
        for member in store.due_reconciles(cid, engine.now_ms(), self.batch):
            broker, packed = split_member(member)
            entry = DialEntry.unpack(packed, broker)
            result = engine.store.result_of(cid, entry.row)
            if not self._pace():
                break
            tries = int(result.get("reconcile_tries") or 0) + 1
            try:
                match = self._find_call(campaign, entry, int(result.get("last_attempt_at") or 0))
            except CampaignFatal:
                raise
            except CccError as exc:
                if tries >= MAX_RECONCILE_TRIES:
                    note = f"could not check the call records ({exc.code}); still unknown"
                    engine.patch_result(cid, entry.row, {"reconcile": note})
                    store.next_reconcile(cid, member, None)
                else:
                    engine.patch_result(cid, entry.row, {"reconcile_tries": tries})
                    store.next_reconcile(cid, member, engine.now_ms() + 30_000 * tries)
                continue
            cdr_wait = engine.cdr_wait_ms(entry.timeout_seconds, campaign.settings)
            if match is not None:
                patch = {
                    "job_id": match["ContactId"], "error_code": "", "error_message": "",
                    "dispatched_at": match.get("StartTime"),
                    "reconcile": "found in the call records",
                }  # fmt: skip
                engine.reconcile(cid, member, found=True, patch=patch, cdr_wait_ms=cdr_wait)
            else:
                patch = {"reconcile": "not in the call records: dialled again"}
                engine.reconcile(cid, member, found=False, patch=patch, cdr_wait_ms=-1)
            store.next_reconcile(cid, member, None)
            settled += 1
        return settled

    def _find_call(self, campaign: Campaign, entry: DialEntry, attempt_ms: int) -> dict | None:
        """The record of a call to this callee on this broker around the attempt, if any."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.client.call(
                "ListCallDetailRecords",
                {
                    "InstanceId": campaign.settings.instance_id,
                    "CalledNumber": entry.callee,
                    "StartTime": str(attempt_ms - RECONCILE_BEFORE_MS),
                    "EndTime": str(attempt_ms + RECONCILE_AFTER_MS),
                    "PageNumber": str(page),
                    "PageSize": "100",
                },
            )
            items = (body.get("Data") or {}).get("List") or []
            found += [i for i in items if i.get("Broker", entry.broker) == entry.broker]
            if len(items) < 100:
                break
            page += 1
        if not found:
            return None
        return min(found, key=lambda i: abs(int(i.get("StartTime") or 0) - attempt_ms))

    def _give_up(self, campaign: Campaign, exc: CccError) -> None:
        """No permission to read call records: say so once; dialling is not affected."""
        note = f"call records unavailable ({exc.code}): outcomes are not fetched"
        self.engine.store.forget_records(campaign.id, note)
        log.warning("campaign %s: %s", campaign.id, note)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if not self.poll_once():
                    stop.wait(1.0)
            except Exception:
                log.exception("call record poll failed")
                stop.wait(2.0)

    def start_thread(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop,), name="dialer-records", daemon=True).start()
        return stop
