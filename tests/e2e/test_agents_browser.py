"""An agent at work, in a real headless Chromium (Debian's) at a phone's viewport, against the
real console, real Celery workers and the CCC simulator (calls that ring and talk): they sign
in onto their screen, go Ready, see their customer's card before their phone rings —
the phone shows only the broker number —, give the call a disposition with a callback for
themselves, and get their next customer at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from agents_support import AGENT, PHONE, sign_in
from playwright.sync_api import expect
from test_web_browser import EXPECT_MS, screenshot

pytestmark = pytest.mark.timeout(240)
CALLS_MS = 60_000  # a call rings, talks and its record comes in: seconds, on a busy machine
ZONE = "Asia/Shanghai"
SHEET = (
    "主叫号码,被叫号码,客户姓名,公司\n"
    f"{AGENT},13900000001,王秀英,杭州云帆贸易有限公司\n"
    f"{AGENT},13900000002,陈建国,宁波海通物流\n"
)
# When each customer's card first shows on the screen, and in which state (epoch ms, the
# clock the simulator's calls log uses).
WATCH_CARDS = """
window.cardsSeen = {};
new MutationObserver(() => {
  for (const card of document.querySelectorAll("article.call")) {
    const name = card.querySelector(".customer").textContent;
    if (name && !(name in window.cardsSeen)) {
      window.cardsSeen[name] = { ms: Date.now(), state: card.className };
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


def test_an_agent_goes_ready_sees_the_customer_first_and_books_their_own_callback(
    browser, console, workers, simulator, staff, tmp_path
) -> None:
    simulator.faults.update({"ring_s": "3-3", "talk_s": "4-4"})
    cid = console.create(
        SHEET,
        name="十二月续约回访.csv",
        agents_sign_in="on",
        agent_notes="先确认是否本人；年付九折。",
        timezone=ZONE,
    )["id"]
    workers(console.env).start()
    assert console.post(f"/api/campaigns/{cid}/start").ok

    context = browser.new_context(locale="zh-CN", **PHONE)
    context.add_init_script(WATCH_CARDS)
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    sign_in(page, console.url, "zhang-wei")
    expect(page).to_have_url(console.url + "/agent")
    expect(page.locator("#no-call")).to_have_text("点“就绪”开始接听电话。")
    assert simulator.calls() == []  # signing in on the screen comes first: nobody is rung
    page.get_by_role("button", name="就绪").click()
    expect(page.locator("#presence-state")).to_have_text("就绪")

    card = page.locator("article.call")
    expect(card.get_by_role("heading", name="王秀英")).to_be_visible(timeout=CALLS_MS)
    expect(card).to_contain_text("杭州云帆贸易有限公司")
    expect(card).to_contain_text("1390000****")
    expect(card).to_contain_text("年付九折")
    expect(card).to_contain_text("十二月续约回访")
    screenshot(page, tmp_path, "agent-card-live-zh.png")
    expect(card.locator('[data-field="state"]')).to_have_text(
        "已为你发起呼叫：接听后即可通话", timeout=CALLS_MS
    )
    # What the agent holds in their hand (docs/agents.md shows it).
    screenshot(page, tmp_path, "agent-screen.png", full_page=False)
    call = next(c for c in simulator.calls() if c["callee"] == "13900000001")
    seen = page.evaluate("window.cardsSeen")["王秀英"]
    # The agent had the customer's card before their phone, which shows only the broker
    # number, began to ring: the call waited for their screen to show it.
    assert seen["ms"] <= call["start_ms"], (seen, call)

    expect(card.locator('[data-field="state"]')).to_have_text("通话已结束", timeout=CALLS_MS)
    tomorrow = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    card.get_by_role("button", name="CALLBACK").click()
    card.get_by_role("textbox", name="备注").fill("客户在开会，约明天下午三点")
    card.get_by_label("时间").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    expect(card.get_by_role("radio", name="我")).to_be_checked()
    screenshot(page, tmp_path, "agent-disposition-live-zh.png")
    card.get_by_role("button", name="保存并接下一通").click()

    # Saving ends the wrap-up: the next customer's card, and the callback among theirs.
    expect(card.get_by_role("heading", name="王秀英")).to_have_count(0)
    expect(card.get_by_role("heading", name="陈建国")).to_be_visible(timeout=CALLS_MS)
    callbacks = page.locator("#callbacks li")
    expect(callbacks).to_have_count(1)
    expect(callbacks).to_contain_text(tomorrow.strftime("%Y-%m-%d 15:00"))
    expect(callbacks).to_contain_text("我来回拨")
    screenshot(page, tmp_path, "agent-next-live-zh.png")

    desk = console.get(f"/api/agents/{AGENT}/desk").json()
    (booked,) = desk["callbacks"]
    assert (booked["row"], booked["for"]) == (1, "me")
    trail = console.get("/api/audit?who=zhang-wei").json()["entries"]
    saved = [e for e in trail if e["action"] == "disposition.save" and e["outcome"] == "ok"]
    assert [e["target"] for e in saved] == [f"{cid}/1"]
    context.close()


def test_a_supervisor_watches_the_wall_and_forces_a_break(
    browser, console, workers, simulator, staff, tmp_path
) -> None:
    simulator.faults.update({"ring_s": "2-2", "talk_s": "60-60"})
    agents = [AGENT, "13800000002", "13800000003", "13800000004"]
    for i, number in enumerate(agents[1:], 2):
        staff.add(f"agent-{i}", "agent", number)
    rows = [f"{number},1390000010{i},客户{i},公司{i}" for i, number in enumerate(agents)]
    cid = console.create(
        "主叫号码,被叫号码,客户姓名,公司\n" + "\n".join(rows) + "\n",
        name="十二月续约回访.csv",
        agents_sign_in="on",
        timezone=ZONE,
    )["id"]
    for number, state, reason in (
        (agents[0], "READY", ""),
        (agents[1], "READY", ""),
        (agents[2], "BREAK", "lunch"),
        (agents[3], "OFFLINE", ""),
    ):
        answer = console.put(
            f"/api/agents/{number}/presence", json={"state": state, "reason": reason}
        )
        assert answer.ok, answer.text
    workers(console.env).start()
    assert console.post(f"/api/campaigns/{cid}/start").ok

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    sign_in(page, console.url, "li-na")
    page.get_by_role("link", name="Agents").click()
    lines = page.locator("#wall tbody tr")
    expect(lines).to_have_count(4)
    first = page.locator(f'#wall tr[data-number="{agents[0]}"]')
    expect(first).to_contain_text("In a call", timeout=CALLS_MS)
    expect(first).to_contain_text("1390000****")
    lunch = page.locator(f'#wall tr[data-number="{agents[2]}"]')
    expect(lunch).to_contain_text("On a break")
    expect(lunch).to_contain_text("Lunch")
    expect(page.locator(f'#wall tr[data-number="{agents[3]}"]')).to_contain_text(
        "Signed out of calls"
    )
    screenshot(page, tmp_path, "agents-wall.png", full_page=False)

    second = page.locator(f'#wall tr[data-number="{agents[1]}"]')
    second.get_by_role("button", name="Break").click()
    expect(second).to_contain_text("On a break")
    expect(second).to_contain_text("set by a supervisor")
    presence = console.get(f"/api/agents/{agents[1]}/presence").json()
    assert (presence["state"], presence["reason"]) == ("BREAK", "Supervisor")
    trail = console.get("/api/audit?who=li-na").json()["entries"]
    assert any(e["action"] == "presence.set" and e["target"] == agents[1] for e in trail), trail
    context.close()
