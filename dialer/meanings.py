"""What the codes, row states and call outcomes of a results sheet mean, in words an operator
reads (the vendor's own where it has them)."""

from __future__ import annotations

# What the codes a results sheet can carry mean, in the vendor's words where it has them.
MEANINGS = {
    "Parameter.Blank": "A required parameter was empty (该参数不能为null或含有空白符的字符串).",
    "Parameter.Maximum": "A parameter exceeded its maximum.",
    "NotExists.InstanceId": "The CCC instance does not exist (指定的呼叫中心实例不存在).",
    "NotExists.Number": "The broker is not a number of the instance "
    "(呼叫中心实例中不存在指定的号码).",
    "InternalService.CTI": "CCC's telephony service failed internally (内部CTI服务错误); retried.",
    "Throttling.User": "CCC throttled the account; retried with backoff.",
    "Throttling": "CCC throttled the request; retried with backoff.",
    "SignatureDoesNotMatch": "The AccessKey secret is wrong: the campaign was paused.",
    "InvalidAccessKeyId.NotFound": "The AccessKey id is unknown: the campaign was paused.",
    "Forbidden.RAM": "The RAM user lacks permission: the campaign was paused.",
    "Client.ReadTimeout": "No answer in time after the request left: the call may have been "
    "placed, so it was not retried.",
    "Client.ConnectionLost": "The connection broke after the request left: outcome unknown.",
    "Client.TornResponse": "CCC's answer arrived incomplete: outcome unknown.",
    "Client.ConnectFailed": "CCC could not be reached; retried.",
    "Worker.Lost": "The worker stopped while the request may have been in flight: outcome unknown.",
    "Cap.Callee": "The callee reached the per-callee call cap.",
    "Cap.PairGuard": "The same caller and callee were connected moments before.",
    "Sheet.MissingValue": "The row lacked a caller, callee or broker.",
    "Sheet.InvalidNumber": "A phone number was not valid (scientific notation loses digits).",
    "Sheet.TagsTooLong": "Tags longer than 128 bytes UTF-8.",
    "Sheet.InvalidTimeout": "TimeoutSeconds was not a whole number from 1 to 600.",
    "Sheet.Duplicate": "The callee already appeared earlier in this campaign.",
    "Sheet.DoNotCall": "The callee is on the do-not-call list.",
    "Reconcile.NotFound": "Outcome unknown, and no such call in the call records by the "
    "campaign's reconcile horizon: most likely never placed. Not dialled again unless an "
    "operator runs `dialer redial`.",
    "Reconcile.Unreadable": "Outcome unknown: the call records could not be read up to the "
    "reconcile horizon. Not dialled again unless an operator runs `dialer redial`.",
    "Reconcile.Unavailable": "Outcome unknown: the key may not read call records "
    "(Forbidden.RAM). Not dialled again unless an operator runs `dialer redial`.",
    "Operator.Redial": "An operator dialled the row again (`dialer redial`).",
}
STATUS_MEANINGS = {
    "PENDING": "not dialled yet",
    "RETRY_WAIT": "waiting to be dialled again",
    "DIALING": "being dialled now",
    "DISPATCHED": "call placed: CCC accepted it",
    "FAILED": "not placed, and not retried any more",
    "UNKNOWN": "may have been placed: never retried blindly",
    "CANCELLED": "not dialled: the campaign was cancelled",
    "REJECTED": "not dialled: the sheet row was invalid",
}
OUTCOME_MEANINGS = {
    "CONNECTED": "both sides answered and talked",
    "CALLEE_NO_ANSWER": "the customer did not answer",
    "CALLER_NO_ANSWER": "the agent (rung first) did not answer; the customer was not dialled",
    "BUSY": "the line was busy",
    "REJECTED_BY_CARRIER": "the carrier refused the call (frequency limit, blacklist, ...)",
    "FAILED_OTHER": "ended unconnected for another reason",
}
