"""`imagine web` in a real browser: Debian's headless Chromium, driven by Playwright, against a real
`imagine web` process, worker and Redis. A screenshot of the thread view is left in tests/artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser_harness import imagine
from tests.fakes.openai_api import FakeOpenAI
from tests.web_harness import start_web, user_line

ARTIFACTS = Path(__file__).parent / "artifacts"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def served_to_the_network(processes, redis, config_file) -> Callable[[str], str]:
    """`imagine web --host 0.0.0.0` with the named users alice and bob; its URL."""
    users = "[web.users]\n" + user_line("alice", "alice-secret") + user_line("bob", "bob-secret")
    return lambda config="": start_web(processes, redis, config_file, config + users, host="0.0.0.0")


def log_in(page: Page, name: str, password: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_prompt_becomes_a_thread_whose_every_button_and_a_reply_make_their_jobs(open_page):
    page = open_page()
    imagine(page, "a fox in the snow --ar 16:9 --n 2")
    thread = page.get_by_role("region", name="Thread: a fox in the snow")
    fox = thread.get_by_role("img", name="a fox in the snow")
    expect(fox).to_have_count(2, timeout=20_000)
    expect(thread.get_by_text("a fox in the snow — ✅ done")).to_be_visible()
    first = thread.locator(".result").first
    first.get_by_role("button", name="🔁 Reroll").click()
    expect(thread.get_by_text("🔁 Reroll: a fox in the snow — ✅ done")).to_be_visible(timeout=20_000)
    first.get_by_role("button", name="✨ Variation 2").click()
    expect(thread.get_by_text("✨ Variation: a fox in the snow — ✅ done")).to_be_visible(timeout=20_000)
    first.get_by_role("button", name="⬆️ Upscale 1").click()
    expect(thread.get_by_text("⬆️ Upscale: a fox in the snow — ✅ done")).to_be_visible(timeout=20_000)
    expect(fox).to_have_count(2 + 2 + 1 + 1, timeout=20_000)  # reroll 2, variation 1, upscale 1
    # Refine takes the member to the thread's box; the words and Enter do the rest.
    first.get_by_role("button", name="✏️ Refine").click()
    expect(thread.get_by_label("Refine this image")).to_be_focused()
    page.keyboard.type("now at night")
    page.keyboard.press("Enter")
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


def test_a_moderation_refusal_is_shown_privately_and_opens_no_thread(open_page):
    page = open_page('[moderation]\nblocklist = ["forbidden thing"]\n')
    imagine(page, "a forbidden thing")
    expect(page.get_by_role("alert")).to_contain_text("a word this server does not allow", timeout=10_000)
    imagine(page, "a fox")
    expect(page.get_by_role("img", name="a fox")).to_have_count(1, timeout=20_000)
    expect(page.get_by_role("region", name="Thread: a forbidden thing")).to_have_count(0)


def test_a_quota_refusal_is_shown_privately_and_opens_no_thread(open_page):
    page = open_page("[quota]\nimages_per_hour = 1\n")
    imagine(page, "a fox")
    expect(page.get_by_role("img", name="a fox")).to_have_count(1, timeout=20_000)
    imagine(page, "a hare")
    expect(page.get_by_role("alert")).to_contain_text("Please wait", timeout=10_000)
    expect(page.get_by_role("region", name="Thread: a hare")).to_have_count(0)


def test_off_this_machine_the_page_asks_for_a_login_and_each_member_sees_only_their_own(
    served_to_the_network, new_page
):
    url = served_to_the_network("[quota]\nimages_per_hour = 1\n")
    alice, bob = new_page(url), new_page(url)
    expect(alice.get_by_role("heading", name="Log in")).to_be_visible()
    expect(alice.get_by_label("Prompt")).to_be_hidden()
    log_in(alice, "alice", "bob-secret")
    expect(alice.get_by_role("alert")).to_have_text("Wrong name or password.")
    log_in(alice, "alice", "alice-secret")
    expect(alice.get_by_text("Logged in as alice.")).to_be_visible()
    log_in(bob, "bob", "bob-secret")
    imagine(alice, "a fox")
    expect(alice.get_by_role("img", name="a fox")).to_have_count(1, timeout=20_000)
    imagine(alice, "a hare")
    expect(alice.get_by_role("alert").first).to_contain_text("Please wait", timeout=10_000)
    imagine(bob, "an owl")  # bob's quota is his own
    expect(bob.get_by_role("img", name="an owl")).to_have_count(1, timeout=20_000)
    expect(bob.get_by_role("region", name="Thread: a fox")).to_have_count(0)
    expect(bob.get_by_text("Please wait")).to_have_count(0)
    expect(alice.get_by_role("region", name="Thread: an owl")).to_have_count(0)
    alice.get_by_role("button", name="Log out").click()
    expect(alice.get_by_role("heading", name="Log in")).to_be_visible()
    expect(alice.get_by_role("region", name="Thread: a fox")).to_have_count(0)
    alice.reload()
    expect(alice.get_by_role("heading", name="Log in")).to_be_visible()


def test_the_thread_reads_on_a_phone_without_sideways_scrolling(open_page):
    page = open_page()
    page.set_viewport_size({"width": 360, "height": 740})
    imagine(page, "a wide fox --ar 21:9 --n 2")
    expect(page.get_by_role("img", name="a wide fox")).to_have_count(2, timeout=20_000)
    page.get_by_role("img", name="a wide fox").last.evaluate("img => img.decode()")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_queue_lists_the_members_job_and_its_cancel_button_stops_it(open_page):
    page = open_page(IMAGINE_PLACEHOLDER_DELAY="60")
    imagine(page, "a slow fox")
    thread = page.get_by_role("region", name="Thread: a slow fox")
    expect(thread.get_by_text("a slow fox — Generating…")).to_be_visible(timeout=20_000)
    imagine(page, "/queue")
    composer = page.locator("#prompt-form")
    expect(composer.get_by_role("alert")).to_contain_text("1. a slow fox — being drawn")
    composer.get_by_role("button", name="⏹️ Cancel 1").click()
    expect(composer.get_by_role("alert")).to_contain_text("Stopping it")
    expect(thread.get_by_text("a slow fox — ⏹️ Cancelled. Nothing was charged.")).to_be_visible(timeout=20_000)
    imagine(page, "/queue")
    expect(composer.get_by_role("alert")).to_have_text("You have no jobs queued or running.")


def test_settings_are_a_form_whose_defaults_the_next_prompt_uses(open_page):
    page = open_page()
    imagine(page, "/settings")
    composer = page.locator("#prompt-form")
    composer.get_by_label("Style").select_option("watercolor")
    composer.get_by_label("Images per prompt").select_option("2")
    composer.get_by_role("button", name="Save").click()
    expect(composer.get_by_role("alert")).to_contain_text("Saved.")
    expect(composer.get_by_role("alert")).to_contain_text("style watercolor")
    imagine(page, "a fox")
    expect(page.get_by_role("img", name="a fox")).to_have_count(2, timeout=20_000)  # two, from the default
    imagine(page, "/settings")
    expect(composer.get_by_label("Style")).to_have_value("watercolor")


def test_pictures_chosen_in_the_composer_are_blended_and_one_is_described(open_page, tmp_path):
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    Image.new("RGB", (40, 40), (255, 0, 0)).save(red)
    Image.new("RGB", (40, 40), (0, 0, 255)).save(blue)
    with FakeOpenAI() as fake:
        page = open_page(**fake.env(), IMAGINE_VISION_MODEL="gpt-vision-fake")
        page.get_by_label("Pictures").set_input_files([str(red), str(blue)])
        imagine(page, "a dream")
        expect(page.get_by_role("img", name="a dream")).to_have_count(1, timeout=20_000)
        page.get_by_label("Pictures").set_input_files([str(blue)])
        page.get_by_role("button", name="Describe").click()
        composer = page.locator("#prompt-form")
        expect(composer.get_by_role("alert")).to_contain_text("2. an oil painting of a blue scene")
        composer.get_by_role("button", name="Imagine 2").click()
        subject = "an oil painting of a blue scene, bold shapes, centered, soft light"
        expect(page.get_by_role("img", name=subject)).to_have_count(1, timeout=20_000)
