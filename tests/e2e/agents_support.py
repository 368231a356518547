"""What the agents' browser tests share: the agent's phone, a phone's viewport, signing in."""

from __future__ import annotations

from playwright.sync_api import Page

PASSWORD = "grey-Heron-7734-quartz"
AGENT = "13800000001"  # zhang-wei's phone (the `staff` fixture)
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}


def sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Account name").or_(page.get_by_label("用户名")).fill(name)
    page.get_by_label("Password", exact=True).or_(page.get_by_label("密码", exact=True)).fill(
        PASSWORD
    )
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
