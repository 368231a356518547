"""The pages as a browser receives them: signed-in only, in Chinese or English from
Accept-Language or the switch, every word from the catalogue (tests/unit/test_catalogue.py),
every asset from the package."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from web_support import TOKEN, sheet

from dialer.web import language

WEB = Path(language.__file__).parent


def signed_in(console, language: str | None = None) -> requests.Session:
    browser = requests.Session()
    if language:
        browser.headers["Accept-Language"] = language
    browser.post(console.url + "/login", data={"token": TOKEN}, timeout=10)
    return browser


def test_accept_language_picks_the_language_and_the_switch_overrides_it(console) -> None:
    for header, lang, word in (
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "登录"),
        ("en-US,en;q=0.9", "en", "Sign in"),
        ("fr-FR, zh;q=0.5", "zh-CN", "登录"),
        ("", "en", "Sign in"),
    ):
        page = requests.get(
            console.url + "/login", headers={"Accept-Language": header}, timeout=10
        ).text
        assert f'<html lang="{lang}">' in page and word in page, header
    browser = signed_in(console, "en")
    browser.get(console.url + "/lang/zh_CN?next=/campaigns", timeout=10)
    page = browser.get(console.url + "/campaigns", timeout=10).text
    assert '<html lang="zh-CN">' in page and "新建任务" in page
    browser.get(console.url + "/lang/en", timeout=10)
    assert "New campaign" in browser.get(console.url + "/campaigns", timeout=10).text


def test_pages_need_a_session(console) -> None:
    for path in ("/campaigns", "/campaigns/new", "/campaigns/0123456789ab"):
        response = requests.get(console.url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    assert requests.get(console.url + "/static/app.css", timeout=10).status_code == 200


def test_campaign_pages_show_chinese_names_statuses_and_reasons(console) -> None:
    cid = console.create(sheet(3, bad=("12345",)), name="三月回访.csv")["id"]
    browser = signed_in(console, "zh-CN")
    listing = browser.get(console.url + "/campaigns", timeout=10).text
    assert "三月回访.csv" in listing and "就绪" in listing and f'href="/campaigns/{cid}"' in listing
    page = browser.get(f"{console.url}/campaigns/{cid}", timeout=10).text
    assert "<title>三月回访 · 外呼控制台</title>" in page
    assert "被拒绝的行" in page and "号码无效" in page  # the reason word, for the script
    missing = browser.get(console.url + "/campaigns/0123456789ab", timeout=10)
    assert missing.status_code == 404 and "没有编号为 0123456789ab 的任务" in missing.text


def test_user_data_is_escaped_in_pages(console) -> None:
    cid = console.create(sheet(2), name="<img src=x onerror=alert(1)>.csv")["id"]
    browser = signed_in(console)
    for path in (f"/campaigns/{cid}", "/campaigns"):
        page = browser.get(console.url + path, timeout=10).text
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_every_asset_ships_in_the_package() -> None:
    external = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("static/*")]:
        text = path.read_text(encoding="utf-8")
        assert not external.search(text), path
        assert "@import" not in text and "url(http" not in text, path
    for asset in ("app.css", "common.js", "new.js", "campaign.js", "campaigns.js"):
        assert (WEB / "static" / asset).exists()


def test_the_pages_get_every_data_word_translated() -> None:
    words = language.words("zh_CN")
    assert words["reasons"]["Operator.Pause"] == "操作员手动暂停"
    assert words["waits"]["caller"].startswith("{rows} 行在等主叫坐席")
    assert words["caller_now"] == {"in a call": "通话中", "wrap-up": "话后整理", "free": "空闲"}
    assert words["stall_causes"]["no_feeder"].startswith("没有 worker")
