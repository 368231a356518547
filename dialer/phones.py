"""Phone number helpers shared by logging, ingest and export."""

from __future__ import annotations


def mask_number(number: str | None) -> str:
    """Mask the last four digits the way the vendor's examples do: 13918140000 -> 1391814****."""
    if not number:
        return ""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:-4] + "****"
