"""The dialer's exception tree.

DialerError
├── SheetError              a campaign file that cannot be used at all (file, row, column, reason)
├── ConfigError             missing or malformed settings
│   └── OptionError         a command-line option value that cannot be used (names the option)
├── CampaignNotFound        no campaign with that id
├── WrongStatus             the campaign's status does not allow this (deleting a running one)
├── StoreError              Redis answered an error (dialer.engine.client translates)
│   └── StoreUnavailable    Redis cannot be reached now (lost connection, timeout, loading):
│                           transient, whoever acts waits and tries again
├── AccountError            an account that cannot be made or changed so (bad name, role, phone)
│   └── AccountNotFound     no account by that name
└── CccError                an answer (or non-answer) from CCC; carries code, http_status,
    │                       request_id, message
    ├── PermanentCallError  this row can never succeed (Parameter.*, unknown 4xx)
    ├── BrokerUnavailable   NotExists.Number: stop using this broker number
    ├── CampaignFatal       NotExists.InstanceId, Forbidden.RAM: pause the campaign
    ├── WorkerFatal         bad credentials, clock skew: this worker's key or clock, not the
    │                       campaign's: the worker stops taking calls, the others carry on
    ├── TransientCallError  InternalService.CTI, other 5xx: CCC answered about the call;
    │   │                   retry later, an attempt used
    │   └── NotPlaced       the request certainly placed nothing and says nothing about the
    │       │               row: it waits again without using an attempt
    │       ├── CccUnreachable  refused connection, DNS, TLS, connect timeout, a 502/503 from
    │       │                   in front of CCC: counted by the circuit breaker
    │       └── Throttled   Throttling*, a reused nonce: CCC is there but refused to act now
    ├── OutcomeUnknown      the request may have reached CCC (read timeout, torn answer):
    │                       never retry blindly
    └── RecordsUnreadable   a call-record lookup answered (200) with something that is not
                            a call record: a failed lookup to retry with backoff, never
                            "no such call" and never an outcome

Which CCC answer becomes which class is decided in exactly one place:
`dialer.ccc.outcomes.classify`.
"""

from __future__ import annotations

import re

MESSAGE_MAX_CHARS = 300


def clip(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """`text` on one line and at most `limit` characters: a message may quote what the operator
    gave us (a header, a cell), and a 1 MB garbage file must not become a 1 MB line."""
    flat = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class DialerError(Exception):
    """Base of every error the dialer raises on purpose."""


class ConfigError(DialerError):
    """Settings are missing or malformed."""


class StoreError(DialerError):
    """Redis answered an error."""


class StoreUnavailable(StoreError):
    """Redis cannot be reached now: a lost connection, a timeout, a server still loading."""


class OptionError(ConfigError):
    """A command-line option value that cannot be used."""

    def __init__(self, option: str, reason: str) -> None:
        self.option = option
        self.reason = reason
        super().__init__(f"{option}: {reason}")


class CampaignNotFound(DialerError):
    """No campaign with the given id exists in this Redis namespace."""


class WrongStatus(DialerError):
    """The campaign's status (or rows still being dialled) does not allow what was asked."""


class AccountError(DialerError):
    """An account that cannot be created or changed as asked."""


class AccountNotFound(AccountError):
    """No account by that name."""


class SheetError(DialerError):
    """A campaign sheet that cannot be used at all."""

    def __init__(
        self, file: str, reason: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        self.file = file
        self.reason = clip(reason)
        self.row = row
        self.column = column
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason}")


class CccError(DialerError):
    """CCC refused the request, or its fate is not known."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        params: tuple[str, ...] = (),
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        # CCC's Params (the values its message quotes): for the program, never shown.
        self.params = params
        status = f" (HTTP {http_status})" if http_status is not None else ""
        super().__init__(f"{code}{status}: {message}" if message else f"{code}{status}")


class PermanentCallError(CccError):
    """This row can never succeed as it stands."""


class BrokerUnavailable(CccError):
    """The broker number is not usable in this instance."""


class CampaignFatal(CccError):
    """Nothing in this campaign can succeed until an operator fixes something."""


class WorkerFatal(CccError):
    """Nothing this worker sends can be accepted (its access key or clock): the worker must
    stop dialling; a row it tried is untouched."""


class TransientCallError(CccError):
    """The call was certainly not placed; trying again later may succeed."""


class NotPlaced(TransientCallError):
    """CCC certainly did not act on the request, and the refusal says nothing about the row:
    trying it again costs the row no attempt."""


class CccUnreachable(NotPlaced):
    """No answer from CCC itself: the connection failed before the request was sent, or
    something in front of CCC answered for it (a 502 or 503). What the breaker counts."""


class Throttled(NotPlaced):
    """CCC (or its gateway) answered but would not act on the request now."""


class OutcomeUnknown(CccError):
    """The request may have reached CCC and placed the call."""


class RecordsUnreadable(CccError):
    """A call-record answer that does not read as call records (no Data, no List, a record
    without ContactId or StartTime, a time that is not a number). The lookup failed: it says
    nothing about whether the call exists or how it ended."""
