"""🖌️ Vary (Region)'s editor in a real browser (headless Chromium): drawn on with the mouse, submitted,
the edit arriving in the thread, on the page itself and through a Discord member's link. A screenshot
of the editor is left in tests/artifacts/ (the README shows it)."""

from __future__ import annotations

import io
from pathlib import Path

from nacl.signing import SigningKey
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import expect

from tests.browser_harness import drag, imagine
from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import FakeDiscord
from tests.helpers import free_port, wait_until
from tests.test_vary_region import discord_result
from tests.web_harness import start_web

ARTIFACTS = Path(__file__).parent / "artifacts"
VARY = "🖌️ Vary (Region)"
MARKED = ((0.6, 0.12), (0.9, 0.38))  # a rectangle in the top right, as fractions of the picture


def mean_difference(before: bytes, after: bytes, box: tuple[float, float, float, float]) -> float:
    with Image.open(io.BytesIO(before)) as first, Image.open(io.BytesIO(after)) as second:
        w, h = first.size
        crop = (int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h))
        difference = ImageChops.difference(first.convert("RGB").crop(crop), second.convert("RGB").crop(crop))
        return max(ImageStat.Stat(difference).mean)


def mark(page, editor) -> None:
    """A brush stroke, undone; then a rectangle over MARKED, with the tools' buttons."""
    canvas = editor.get_by_role("img", name="Mark where to change the picture")
    expect(canvas).to_have_attribute("width", "1024")  # the picture has loaded: the mask is its size
    drag(page, canvas, (0.1, 0.8), (0.4, 0.9))  # the brush, by default
    editor.get_by_role("button", name="↶ Undo").click()
    editor.get_by_role("button", name="▭ Rectangle").click()
    expect(editor.get_by_role("button", name="▭ Rectangle")).to_have_attribute("aria-pressed", "true")
    drag(page, canvas, *MARKED)


def test_the_pages_editor_drawn_on_with_the_mouse_repaints_that_part_in_the_thread(open_page):
    page = open_page()
    imagine(page, "a quiet bay")
    thread = page.get_by_role("region", name="Thread: a quiet bay")
    pictures = thread.locator(".result img")
    expect(pictures).to_have_count(1, timeout=20_000)
    thread.get_by_role("button", name=VARY).click()
    editor = page.get_by_role("dialog", name="Vary (Region): a quiet bay")
    expect(editor).to_be_visible()
    submit = editor.get_by_role("button", name="Submit")
    submit.click()  # nothing marked yet
    expect(editor.get_by_role("alert")).to_have_text("Mark where to change the picture first: paint over it.")
    mark(page, editor)
    editor.get_by_label("What goes there").fill("a red kite")
    ARTIFACTS.mkdir(exist_ok=True)
    editor.screenshot(path=str(ARTIFACTS / "web-editor.png"))
    submit.click()
    expect(editor).to_be_hidden()
    expect(thread.get_by_text(f"{VARY}: a red kite — ✅ done")).to_be_visible(timeout=20_000)
    expect(pictures).to_have_count(2)
    before, after = (page.request.get(pictures.nth(n).evaluate("img => img.src")).body() for n in (0, 1))
    (x0, y0), (x1, y1) = MARKED
    assert mean_difference(before, after, (x0 + 0.03, y0 + 0.03, x1 - 0.03, y1 - 0.03)) > 8
    for kept in ((0, 0, 0.55, 1), (0, 0.45, 1, 1)):  # the left, the bottom (the stroke was undone)
        assert mean_difference(before, after, kept) < 8, kept


def test_a_discord_members_link_opens_the_editor_and_the_edit_is_posted_in_their_thread(
    new_page, processes, redis, config_file
):
    port = free_port()
    with FakeDiscord() as fake:
        key = SigningKey.generate()
        env = discord_env(fake, key, config_file(f'[web]\npublic_url = "http://127.0.0.1:{port}"\n'))
        client = start_http_frontend(processes, env, key, fake)
        start_web(processes, redis, config_file, "", env=env, port=port)  # with its worker
        thread, post, job_id = discord_result(fake, client)
        answer = client.post(fake.button_press(post, f"imagine:region:{job_id}"))
        link = answer.body["data"]["components"][0]["components"][0]["url"]

        page = new_page(link)
        expect(page.get_by_role("status")).to_contain_text("Discord")
        editor = page.get_by_role("region", name="Vary (Region)")
        mark(page, editor)
        editor.get_by_label("What goes there").fill("a red kite")
        editor.get_by_role("button", name="Submit").click()
        expect(editor.get_by_role("alert")).to_contain_text("posted in your thread")
        edited = wait_until(lambda: len(fake.image_posts_in(thread)) >= 2 and fake.image_posts_in(thread)[-1])
        assert edited.data["embeds"][0]["description"] == "a harbour, a red kite"
        (before,), (after,) = post.files.values(), edited.files.values()
        assert mean_difference(before, after, (0.65, 0.17, 0.85, 0.33)) > 8
        assert mean_difference(before, after, (0, 0.45, 1, 1)) < 8

        page.reload()  # the link is spent by its edit
        expect(page.get_by_role("alert")).to_contain_text("used for an edit already")
        stranger = new_page(link)
        expect(stranger.get_by_role("alert")).to_contain_text("used for an edit already")
