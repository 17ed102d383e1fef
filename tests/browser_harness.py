"""A real browser for the page's tests: Debian's headless Chromium driven by Playwright (no download)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.web_harness import start_web


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: bash scripts/setup.sh --test installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser) -> Iterator[Callable[[str], Page]]:
    """A page at a URL in a browser context of its own (its own cookies: another person)."""
    pages: list[Page] = []

    def open_url(url: str) -> Page:
        page = browser.new_context(viewport={"width": 900, "height": 1200}).new_page()
        page.goto(url)
        pages.append(page)
        return page

    yield open_url
    for page in pages:
        page.context.close()


@pytest.fixture
def open_page(new_page, processes, redis, config_file) -> Callable[..., Page]:
    """`imagine web` on this machine (no login) with a worker, and a page open on it."""
    return lambda config="", **env: new_page(start_web(processes, redis, config_file, config, env=env))


def imagine(page: Page, text: str) -> None:
    """What a member does with the keyboard alone: focus the prompt, type, Enter. The box shows once
    the page has asked who is there; keys typed before that would go nowhere, as for a person."""
    prompt = page.get_by_label("Prompt")
    expect(prompt).to_be_visible()
    prompt.focus()
    expect(prompt).to_be_focused()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def drag(page: Page, target: Locator, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A mouse drag over `target`, between two points given as fractions of its width and height."""
    box = target.bounding_box()
    assert box is not None, "the target is not shown"
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.mouse.move(*at(*start))
    page.mouse.down()
    page.mouse.move(*at(*end), steps=10)
    page.mouse.up()
