"""The agent's screen and the supervisors' wall in a real headless Chromium (Debian's), fed
the agents API's documents (docs/agents.md) for states a live campaign reaches only by
chance or after minutes — a break the system imposed, a call in each of its states, a wall of
twelve agents: what the pages show, in which words, what they send back, and that nothing
scrolls sideways on a 360 px phone. The whole way through real workers and the simulator is
tests/e2e/test_agents_browser.py."""

from __future__ import annotations

import json
import time

import pytest
from agents_support import AGENT, PHONE, sign_in
from playwright.sync_api import Page, Route, expect
from test_web_browser import EXPECT_MS, screenshot

pytestmark = pytest.mark.timeout(120)


def presence(state: str, reason: str = "", missed: int = 0, ago_s: int = 40) -> dict:
    now = int(time.time() * 1000)
    return {
        "number": AGENT,
        "state": state,
        "reason": reason,
        "since_ms": now - ago_s * 1000,
        "missed": missed,
        "screen": True,
        "seen_ms": now,
        "account": "zhang-wei",
        "reasons": ["lunch", "meeting", "training", "personal"],
    }


def card(state: str) -> dict:
    now = int(time.time() * 1000)
    return {
        "campaign": "c0ffee000001",
        "campaign_name": "十二月续约回访",
        "row": 12,
        "state": state,
        "since_ms": now - 7000,
        "customer": {
            "客户姓名": "王秀英",
            "被叫号码": "1391814****",
            "公司": "杭州云帆贸易有限公司",
            "合同到期": "2026-12-31",
            "上次备注": "对年付方案感兴趣，想要发票样例",
        },
        "callee_masked": "1391814****",
        "agent_notes": "先确认是否本人；报价按 2026 年价目表，年付九折。",
        "history": [
            {
                "at_ms": now - 3 * 86400_000,
                "outcome": "CALLEE_NO_ANSWER",
                "talk_seconds": 0,
                "agent_masked": "138****0007",
                "disposition": "",
                "notes": "",
            },
            {
                "at_ms": now - 86400_000,
                "outcome": "CONNECTED",
                "talk_seconds": 94,
                "agent_masked": "138****0001",
                "disposition": "CALLBACK",
                "notes": "客户在开会，约明天下午再打",
            },
        ],
        "dispositions": [
            {"code": "INTERESTED", "action": "done", "delay_s": None},
            {"code": "NOT_NOW", "action": "recycle", "delay_s": 86400},
            {"code": "CALLBACK", "action": "callback", "delay_s": 3600},
            {"code": "DO_NOT_CALL", "action": "dnc", "delay_s": None},
        ],
        "disposition": None,
        "callback_required": False,
    }


def callback() -> dict:
    due = int(time.time() * 1000) + 2 * 3600_000
    return {
        "campaign": "c0ffee000001",
        "campaign_name": "十二月续约回访",
        "row": 4,
        "due_ms": due,
        "due": "2026-12-05 15:00 (Asia/Shanghai)",
        "owner": "zhang-wei",
        "for": "me",
        "state": "scheduled",
        "customer_name": "陈建国",
    }


class FedDesk:
    """Answers the page's desk, presence, heartbeat and disposition calls from `self.desk`,
    and keeps what the page sent."""

    def __init__(self, page: Page) -> None:
        self.desk: dict = {"presence": presence("OFFLINE"), "calls": [], "callbacks": []}
        self.sent: list[tuple[str, str, dict]] = []
        page.route(f"**/api/agents/{AGENT}/**", self.agent)
        page.route("**/api/campaigns/*/rows/*/disposition", self.disposition)

    def agent(self, route: Route) -> None:
        request = route.request
        body = json.loads(request.post_data) if request.post_data else {}
        self.sent.append((request.method, request.url.rsplit("/", 1)[1], body))
        if request.url.endswith("/presence") and request.method == "PUT":
            self.desk["presence"] = presence(body["state"], body["reason"], ago_s=0)
        if request.url.endswith("/desk"):
            route.fulfill(json=self.desk)
        else:
            route.fulfill(json=self.desk["presence"])

    def disposition(self, route: Route) -> None:
        body = json.loads(route.request.post_data)
        self.sent.append(("POST", "disposition", body))
        self.desk["calls"] = []
        route.fulfill(json={"campaign": "c0ffee000001", "row": 12, "applied": False, **body})


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"


def test_the_agent_screen_on_a_phone_in_chinese(browser, console, staff, tmp_path) -> None:
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    fed = FedDesk(page)
    fed.desk["presence"] = presence("BREAK", "System.MissedRings", missed=2)
    sign_in(page, console.url, "zhang-wei")
    expect(page).to_have_url(console.url + "/agent")  # an agent lands on their own screen
    expect(page.get_by_role("link", name="我的工作台")).to_be_visible()
    expect(page.locator("#system-banner")).to_have_text(
        "你连续 2 次未接来电，已被置为小休：回来后请点“就绪”。"
    )
    expect(page.locator("#presence-state")).to_have_text("小休中")
    screenshot(page, tmp_path, "agent-missed-zh.png")

    page.get_by_role("button", name="就绪").click()
    expect(page.locator("#presence-state")).to_have_text("就绪")
    expect(page.locator("#system-banner")).to_be_hidden()
    expect(page.locator("#no-call")).to_contain_text("客户信息会先显示在这里")
    fed.desk["calls"] = [card("reserved")]
    call = page.locator("article.call")
    expect(call.locator('[data-field="state"]')).to_have_text("即将呼叫你")
    expect(call.get_by_role("heading", name="王秀英")).to_be_visible()
    expect(call).to_contain_text("杭州云帆贸易有限公司")
    expect(call).to_contain_text("你的手机上显示的是中间号")
    expect(call).to_contain_text("年付九折")
    expect(call.locator(".history li")).to_have_count(2)
    expect(call.locator(".history li").nth(1)).to_contain_text("客户在开会")
    expect(call.locator("form")).to_be_hidden()  # nothing to record before the call is placed
    no_sideways_scroll(page)
    screenshot(page, tmp_path, "agent-card-zh.png")

    fed.desk["calls"] = [card("in_call")]
    expect(call.locator('[data-field="state"]')).to_have_text("已为你发起呼叫：接听后即可通话")
    call.get_by_role("textbox", name="备注").fill("想要三年期报价")  # typed during the call
    fed.desk["calls"] = [card("ended")]
    expect(call.locator('[data-field="state"]')).to_have_text("通话已结束")
    expect(call.get_by_role("textbox", name="备注")).to_have_value("想要三年期报价")
    call.get_by_role("button", name="保存并接下一通").click()
    expect(call.get_by_role("alert")).to_have_text("请选择这通电话的结果。")
    call.get_by_role("button", name="CALLBACK").click()
    call.get_by_role("button", name="保存并接下一通").click()
    expect(call.get_by_role("alert")).to_have_text("这个结果需要填写回拨时间。")
    call.get_by_label("时间").fill("2026-12-05T15:00")
    no_sideways_scroll(page)
    screenshot(page, tmp_path, "agent-disposition-zh.png")
    fed.desk["callbacks"] = [callback()]
    call.get_by_role("button", name="保存并接下一通").click()
    expect(page.locator("article.call")).to_have_count(0)
    expect(page.locator("#callbacks li")).to_contain_text("陈建国")
    assert (
        "POST",
        "disposition",
        {
            "code": "CALLBACK",
            "notes": "想要三年期报价",
            "callback_at": "2026-12-05T15:00",
            "callback_for": "me",
        },
    ) in fed.sent
    assert ("POST", "heartbeat", {}) in fed.sent  # the screen beats as soon as it opens

    page.get_by_role("button", name="小休").click()
    page.get_by_role("button", name="午餐").click()
    expect(page.locator("#presence-state")).to_have_text("小休中")
    expect(page.locator("#presence-reason")).to_have_text("· 午餐")
    assert ("PUT", "presence", {"state": "BREAK", "reason": "lunch"}) in fed.sent
    context.close()


def test_the_agent_screen_is_usable_at_360_px_in_english(browser, console, staff, tmp_path) -> None:
    context = browser.new_context(
        locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    fed = FedDesk(page)
    fed.desk = {
        "presence": presence("READY"),
        "calls": [card("ringing")],
        "callbacks": [callback()],
    }
    sign_in(page, console.url, "zhang-wei")
    call = page.locator("article.call")
    expect(call.locator('[data-field="state"]')).to_have_text("Ringing you: answer your phone")
    expect(call.get_by_role("button", name="INTERESTED")).to_be_visible()
    for button in ("Ready", "Break", "Sign out of calls"):
        box = page.get_by_role("button", name=button, exact=True).bounding_box()
        assert box and box["height"] >= 44, (button, box)  # a thumb's target
    no_sideways_scroll(page)
    screenshot(page, tmp_path, "agent-ringing-en-360.png")
    context.close()


def wall_line(i: int, state: str, reason: str = "", call_state: str = "") -> dict:
    now = int(time.time() * 1000)
    number = f"1380000{i:04d}"
    return {
        "number": number,
        "account": f"agent-{i:02d}",
        "presence": {**presence(state, reason), "number": number, "account": f"agent-{i:02d}"},
        "in_state_s": 60 * i + 15,
        "call": {
            "campaign": "c0ffee000001",
            "campaign_name": "十二月续约回访",
            "row": i,
            "state": call_state,
            "callee_masked": f"139{i:04d}****",
            "since_ms": now - 20_000,
        }
        if call_state
        else None,
        "today": {
            "calls": 30 + i,
            "connects": 20 + i,
            "talk_s": 3000 + 90 * i,
            "break_s": 600,
            "missed": i % 3,
        },
    }


def test_the_wall_for_a_supervisor(browser, console, staff, tmp_path) -> None:
    wall = {
        "agents": [
            wall_line(1, "READY", call_state="in_call"),
            wall_line(2, "READY", call_state="ringing"),
            wall_line(3, "READY"),
            wall_line(4, "BREAK", "lunch"),
            wall_line(5, "BREAK", "System.MissedRings"),
            wall_line(6, "OFFLINE", "System.ScreenSilent"),
        ],
        "callbacks": [
            {
                **callback(),
                "state": "missed",
                "due_ms": 0,
                "due": "2026-12-04 10:00 (Asia/Shanghai)",
            }
        ],
    }
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    page.route("**/api/agents", lambda route: route.fulfill(json=wall))
    page.route("**/api/agents/*/presence", lambda r: r.fulfill(json=wall["agents"][2]["presence"]))
    sign_in(page, console.url, "li-na")
    page.get_by_role("link", name="Agents").click()
    expect(page).to_have_url(console.url + "/agents")
    lines = page.locator("#wall tbody tr")
    expect(lines).to_have_count(6)
    expect(page.locator("#wall-counts")).to_have_text(
        "1 ready · 2 in a call · 2 on a break · 1 signed out"
    )
    expect(lines.nth(0)).to_contain_text("In a call")
    expect(lines.nth(0)).to_contain_text("1390001****")
    expect(lines.nth(3)).to_contain_text("Lunch")
    expect(page.locator("#wall-callbacks")).to_contain_text("missed")
    screenshot(page, tmp_path, "wall-en.png")
    with page.expect_request("**/api/agents/13800000003/presence") as forced:
        page.get_by_role("button", name="Break: agent-03").click()
    assert forced.value.method == "PUT"
    assert forced.value.post_data_json == {"state": "BREAK", "reason": "Supervisor"}

    phone = browser.new_context(locale="zh-CN", **PHONE)
    small = phone.new_page()
    small.set_default_timeout(EXPECT_MS)
    small.route("**/api/agents", lambda route: route.fulfill(json=wall))
    sign_in(small, console.url, "li-na")
    small.goto(console.url + "/agents")
    expect(small.locator("#wall tbody tr")).to_have_count(6)
    expect(small.locator("#wall tbody tr").nth(4)).to_contain_text("小休")
    no_sideways_scroll(small)
    screenshot(small, tmp_path, "wall-zh-phone.png")
    phone.close()
    context.close()
