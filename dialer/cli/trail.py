"""`audited`: the one way a command run on a shell lands in the audit trail, recorded as the
OS user who ran it (the shell has no account: whoever may run `dialer` may do anything)."""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dialer.accounts.audit import Outcome, Trail
from dialer.engine import open_accounts
from dialer.errors import DialerError
from dialer.settings import Settings

SHELL_ROLE = "shell"


def shell_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no name
        return f"uid:{os.getuid()}"


def open_trail(settings: Settings) -> Trail:
    return Trail(open_accounts(settings), settings.audit_retention_days)


@contextmanager
def audited(
    settings: Settings, action: str, target: str = "", **detail: Any
) -> Iterator[dict[str, Any]]:
    """Record `action` on `target` when the block ends: done, or failed with the error's kind.
    The block may add to the yielded dict (a new campaign's id as "target", counts)."""
    extra: dict[str, Any] = {}
    who, where = shell_user(), f"cli@{socket.gethostname()}"

    def record(outcome: Outcome, more: dict[str, Any]) -> None:
        aimed = str(extra.pop("target", target))
        open_trail(settings).record(
            who,
            action,
            role=SHELL_ROLE,
            address=where,
            target=aimed,
            outcome=outcome,
            detail={**detail, **extra, **more},
        )

    try:
        yield extra
    except DialerError as exc:
        # As in the console: a failed change with nothing to aim at yet (an unusable sheet's
        # upload) created nothing and leaves no trace. The command's own error is what the
        # operator must see, even when Redis (and so the trail) is what failed.
        if extra.get("target", target):
            with contextlib.suppress(Exception):
                record(Outcome.FAILED, {"error": type(exc).__name__})
        raise
    record(Outcome.OK, {})
