"""The README and docs/ stay true: every relative link leads somewhere (a file, and a heading
when it names one), and every `dialer …` command they show parses with the real parser.

Commands come from fenced code blocks (a line starting `dialer` or `$ dialer`, with its
indented or `\\`-continued lines) and from inline code. Synopsis notation is expanded before
parsing: `[--opt V]` keeps its contents, a bracketed phrase that is no option (`[upload
options]`) is dropped, `...` is dropped, `a|b` is tried once per alternative, a PLACEHOLDER
becomes a sample value (by command and option where the value depends on them), and an elided
value such as `138…` or `ccc-…` is filled in. A command in a code block must parse whole. An
inline mention names a command and some of its options (`dialer export --encoding`): every
option it names must exist and every value it gives must pass, but it may leave out what is
required. `--help` lines are skipped."""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)

# Sample values for the placeholders the docs use. (command, option) first, then the option,
# then the placeholder alone.
BY_COMMAND_OPTION = {
    ("list", "--status"): "DONE",
    ("rows", "--status"): "FAILED",
    ("rows", "--state"): "FAILED",
}
BY_OPTION = {
    "--timeout-seconds": "30",
    "--limit": "100",
    "--start-at": "2026-12-07 09:30",
    "--end-at": "2026-12-07 18:00",
}
PLACEHOLDERS = {
    "ID": "3f2a9c01",
    "SHEET": "customers.csv",
    "FILE": "file.txt",
    "NAME": "Sheet1",
    "N": "02151234567",
    "B": "02151234567",
    "B2": "02151234568",
    "I": "ccc-test",
    "C": "Reconcile.NotFound",
    "T": "tag",
    "CALLER": "13800000000",
    "CALLEE": "13900000000",
    "NUMBER=RATE": "02151234567=2/s",
    "URL events=call.*,row.finished": "https://crm.example/hooks events=call.*,row.finished",
    "whsec_…": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
    "NUMBER": "13900000000",
    "OUTCOME=DELAY": "CALLEE_NO_ANSWER=30m",
}


@dataclass(frozen=True)
class Command:
    where: str  # file:line
    text: str
    inline: bool


def blank(match: re.Match[str]) -> str:
    """The match's text as spaces, its line breaks kept: positions stay where they were."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def commands(path: Path) -> list[Command]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT)
    found: list[Command] = []
    for block in FENCE.finditer(text):
        lines = block.group(0).splitlines()[1:-1]
        first = _line_of(text, block.start()) + 1
        i = 0
        while i < len(lines):
            line = re.sub(r"^\$\s+", "", lines[i])
            start = i
            i += 1
            if not line.startswith("dialer "):
                continue
            while line.rstrip().endswith("\\") and i < len(lines):
                line = line.rstrip()[:-1] + " " + lines[i].strip()
                i += 1
            while i < len(lines) and lines[i].startswith((" ", "\t")) and lines[i].strip():
                line += " " + lines[i].strip()  # a synopsis continued on indented lines
                i += 1
            found.append(Command(f"{name}:{first + start}", line, inline=False))
    prose = FENCE.sub(blank, text)
    spans = [(m.start(), m.group(1)) for m in re.finditer(r"``\s?(.+?)\s?``", prose, re.S)]
    prose = re.sub(r"``.+?``", blank, prose, flags=re.S)
    spans += [(m.start(), m.group(1)) for m in re.finditer(r"`([^`]+)`", prose)]
    for pos, span in spans:
        for inner in re.findall(r"`([^`]+)`", span) if "`" in span else [span]:
            inner = " ".join(inner.split())
            if inner.startswith("dialer ") or inner == "dialer":
                found.append(Command(f"{name}:{_line_of(text, pos)}", inner, inline=True))
    # `dialer …` alone names the commands in general, not one of them.
    return [c for c in found if "--help" not in c.text.split() and c.text != "dialer …"]


def expand(text: str) -> list[list[str]]:
    """The argv lists a synopsis line stands for (without the leading `dialer`)."""
    text = re.sub(r"\s+#.*$", "", text).rstrip(" &")  # a comment; a command sent to background
    text = re.sub(r"\[(?!-)[^\]]*\]", " ", text)  # [upload options]: no option, dropped
    text = text.replace("[", " ").replace("]", " ").replace("...", " ")
    words = shlex.split(text)[1:]
    choices = [w.split("|") if "|" in w and not w.startswith("'") else [w] for w in words]
    return [list(argv) for argv in itertools.islice(itertools.product(*choices), 64)]


def fill(argv: list[str]) -> list[str]:
    command = argv[0] if argv else ""
    out: list[str] = []
    for i, word in enumerate(argv):
        option = argv[i - 1] if i else ""
        if (command, option) in BY_COMMAND_OPTION and word.isupper():
            word = BY_COMMAND_OPTION[command, option]
        elif option in BY_OPTION and word.isupper():
            word = BY_OPTION[option]
        elif word in PLACEHOLDERS:
            word = PLACEHOLDERS[word]
        elif word.endswith("…"):  # an elided value: 138… is a number, ccc-… a name
            head = word[:-1]
            word = head.ljust(11, "0") if head.isdigit() else head + "x"
        out.append(word)
    return out


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            if name not in action.choices:
                raise AssertionError(f"no command `dialer {name}`")
            return action.choices[name]  # type: ignore[no-any-return]
    raise AssertionError("the parser has no subcommands")


def parse(argv: list[str], inline: bool) -> None:
    parser = build_parser()
    if inline:
        sub = subcommand(parser, argv[0]) if argv else parser
        # A group's verb (`dialer dnc list`) has options of its own.
        if len(argv) > 1 and any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            sub = subcommand(sub, argv[1])
        known = {**parser._option_string_actions, **sub._option_string_actions}
        for word in argv[1:]:
            if word.startswith("-") and not re.fullmatch(r"-\d.*", word):
                assert word.split("=")[0] in known, f"`dialer {argv[0]}` has no option {word}"
        last = known.get(argv[-1]) if len(argv) > 1 else None
        if last is not None and last.nargs != 0:
            argv = argv[:-1]  # `dialer export --encoding`: the option is named, not used
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv)
    except SystemExit as exc:
        message = err.getvalue().strip()
        if inline and "the following arguments are required" in message:
            return
        raise AssertionError(message or f"exit status {exc.code}") from None


ALL_COMMANDS = [c for path in DOCS for c in commands(path)]


def test_the_docs_show_commands() -> None:
    # Guards the extraction itself: the README's synopsis and the docs' examples are found.
    assert len(ALL_COMMANDS) > 50
    assert any(c.text.startswith("dialer upload SHEET") and not c.inline for c in ALL_COMMANDS)
    assert any(c.inline for c in ALL_COMMANDS)


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: f"{c.where} {c.text[:40]}")
def test_every_dialer_command_in_the_docs_parses(command: Command) -> None:
    for argv in expand(command.text):
        try:
            parse(fill(argv), command.inline)
        except AssertionError as exc:
            raise AssertionError(f"{command.where}: `{command.text}` → {argv}: {exc}") from None


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(text):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    prose = re.sub(r"`[^`\n]*`", blank, FENCE.sub(blank, text))
    return [(_line_of(prose, m.start()), m.group(1)) for m in LINK.finditer(prose)]


def test_the_docs_have_links() -> None:
    assert len(DOCS) >= 11
    readme = {target for _, target in links(ROOT / "README.md")}
    assert {f"docs/{p.name}" for p in DOCS[1:]} <= readme  # the README links every page


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for line, target in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(f"{path.name}:{line} {target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{path.name}:{line} {target}: no such heading")
    assert broken == []


def test_the_modules_the_docs_name_exist() -> None:
    """A path such as `dialer/records/poller.py` leads to a file; in the architecture page's
    package table a bare `poller.py` is looked for in its row's package, elsewhere anywhere
    in the code."""
    code = {p.name for d in ("dialer", "tasks") for p in (ROOT / d).rglob("*.py")}
    missing = []
    for path in DOCS:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = re.match(r"\| `([\w/]+/)` \|", line) if path.name == "architecture.md" else None
            for name in re.findall(r"`([\w/.*-]+\.(?:py|lua|po))`", line):
                if row:
                    found = any((ROOT / row.group(1)).glob(name))
                elif "/" in name or "*" in name:
                    found = any(ROOT.glob(name))
                else:
                    found = name in code or any(ROOT.rglob(name))
                if not found:
                    missing.append(f"{path.name}:{n} {name}")
    assert missing == []
