"""The console in a real headless Chromium (Debian's), with real workers and the simulator:
what an operator does, in English and in Chinese, with a screenshot of each."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support import NUMBERS
from web_support import TOKEN, WINDOW, sheet, wait_for_outcomes

pytestmark = pytest.mark.timeout(240)
EXPECT_MS = 10_000


def screenshot(page: Page, tmp_path: Path, name: str, *, full_page: bool = True) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=full_page)
    # DIALER_E2E_SCREENSHOTS=dir keeps them (the README's picture comes from such a run).
    keep = os.environ.get("DIALER_E2E_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def sign_in(page: Page, url: str) -> None:
    page.goto(url + "/campaigns")
    expect(page).to_have_url(url + "/login?next=/campaigns")
    page.get_by_label("Token").or_(page.get_by_label("令牌")).fill(TOKEN)
    page.keyboard.press("Enter")  # by keyboard, as an operator may
    expect(page).to_have_url(url + "/campaigns")


def test_operator_uploads_checks_starts_watches_and_downloads_in_english(
    browser, console, workers, tmp_path
) -> None:
    workers(console.env).start()
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, console.url)
    page.get_by_role("link", name="New campaign").first.click()

    page.get_by_label("Broker numbers").fill(f"{NUMBERS[0]}\n{NUMBERS[1]}")
    page.get_by_label("Rate per broker").fill("5/s")
    page.get_by_label("Calling windows").fill(WINDOW)
    # One call per row, so the campaign stays Done: an agent's missed leg would otherwise
    # send its row round again once its record is in (the contact strategy, #21).
    page.get_by_label("Agent misses before a row ends").fill("1")
    page.keyboard.press("Tab")
    upload = tmp_path / "客户名单.csv"
    upload.write_text(sheet(16, bad=("1.39182E+10",)), encoding="utf-8")
    page.get_by_label("Campaign sheet (CSV or XLSX)").set_input_files(str(upload))

    preview = page.locator("#preview")
    expect(preview).to_be_visible()
    expect(page.locator("#pv-file")).to_have_text("客户名单.csv")
    expect(page.locator("#pv-accepted")).to_have_text("16")
    expect(page.locator("#pv-rejected-count")).to_have_text("1")
    bad = page.locator("#pv-rejected tbody tr")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("17")
    expect(bad).to_contain_text("Invalid number")
    expect(bad).to_contain_text("scientific notation has lost digits")
    expect(page.locator("#pv-columns")).to_contain_text("被叫号码")
    expect(page.locator("#pv-first thead")).to_contain_text("客户姓名")

    screenshot(page, tmp_path, "new-en.png")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r".*/campaigns/[0-9a-f]{12}$"))
    cid = page.url.rsplit("/", 1)[1]
    expect(page.locator("#status")).to_have_text("Ready")
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#status")).to_have_text("Done", timeout=60_000)
    expect(page.locator("#done")).to_have_text("17")
    expect(page.locator('#counts td[data-state="DISPATCHED"]')).to_have_text("16")
    expect(page.locator("#rejected tbody tr")).to_contain_text("Sheet.InvalidNumber")
    expect(page.get_by_role("button", name="Start")).to_be_hidden()
    # Each sheet row rings a caller of its own: 16 callers, each with one call, masked.
    callers = page.locator("#callers tbody tr")
    expect(page.get_by_role("heading", name="Callers")).to_be_visible()
    expect(callers).to_have_count(16)
    expect(callers.first).to_contain_text(re.compile(r"138\*{4}\d{4}"))
    expect(callers.first.locator("td").nth(2)).to_have_text("1")
    expect(page.locator("#dl-report")).to_have_attribute(
        "href", f"/api/campaigns/{cid}/report.html?lang=en"
    )
    screenshot(page, tmp_path, "campaign-en.png")

    wait_for_outcomes(console, cid)
    with page.expect_download() as download:
        page.get_by_role("link", name="Results (CSV)").click()
    got = Path(download.value.path()).read_bytes()
    assert got == console.get(f"/api/campaigns/{cid}/results.csv").content
    assert download.value.suggested_filename == f"{cid}-results.csv"
    with page.expect_download() as download:
        page.get_by_role("link", name="Results (Excel)").click()
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"

    page.get_by_role("link", name="Campaigns", exact=True).click()
    row = page.locator(f'tr[data-id="{cid}"]')
    expect(row).to_contain_text("客户名单.csv")
    expect(row).to_contain_text("Done")
    context.close()


def test_operator_pauses_resumes_and_cancels_in_chinese(
    browser, console, workers, simulator, tmp_path
) -> None:
    cid = console.create(sheet(80), name="三月回访.csv", rate="2/s")["id"]
    workers(console.env).start()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, console.url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="三月回访").click()
    page.get_by_role("button", name="开始").click()
    expect(page.locator("#status")).to_have_text("进行中")
    expect(page.locator('#counts td[data-state="DISPATCHED"]')).to_be_visible(timeout=20_000)

    page.get_by_role("button", name="暂停").click()
    expect(page.locator("#status")).to_have_text("已暂停")
    expect(page.locator("#pause-reason")).to_have_text("已暂停：操作员手动暂停")
    page.wait_for_timeout(1500)  # a call past its last check may still land
    placed = len(simulator.config.calls_log.read_text().splitlines())
    page.wait_for_timeout(2000)
    assert len(simulator.config.calls_log.read_text().splitlines()) == placed
    assert 0 < placed < 80
    callers = page.locator("#callers tbody tr")
    expect(page.get_by_role("heading", name="主叫坐席")).to_be_visible()
    expect(callers.first).to_contain_text(re.compile("通话中|话后整理|空闲"))
    screenshot(page, tmp_path, "campaign-zh.png")

    # The report link gives the report in the page's language (as a download, so it is
    # fetched with the page's session and shown here).
    href = page.locator("#dl-report").get_attribute("href")
    assert href == f"/api/campaigns/{cid}/report.html?lang=zh_CN"
    got = context.request.get(console.url + href)
    assert got.ok and "attachment" in got.headers["content-disposition"]
    report = context.new_page()
    report.set_content(got.text())
    expect(report.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(report.get_by_role("heading", name="各状态行数")).to_be_visible()
    expect(report.locator("#callers")).to_contain_text("通话时间占比")
    screenshot(report, tmp_path, "report-zh.png")
    report.close()

    page.get_by_role("button", name="继续").click()
    expect(page.locator("#status")).to_have_text("进行中")
    page.wait_for_function(
        f"Number(document.querySelector('#counts td[data-state=DISPATCHED]').textContent)"
        f" > {placed}",
        timeout=20_000,
    )

    page.get_by_role("button", name="取消任务").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("取消这个任务？")
    dialog.get_by_role("button", name="保留任务").click()
    expect(page.locator("#status")).to_have_text("进行中")
    page.get_by_role("button", name="取消任务").click()
    dialog.get_by_role("button", name="取消任务").click()
    expect(page.locator("#status")).to_have_text("已取消")
    assert console.get(f"/api/campaigns/{cid}").json()["status"] == "CANCELLED"

    phone = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
    )
    small = phone.new_page()
    sign_in(small, console.url)
    small.goto(f"{console.url}/campaigns/{cid}")
    expect(small.locator("#status")).to_have_text("已取消")
    overflow = small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"
    screenshot(small, tmp_path, "campaign-zh-phone.png")
    phone.close()
    context.close()


def test_the_campaign_page_says_why_it_waits_stalls_or_paused_in_chinese(
    browser, console, tmp_path
) -> None:
    """What the status document says, as the page words it: the status is fed to the page
    (a campaign made to wait for callers, stall or pause on a CCC code needs minutes)."""
    cid = console.create(sheet(3), name="三月回访.csv")["id"]
    real = console.get(f"/api/campaigns/{cid}").json()
    now_ms = 1_772_416_980_000  # 2026-03-02 10:03:00 Asia/Shanghai
    said: dict = {}
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.route(f"**/api/campaigns/{cid}", lambda route: route.fulfill(json={**real, **said}))
    sign_in(page, console.url)
    page.goto(f"{console.url}/campaigns/{cid}")

    said.update(
        status="RUNNING",
        activity="waiting",
        resumes_at_ms=now_ms,
        waits=[
            {"for": "caller", "rows": 4, "cap": 0, "until_ms": now_ms},
            {"for": "retry", "rows": 2, "cap": 0, "until_ms": now_ms + 60_000},
        ],
    )
    waiting = page.locator("#waiting")
    expect(waiting).to_contain_text("等待中：剩余的行都在等待", timeout=EXPECT_MS)
    expect(waiting.locator("li").first).to_contain_text("4 行在等主叫坐席")
    expect(waiting.locator("li").first).to_contain_text("10:03:00 (Asia/Shanghai)")
    expect(waiting.locator("li").nth(1)).to_contain_text("2 行等待重试")
    screenshot(page, tmp_path, "campaign-zh-waiting.png")

    said.update(activity="stalled", waits=[], stalled={"cause": "no_feeder", "idle_s": 720})
    expect(waiting).to_be_hidden(timeout=EXPECT_MS)
    expect(page.locator("#not-dialling")).to_have_text(
        "停滞：已有 12 分钟没有发起呼叫；没有 worker 在为它派发号码（请启动 worker：celery -A "
        "tasks worker）。有 worker 接手后会自动恢复"
    )

    reason = "NotExists.InstanceId: The specified instance does not exist."
    said.update(
        status="PAUSED",
        activity="paused",
        stalled=None,
        pause_reason=reason,
        pause_code="NotExists.InstanceId",
    )
    expect(page.locator("#not-dialling")).to_be_hidden(timeout=EXPECT_MS)
    expect(page.locator("#pause-reason")).to_have_text(f"已暂停：CCC 实例不存在 ({reason})")
    expect(page.locator("#status")).to_have_text("已暂停")
    context.close()
