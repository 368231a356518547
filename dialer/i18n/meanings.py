"""The words for what the data says — campaign statuses, row states, call outcomes, the
reason codes a row or a campaign can carry, the sheet's fields — in the source language,
marked for the one catalogue (dialer.i18n.catalogue) and translated where they are shown: the
console's pages, the HTML report. The vendor's own Chinese is kept where it has it."""

from __future__ import annotations

from dialer.i18n.catalogue import N_

# Every reason code a row's result, a campaign's pause or its status can carry: ours (Sheet.*,
# Client.*, Worker.*, Redis.*, Cap.*, Reconcile.*, Records.*, Operator.*, Broker.*) and CCC's.
# A short label for tables; tests/unit/test_catalogue.py finds the codes in the code and checks each
# is here and in MEANINGS.
REASONS = {
    "Sheet.MissingValue": N_("Missing value"),
    "Sheet.InvalidNumber": N_("Invalid number"),
    "Sheet.TagsTooLong": N_("Tags too long"),
    "Sheet.InvalidTimeout": N_("Invalid timeout"),
    "Sheet.DoNotCall": N_("On the do-not-call list"),
    "Sheet.Duplicate": N_("Duplicate callee"),
    "Sheet.UnsavedFormula": N_("Formula never saved by Excel"),
    "Client.ReadTimeout": N_("No answer in time"),
    "Client.ConnectionLost": N_("Connection lost"),
    "Client.TornResponse": N_("Incomplete answer"),
    "Client.ConnectFailed": N_("CCC unreachable"),
    "Client.ConnectTimeout": N_("CCC unreachable"),
    "Client.InvalidEndpoint": N_("Invalid CCC endpoint"),
    "Client.RequestFailed": N_("Request failed"),
    "Client.TagsTooLong": N_("Tags too long"),
    "Worker.Lost": N_("Worker stopped mid-call"),
    "Worker.NoneHealthy": N_("No healthy worker"),
    "Redis.ReplicationLag": N_("Redis replicas lagging"),
    "Cap.Callee": N_("Callee call cap reached"),
    "Cap.PairGuard": N_("Same caller and callee moments ago"),
    "Strategy.AgentMisses": N_("Agents missed it; customer never rung"),
    "System.MissedRings": N_("On break: missed rings"),
    "System.WrapUpTimeout": N_("On break: wrap-up left open"),
    "System.ScreenSilent": N_("Offline: screen closed"),
    "Dnc.Listed": N_("On the do-not-call list"),
    "Schedule.Ended": N_("Campaign end time passed"),
    "Strategy.MaxContacts": N_("Tried as often as allowed"),
    "Reconcile.Found": N_("Found in the call records"),
    "Reconcile.Pending": N_("Looking in the call records"),
    "Reconcile.NotFound": N_("Not in the call records"),
    "Reconcile.Unreadable": N_("Call records unreadable"),
    "Reconcile.Unavailable": N_("Call records not permitted"),
    "Records.Unreadable": N_("Call record unreadable"),
    "Records.Incomplete": N_("Call record incomplete"),
    "Records.TooMany": N_("Too many call records"),
    "Records.NotFound": N_("No call record"),
    "Records.NoJobId": N_("No JobId to look up"),
    "Records.Unavailable": N_("Call records not permitted"),
    "Operator.Redial": N_("Redialled by an operator"),
    "Operator.Pause": N_("paused by operator"),
    "Broker.NoneUsable": N_("No usable broker"),
    "Webhook.Gone": N_("Webhook endpoint gone (410)"),
    "Webhook.Failing": N_("Webhook endpoint failing"),
    "Parameter.Blank": N_("Required parameter empty"),
    "Parameter.Invalid": N_("Invalid parameter"),
    "Parameter.Maximum": N_("Parameter too large"),
    "Parameter.Minimum": N_("Parameter too small"),
    "NotExists.InstanceId": N_("No such CCC instance"),
    "NotExists.Number": N_("Broker not on the instance"),
    "NotExists.ContactId": N_("No such call"),
    "NotExists.JobId": N_("No such call"),
    "InvalidAction.NotFound": N_("Unknown CCC action"),
    "InternalService.CTI": N_("CCC telephony error"),
    "Throttling": N_("Throttled by CCC"),
    "Throttling.User": N_("Throttled by CCC"),
    "ServiceUnavailable": N_("CCC unavailable"),
    "SignatureNonceUsed": N_("Request nonce reused"),
    "SignatureDoesNotMatch": N_("Wrong AccessKey secret"),
    "InvalidAccessKeySecret": N_("Wrong AccessKey secret"),
    "IncompleteSignature": N_("Incomplete signature"),
    "InvalidAccessKeyId.NotFound": N_("Unknown AccessKey id"),
    "Forbidden.AccessKey": N_("AccessKey not allowed"),
    "Forbidden.RAM": N_("No RAM permission"),
    "InvalidTimeStamp.Expired": N_("Worker clock wrong"),
    "IllegalTimestamp": N_("Worker clock wrong"),
}
# What each code means, a sentence long: the report's "meaning" column, `dialer rows`.
MEANINGS = {
    "Sheet.MissingValue": N_("The row lacked a caller, callee or broker."),
    "Sheet.InvalidNumber": N_("A phone number was not valid (scientific notation loses digits)."),
    "Sheet.TagsTooLong": N_("Tags longer than 128 bytes UTF-8."),
    "Sheet.InvalidTimeout": N_("TimeoutSeconds was not a whole number from 1 to 600."),
    "Sheet.DoNotCall": N_("The callee is on the do-not-call list."),
    "Sheet.Duplicate": N_("The callee already appeared earlier in this campaign."),
    "Sheet.UnsavedFormula": N_(
        "An XLSX formula had no saved result (the file was written by a program, never saved "
        "by Excel)."
    ),
    "Client.ReadTimeout": N_(
        "No answer in time after the request left: the call may have been placed, so it was "
        "not retried."
    ),
    "Client.ConnectionLost": N_("The connection broke after the request left: outcome unknown."),
    "Client.TornResponse": N_("CCC's answer arrived incomplete: outcome unknown."),
    "Client.ConnectFailed": N_("CCC could not be reached; retried."),
    "Client.ConnectTimeout": N_("CCC could not be reached in time; retried."),
    "Client.InvalidEndpoint": N_("The CCC endpoint is not a valid URL: fix the settings."),
    "Client.RequestFailed": N_("The request failed after it may have left: outcome unknown."),
    "Client.TagsTooLong": N_("Tags longer than 128 bytes UTF-8: not sent."),
    "Worker.Lost": N_(
        "The worker stopped while the request may have been in flight: outcome unknown."
    ),
    "Redis.ReplicationLag": N_(
        "Redis replicas did not confirm the call's claim in time: not placed; retried."
    ),
    "Worker.NoneHealthy": N_(
        "Every live worker is unhealthy (a wrong key or clock): the campaign was paused."
    ),
    "Cap.Callee": N_("The callee reached the per-callee call cap."),
    "Cap.PairGuard": N_("The same caller and callee were connected moments before."),
    "Dnc.Listed": N_(
        "The callee was on the do-not-call list (`dialer dnc`) when the call would have begun: "
        "not rung."
    ),
    "Schedule.Ended": N_(
        "The campaign's --end-at passed before this row was dialled (again): no call began "
        "after it."
    ),
    "Strategy.AgentMisses": N_(
        "The agents' phones rang out as many times as --max-agent-misses allows: the "
        "customer was never rung."
    ),
    "System.MissedRings": N_(
        "The agent's phone rang out --agent-missed-max times in a row: they are on break and "
        "rung no more until they press Ready."
    ),
    "System.WrapUpTimeout": N_(
        "The agent left a call's wrap-up open past --wrap-up-max-s: the call got the AUTO "
        "disposition and the agent is on break."
    ),
    "System.ScreenSilent": N_(
        "The agent's screen stopped answering for a minute: they are offline and rung no "
        "more until they sign in again."
    ),
    "Strategy.MaxContacts": N_(
        "The customer was rung as many times as --max-contacts allows; the last call's "
        "outcome is the row's."
    ),
    "Reconcile.Found": N_("Outcome was unknown; the call was then found in the call records."),
    "Reconcile.Pending": N_("Outcome unknown; still looking for the call in the call records."),
    "Reconcile.NotFound": N_(
        "Outcome unknown, and no such call in the call records by the campaign's reconcile "
        "horizon: most likely never placed. Not dialled again unless an operator runs "
        "`dialer redial`."
    ),
    "Reconcile.Unreadable": N_(
        "Outcome unknown: the call records could not be read up to the reconcile horizon. Not "
        "dialled again unless an operator runs `dialer redial`."
    ),
    "Reconcile.Unavailable": N_(
        "Outcome unknown: the key may not read call records (Forbidden.RAM). Not dialled "
        "again unless an operator runs `dialer redial`."
    ),
    "Records.Unreadable": N_("A call-record answer did not read as one; looked up again."),
    "Records.Incomplete": N_("A call record lacked a field it must have; looked up again."),
    "Records.TooMany": N_("More call records than one lookup may read; looked up again."),
    "Records.NotFound": N_(
        "Placed, but no call record came by the campaign's reconcile horizon: the outcome is "
        "not known."
    ),
    "Records.NoJobId": N_("Placed, but CCC gave no JobId: its call record cannot be looked up."),
    "Records.Unavailable": N_(
        "Placed; the key may not read call records (Forbidden.RAM), so the outcome is not fetched."
    ),
    "Operator.Redial": N_("An operator dialled the row again (`dialer redial`)."),
    "Operator.Pause": N_("An operator paused the campaign."),
    "Broker.NoneUsable": N_(
        "CCC refused every broker left (NotExists.Number): the campaign was paused."
    ),
    "Webhook.Gone": N_(
        "The webhook endpoint answered 410 Gone: it was disabled (`dialer webhooks ID "
        "--since TIME` redelivers and enables it)."
    ),
    "Webhook.Failing": N_(
        "The webhook endpoint failed too many times in a row: it was disabled (`dialer "
        "webhooks ID --since TIME` redelivers and enables it)."
    ),
    "Parameter.Blank": N_("A required parameter was empty (该参数不能为null或含有空白符的字符串)."),
    "Parameter.Invalid": N_("A parameter was not valid."),
    "Parameter.Maximum": N_("A parameter exceeded its maximum."),
    "Parameter.Minimum": N_("A parameter was below its minimum."),
    "NotExists.InstanceId": N_("The CCC instance does not exist (指定的呼叫中心实例不存在)."),
    "NotExists.Number": N_(
        "The broker is not a number of the instance (呼叫中心实例中不存在指定的号码)."
    ),
    "NotExists.ContactId": N_("CCC has no call with that id."),
    "NotExists.JobId": N_("CCC has no call with that id."),
    "InvalidAction.NotFound": N_("CCC does not know the action asked for."),
    "InternalService.CTI": N_(
        "CCC's telephony service failed internally (内部CTI服务错误); retried."
    ),
    "Throttling": N_("CCC throttled the request; retried with backoff."),
    "Throttling.User": N_("CCC throttled the account; retried with backoff."),
    "ServiceUnavailable": N_("CCC was unavailable; rows wait, none fail."),
    "SignatureNonceUsed": N_("A request's nonce was used before; retried with a fresh one."),
    "SignatureDoesNotMatch": N_("The AccessKey secret is wrong: the worker stopped dialling."),
    "InvalidAccessKeySecret": N_("The AccessKey secret is wrong: the worker stopped dialling."),
    "IncompleteSignature": N_("The request's signature was incomplete: the worker stopped."),
    "InvalidAccessKeyId.NotFound": N_("The AccessKey id is unknown: the worker stopped dialling."),
    "Forbidden.AccessKey": N_("The AccessKey may not be used: the worker stopped dialling."),
    "Forbidden.RAM": N_("The RAM user lacks permission: the campaign was paused."),
    "InvalidTimeStamp.Expired": N_("The worker's clock is wrong: the worker stopped dialling."),
    "IllegalTimestamp": N_("The worker's clock is wrong: the worker stopped dialling."),
}
CAMPAIGN_STATUSES = {
    "UPLOADING": N_("Uploading"),
    "READY": N_("Ready"),
    "RUNNING": N_("Running"),
    "PAUSED": N_("Paused"),
    "CANCELLED": N_("Cancelled"),
    "DONE": N_("Done"),
}
# Row states by their code.
ROW_STATES = {
    "PENDING": N_("Pending"),
    "QUEUED": N_("Queued"),
    "DIALING": N_("Dialing"),
    "DISPATCHED": N_("Dispatched"),
    "FAILED": N_("Failed"),
    "UNKNOWN": N_("Unknown"),
    "RETRY_WAIT": N_("Waiting to retry"),
    "CANCELLED": N_("Cancelled"),
    "REJECTED": N_("Rejected"),
}
STATUS_MEANINGS = {
    "PENDING": N_("not dialled yet"),
    "RETRY_WAIT": N_("waiting to be dialled again"),
    "DIALING": N_("being dialled now"),
    "DISPATCHED": N_("call placed: CCC accepted it"),
    "FAILED": N_("not placed, and not retried any more"),
    "UNKNOWN": N_("may have been placed: never retried blindly"),
    "CANCELLED": N_("not dialled: the campaign was cancelled"),
    "REJECTED": N_("not dialled: the sheet row was invalid"),
}
# How a placed call ended, from its call record (dialer.records.rules.OUTCOMES).
OUTCOMES = {
    "CONNECTED": N_("Connected"),
    "CALLEE_NO_ANSWER": N_("Customer did not answer"),
    "CALLER_NO_ANSWER": N_("Agent did not answer"),
    "BUSY": N_("Busy"),
    "REJECTED_BY_CARRIER": N_("Refused by the carrier"),
    "FAILED_OTHER": N_("Other, not connected"),
}
OUTCOME_MEANINGS = {
    "CONNECTED": N_("both sides answered and talked"),
    "CALLEE_NO_ANSWER": N_("the customer did not answer"),
    "CALLER_NO_ANSWER": N_("the agent (rung first) did not answer; the customer was not dialled"),
    "BUSY": N_("the line was busy"),
    "REJECTED_BY_CARRIER": N_("the carrier refused the call (frequency limit, blacklist, ...)"),
    "FAILED_OTHER": N_("ended unconnected for another reason"),
}
# The sheet's fields and the preview's own columns.
COLUMNS = {
    "row": N_("Row"),
    "caller": N_("Caller"),
    "callee": N_("Callee"),
    "broker": N_("Broker"),
    "additional_broker": N_("Additional broker"),
    "timeout_seconds": N_("Timeout (s)"),
    "tags": N_("Tags"),
    "reason": N_("Reason"),
    "detail": N_("Detail"),
}
