"""People in a real headless Chromium (Debian's): signing in with a name and password, the
audit trail page of a supervisor, the 403 page of a viewer — with a screenshot of each."""

from __future__ import annotations

import pytest
import redis
from playwright.sync_api import expect
from test_web_browser import EXPECT_MS, screenshot

from dialer.accounts.directory import Directory
from dialer.engine import AccountStore, Keys

pytestmark = pytest.mark.timeout(120)
PASSWORD = "grey-Heron-7734-quartz"


@pytest.fixture
def people(console, redis_server, namespace):
    client = redis.Redis.from_url(redis_server.url)
    directory = Directory(AccountStore(client, Keys(namespace)))
    for name, role in (("li-wei", "supervisor"), ("guest", "viewer")):
        directory.add(name, role)
        directory.set_password(name, PASSWORD)
    yield directory
    client.close()


def sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(url + "/campaigns")
    expect(page).to_have_url(url + "/login?next=/campaigns")
    page.get_by_label("Account name").or_(page.get_by_label("用户名")).fill(name)
    page.get_by_label("Password", exact=True).or_(page.get_by_label("密码", exact=True)).fill(
        password
    )
    page.keyboard.press("Enter")


def test_a_supervisor_signs_in_by_password_and_reads_the_audit_trail(
    browser, console, people, tmp_path
) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    sign_in(page, console.url, "li-wei", "wrong password")
    expect(page.locator("#login-error")).to_be_visible()
    screenshot(page, tmp_path, "sign-in-en.png")
    sign_in(page, console.url, "li-wei", PASSWORD)
    expect(page).to_have_url(console.url + "/campaigns")
    expect(page.locator("#signed-in-as")).to_have_text("li-wei")
    page.get_by_role("link", name="Audit trail").click()
    expect(page).to_have_url(console.url + "/audit")
    table = page.locator("#audit")
    expect(table.locator("tr.o-failed").first).to_contain_text("sign-in")
    expect(table.locator("tr.o-ok").first).to_contain_text("li-wei")
    screenshot(page, tmp_path, "audit-en.png")

    page.get_by_role("link", name="Account").click()
    page.get_by_label("What it is for").fill("wallboard")
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("#token-shown")
    expect(shown).to_contain_text("dlr_")
    expect(page.locator("#tokens")).to_contain_text("wallboard")
    page.get_by_label("New password (at least 10 characters)").fill("another-long-password")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#password-done")).to_be_visible()
    screenshot(page, tmp_path, "account-en.png")
    token = shown.inner_text().split()[-1]
    me = page.request.get(console.url + "/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["via"] == "api-token" and me.json()["name"] == "li-wei"
    context.close()


def test_a_viewer_gets_the_403_page_in_chinese_and_no_controls(
    browser, console, people, tmp_path
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    sign_in(page, console.url, "guest", PASSWORD)
    expect(page).to_have_url(console.url + "/campaigns")
    expect(page.get_by_role("link", name="新建任务")).to_have_count(0)
    expect(page.get_by_role("link", name="审计日志")).to_have_count(0)
    page.goto(console.url + "/audit")
    expect(page.locator("#forbidden")).to_contain_text("无权访问")
    expect(page.locator("#signed-in-as")).to_have_text("guest")  # still signed in
    screenshot(page, tmp_path, "forbidden-zh.png")
    context.close()
