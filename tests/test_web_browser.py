"""`imagine web` in a real browser: Debian's headless Chromium, driven by Playwright, against a real
`imagine web` process, worker and Redis. A screenshot of the thread view is left in tests/artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.web_harness import start_web

ARTIFACTS = Path(__file__).parent / "artifacts"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: bash scripts/setup.sh --test installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, processes, redis, config_file):
    pages: list[Page] = []

    def start(config: str = "") -> Page:
        url = start_web(processes, redis, config_file, config)
        page = browser.new_context(viewport={"width": 900, "height": 1200}).new_page()
        page.goto(url)
        pages.append(page)
        return page

    yield start
    for page in pages:
        page.context.close()


def imagine(page: Page, text: str) -> None:
    """What a member does with the keyboard alone: focus the prompt, type, Enter."""
    page.get_by_label("Prompt").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_a_prompt_becomes_a_thread_with_images_buttons_and_a_refinement(open_page):
    page = open_page()
    imagine(page, "a fox in the snow --ar 16:9 --n 2")
    thread = page.get_by_role("region", name="Thread: a fox in the snow")
    expect(thread.get_by_role("img", name="a fox in the snow")).to_have_count(2, timeout=20_000)
    expect(thread.get_by_text("a fox in the snow — ✅ done")).to_be_visible()
    thread.get_by_role("button", name="🔁 Reroll").click()
    expect(thread.get_by_role("img", name="a fox in the snow")).to_have_count(4, timeout=20_000)
    thread.get_by_label("Refine this image").fill("now at night")
    thread.get_by_role("button", name="Refine", exact=True).click()
    expect(thread.get_by_text("✏️ Refine: now at night — ✅ done")).to_be_visible(timeout=20_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-thread.png"), full_page=True)


def test_a_prompt_is_shown_as_text_never_run_as_html(open_page):
    page = open_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    imagine(page, f"a fox {XSS}")
    thread = page.get_by_role("region", name=f"Thread: a fox {XSS}")
    expect(thread.get_by_role("heading", name=f"a fox {XSS}")).to_be_visible(timeout=20_000)
    expect(thread.get_by_role("img", name=f"a fox {XSS}")).to_have_count(1, timeout=20_000)
    assert page.locator("img[src=x]").count() == 0 and dialogs == []


def test_a_refusal_is_shown_privately_and_opens_no_thread(open_page):
    page = open_page("[quota]\nimages_per_hour = 1\n")
    imagine(page, "a fox")
    expect(page.get_by_role("img", name="a fox")).to_have_count(1, timeout=20_000)
    imagine(page, "a hare")
    expect(page.get_by_role("alert")).to_contain_text("Please wait", timeout=10_000)
    expect(page.get_by_role("region", name="Thread: a hare")).to_have_count(0)
