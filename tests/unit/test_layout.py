"""House rules that code review would otherwise have to remember."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("dialer", "tasks") for p in (ROOT / d).rglob("*.py")]


def test_redis_keys_are_spelled_only_in_keys_py() -> None:
    key_literal = re.compile(r"""["'][^"'\n]*:(?:c|pace|cap|pair|campaigns|running|records):""")
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in SOURCES
        if p.name != "keys.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if key_literal.search(line)
    ]
    assert offenders == []


def test_only_settings_reads_the_environment() -> None:
    readers = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if re.search(r"os\.environ(?:\.get|\[)|os\.getenv", p.read_text())
        and p.name != "settings.py"
    ]
    assert readers == []


def test_the_library_does_not_import_celery_at_module_level() -> None:
    for path in (ROOT / "dialer").rglob("*.py"):
        top_level = [line for line in path.read_text().splitlines() if not line.startswith(" ")]
        assert not any(re.match(r"(from|import) (celery|tasks)\b", line) for line in top_level), (
            path
        )
