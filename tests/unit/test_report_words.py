"""The report's words: translated, escaped once, a command in backticks shown as code."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dialer.i18n.meanings import MEANINGS
from dialer.results.report import _Page


def test_a_meaning_is_escaped_once_and_its_command_shown_as_code() -> None:
    page = _Page(ZoneInfo("Asia/Shanghai"), "en")
    redial = page.word(MEANINGS, "Operator.Redial")
    assert redial == "An operator dialled the row again (<code>dialer redial</code>)."
    assert page.word(MEANINGS, "Records.NotFound").count("campaign&#39;s") == 1
    assert page.word(MEANINGS, "No.Such.Code") == ""
    chinese = _Page(ZoneInfo("Asia/Shanghai"), "zh_CN").word(MEANINGS, "Operator.Redial")
    assert "<code>dialer redial</code>" in chinese and "`" not in chinese
