"""The one catalogue (dialer/i18n/locale) of the console's pages and the HTML report: it holds every
message the code and templates use and nothing else, translated with the same slots, and it
has words for every reason code the code can emit — codes found in the code itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from dialer.campaign.activity import PAUSE_CODES, STALL_TEXT, WAIT_TEXT, StallCause, WaitFor
from dialer.campaign.status import CallerNow
from dialer.ccc import outcomes
from dialer.i18n import catalogue as i18n
from dialer.i18n import meanings

ROOT = Path(__file__).resolve().parents[2]
DIALER = ROOT / "dialer"
KEYWORDS = ("_", "N_")
CODE = re.compile(r"[A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)+")  # Sheet.InvalidNumber, Cap.Callee


def catalogue() -> dict[str, str]:
    """Translated entries; a fuzzy one is left out, as Babel leaves it out of the pages."""
    with open(i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id and not m.fuzzy}


def marked_in_python() -> dict[Path, set[str]]:
    """Literal messages of `_()`, `x._()` and `N_()` calls, read from the syntax tree (which,
    unlike an extractor, also sees inside f-strings)."""
    found: dict[Path, set[str]] = {}
    for path in DIALER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if (
                name in KEYWORDS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.setdefault(path, set()).add(first.value)
    return found


def test_the_catalogue_translates_every_message_and_nothing_else() -> None:
    python = marked_in_python()
    for path, messages in python.items():
        extracted = {
            m[1] for m in extract_from_file("python", path, keywords=dict.fromkeys(KEYWORDS))
        }
        # pybabel (dialer/i18n/babel.cfg) must see them too, or an update drops their translations.
        assert messages <= extracted, f"{path}: a _() inside an f-string: {messages - extracted}"
    templates = extract_from_dir(
        ROOT,
        [("dialer/web/templates/**.html", "jinja2")],
        {"dialer/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": None},
    )
    used = set().union(*python.values()) | {m[2] for m in templates}
    known = catalogue()
    assert used - set(known) == set(), "messages missing from the catalogue"
    assert set(known) - used == set(), "stale catalogue entries"
    assert [k for k, v in known.items() if not v] == []


def test_translations_keep_every_slot_of_their_message() -> None:
    slots = re.compile(r"\{\w*\}|%\(\w+\)s")
    wrong = {
        k: v for k, v in catalogue().items() if sorted(slots.findall(k)) != sorted(slots.findall(v))
    }
    assert wrong == {}


def emitted_codes() -> dict[str, str]:
    """Every reason code the library can put in a result, a pause reason or a status, found in
    its own code: string literals shaped like a code in Python and Lua (the simulator's are
    CCC's own), and CCC's codes the error tables name without a dot."""
    found: dict[str, str] = {}
    for path in DIALER.rglob("*.py"):
        # The console's own API error codes are not row or campaign reasons; meanings is the table.
        if "web" in path.relative_to(DIALER).parts or path.name == "meanings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and CODE.fullmatch(node.value)
            ):
                found.setdefault(node.value, str(path.relative_to(ROOT)))
    for path in (DIALER / "engine" / "lua").glob("*.lua"):
        for value in re.findall(r"""['"]([^'"\s]+)['"]""", path.read_text(encoding="utf-8")):
            if CODE.fullmatch(value):
                found.setdefault(value, str(path.relative_to(ROOT)))
    tables = (
        outcomes._CAMPAIGN_FATAL_CODES | outcomes._WORKER_FATAL_CODES | outcomes._THROTTLED_CODES
    )
    for value in tables | set(PAUSE_CODES.values()):
        found.setdefault(value, "dialer/ccc/outcomes.py or dialer/campaign/activity.py")
    return found


def test_every_reason_code_the_code_can_emit_has_a_label_and_a_meaning() -> None:
    codes = emitted_codes()
    assert {
        "Sheet.InvalidNumber",
        "Worker.Lost",
        "Cap.Callee",
        "Cap.PairGuard",
        "NotExists.Number",
        "Reconcile.NotFound",
        "SignatureDoesNotMatch",
        "Operator.Pause",
    } <= set(codes)
    assert {c: where for c, where in codes.items() if c not in meanings.REASONS} == {}
    assert set(meanings.REASONS) == set(meanings.MEANINGS)
    zh = i18n.translations("zh_CN").gettext
    assert zh(meanings.REASONS["Cap.PairGuard"]) == "同一主被叫刚刚通过话"
    assert zh(meanings.REASONS["Operator.Pause"]) == "操作员手动暂停"


def test_what_a_campaign_waits_for_and_why_it_stalls_have_words() -> None:
    assert set(WAIT_TEXT) == set(WaitFor) and set(STALL_TEXT) == set(StallCause)
    known = catalogue()
    for message in [*WAIT_TEXT.values(), *STALL_TEXT.values(), *(c.value for c in CallerNow)]:
        assert known.get(message), message


def test_every_code_of_the_data_words_has_a_word() -> None:
    from dialer.models import CampaignStatus, RowState
    from dialer.records.rules import OUTCOMES

    assert set(meanings.ROW_STATES) == {s.value for s in RowState}
    assert set(meanings.CAMPAIGN_STATUSES) == {s.value for s in CampaignStatus}
    assert set(meanings.OUTCOMES) == set(meanings.OUTCOME_MEANINGS) == set(OUTCOMES)


def test_negotiation_respects_quality_values() -> None:
    assert i18n.negotiate("en;q=0.4, zh-Hans;q=0.8") == "zh_CN"
    assert i18n.negotiate("zh-TW;q=0.9, en;q=0.8") == "en"
    assert i18n.negotiate("zh;q=0, en") == "en"
    assert i18n.negotiate("de") == "en"
