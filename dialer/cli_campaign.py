"""Campaign commands of the `dialer` CLI (upload, start, pause, status, export, ...)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the campaign subcommands to the `dialer` parser."""
