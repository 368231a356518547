"""House rules that code review would otherwise have to remember."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("dialer", "tasks") for p in (ROOT / d).rglob("*.py")]
LIBRARY = [p for p in (ROOT / "dialer").rglob("*.py")]
# The CLI sits above both the library and the Celery layer: it may start in-process workers.
CLI = ROOT / "dialer" / "cli"
ENGINE = ROOT / "dialer" / "engine"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module this file imports, at any depth (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_redis_keys_are_spelled_only_in_keys_py() -> None:
    key_literal = re.compile(
        r"""["'][^"'\n]*:(?:c|pace|last|account|cap|pair|campaigns|running|sleeping|records|celery):"""
    )
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in SOURCES
        if p.name != "keys.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if key_literal.search(line)
    ]
    assert offenders == []


def test_only_the_engine_package_imports_redis() -> None:
    """The engine owns Redis: nobody else holds a client or catches a Redis error (the engine's
    client raises the dialer's own)."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imports(p) if re.match(r"redis\b", m))
        for p in SOURCES
        # tasks/broker.py patches kombu's Redis transport: the Celery layer's own concern.
        if ENGINE not in p.parents and p.parent != ROOT / "tasks"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_package_imports_the_cli() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imports(p) if re.match(r"dialer\.cli\b", m))
        for p in SOURCES
        if CLI not in p.parents
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_web_layer_reaches_the_library_through_its_backend() -> None:
    """Only web/backend.py (campaigns) and web/people.py (accounts, the audit trail) call into
    the library's packages; the other web modules take the shared top-level modules
    (settings, errors, models, phones, …) and the catalogue."""
    shared = {module_name(p) for p in (ROOT / "dialer").glob("*.py")}
    allowed = re.compile(r"dialer\.(web|i18n)\b")
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m
            for m in imports(p)
            if m.startswith("dialer.")
            and not allowed.match(m)
            and m not in shared
            and m.rsplit(".", 1)[0] not in shared
        )
        for p in (ROOT / "dialer" / "web").rglob("*.py")
        if p.name not in ("backend.py", "people.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_repeats_its_package_name() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES if p.stem == p.parent.name]
    assert offenders == []


def test_only_settings_reads_the_environment() -> None:
    readers = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if re.search(r"os\.environ(?:\.get|\[|\.update)|os\.getenv|putenv", p.read_text())
        and p.name != "settings.py"
    ]
    assert readers == []


def test_the_library_never_imports_celery_or_tasks() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imports(p) if re.match(r"(celery|tasks)\b", m))
        for p in LIBRARY
        if CLI not in p.parents
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_cycles() -> None:
    names = {module_name(p): p for p in SOURCES}
    graph = {
        name: {m for m in imports(path) if m in names and m != name} for name, path in names.items()
    }
    # A package imports its own modules; that is not a cycle through them.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str], done: set[str]) -> None:
        for nxt in graph[node]:
            if nxt in stack:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*stack, nxt], done)
        done.add(node)

    done: set[str] = set()
    for name in graph:
        if name not in done:
            visit(name, [name], done)
    assert cycles == []


def test_importing_the_packages_does_no_work(tmp_path) -> None:
    """No app is built, no Redis is started or contacted, at import."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    code = (
        "import dialer, dialer.cli.main, dialer.engine, tasks, tasks.app, tasks.calls, "
        "tasks.embedded\nimport sys; print('tasks.celery' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert list(tmp_path.iterdir()) == []  # no embedded redis-server data directory
