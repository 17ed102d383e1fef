"""🖌️ Vary (Region) on every platform, with real processes, a real worker and Redis: the page's editor
(its submit over HTTP, as the page's script sends it), the links from a chat to it (expired, someone
else's, spent), and the form that Discord and Slack show where no page is linked."""

from __future__ import annotations

import io
import json
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from nacl.signing import SigningKey
from PIL import Image, ImageChops, ImageDraw, ImageStat

from bot.interactions.edit_links import SALT, EditLinks, signing_key
from bot.interactions.surface import InThread
from shared import keys
from shared.drawing.requester import Requester
from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import OWNER_ID, FakeDiscord
from tests.fakes.slack_api import CHANNEL, OWNER, FakeSlack
from tests.helpers import free_port, wait_until
from tests.slack_harness import slack_env, start_http_app
from tests.test_web import Page, results
from tests.web_harness import start_web

MODAL, MESSAGE, DEFER = 9, 4, 5
VARY = "🖌️ Vary (Region)"


def png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def top_right_mask(size: int = 64) -> bytes:
    """A small mask (any size is scaled to the picture): the top right quarter to repaint."""
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rectangle((size // 2, 0, size - 1, size // 2 - 1), fill=255)
    return png(mask)


def assert_only_top_right_changed(before: bytes, after: bytes) -> None:
    with Image.open(io.BytesIO(before)) as first, Image.open(io.BytesIO(after)) as second:
        original, edited = first.convert("RGB"), second.convert("RGB")
    assert edited.size == original.size
    w, h = original.size
    for kept in ((0, 0, w // 2 - 16, h), (0, h // 2 + 16, w, h)):  # the left half, the bottom half
        difference = ImageStat.Stat(ImageChops.difference(edited.crop(kept), original.crop(kept)))
        assert max(difference.mean) < 8, kept
    marked = (w // 2 + 16, 16, w - 16, h // 2 - 16)
    assert max(ImageStat.Stat(ImageChops.difference(edited.crop(marked), original.crop(marked))).mean) > 8


@pytest.fixture
def page(processes, redis, config_file):
    return lambda config="": Page(start_web(processes, redis, config_file, config))


def first_image(web: Page, prompt: str = "a quiet bay") -> dict:
    web.say(prompt)
    [first] = results(web.feed_until(lambda ms: results(ms)))
    return first


def vary_button(buttons: list[list[dict]]) -> str:
    return next(b["id"] for row in buttons for b in row if b["label"] == VARY)


# --- the page's own editor --------------------------------------------------------------------------


def test_on_the_page_the_editor_repaints_only_the_marked_part_as_one_more_turn(page, redis):
    web = page()
    first = first_image(web)
    opened = web.press(vary_button(first["buttons"]), first["thread"])
    assert opened["editor"] == {"job": first["job"], "index": 0} and not opened["taken"]
    fields = {"thread": first["thread"], "job": first["job"], "index": "0"}

    blank = web.upload("/api/region", [png(Image.new("L", (64, 64), 0))], text="a red kite", **fields)
    assert not blank["taken"] and "Mark where to change the picture" in blank["private"][0]
    assert web.upload("/api/region", [], text="a red kite", **fields)["private"] == [
        "Mark where to change the picture first: paint over it."
    ]

    assert web.upload("/api/region", [top_right_mask()], text="a red kite", **fields)["taken"]
    edited = results(web.feed_until(lambda ms: len(results(ms)) == 2))[1]
    assert (edited["label"], edited["subject"], edited["thread"]) == (
        VARY + ":",
        "a red kite",
        first["thread"],
    )
    assert_only_top_right_changed(
        web.get(first["images"][0]["url"])[1], web.get(edited["images"][0]["url"])[1]
    )
    assert redis.zcard(keys.quota_window("web:local")) == 2  # one image, like a variation

    # The next reply refines the edited picture: it is the thread's last turn.
    assert web.say("at dusk", thread=first["thread"])["taken"]
    refined = results(web.feed_until(lambda ms: len(results(ms)) == 3))[2]
    assert refined["subject"] == "at dusk"


def test_a_backend_that_cannot_repaint_offers_no_vary_region(page, redis):
    web = page()
    first = first_image(web, "two boats --n 2")  # several images: edits come after picking one
    assert not any(b["label"] == VARY for row in first["buttons"] for b in row)
    forged = web.upload(
        "/api/region", [top_right_mask()], text="x", thread=first["thread"], job="img-" + "0" * 32, index="0"
    )
    assert not forged["taken"] and "no longer remember" in forged["private"][0]


# --- links from a chat ------------------------------------------------------------------------------


def web_member(thread: str) -> InThread:
    """The page's member as a link would carry a chat member: their identity and thread."""
    member = Requester(
        platform="web", workspace="local", channel="main", user="local", user_name="local", thread=thread
    )
    return InThread(member, thread)


def test_a_link_opens_the_editor_once_for_one_browser_and_expires(page, redis):
    web = page()
    first = first_image(web)
    links = EditLinks(redis, minutes=15)
    link = links.mint(web_member(first["thread"]), first["job"], 0, web.url)
    path = link.url.removeprefix(web.url)
    assert path.startswith("/edit/") and "15 min" in link.text
    status, body, headers = web.get(path)
    assert status == 200 and b"editor.js" in body and headers["Content-Type"].startswith("text/html")

    member, stranger = Page(web.url), Page(web.url)  # two browsers, each with its own cookies
    details = member.get_json("/api" + path)
    assert details["prompt"] == "a quiet bay" and details["who"] == "local"
    status, image, _ = member.get(details["image"])
    assert status == 200 and Image.open(io.BytesIO(image)).size == (1024, 1024)
    status, refused, _ = stranger.get("/api" + path)
    assert status == 410 and b"opened by someone else first" in refused
    assert (
        "opened by someone else first"
        in stranger.upload("/api" + path, [top_right_mask()], text="x")["private"][0]
    )

    assert member.upload("/api" + path, [top_right_mask()], text="a red kite")["taken"]
    assert (
        "used for an edit already"
        in member.upload("/api" + path, [top_right_mask()], text="again")["private"][0]
    )
    status, spent, _ = member.get("/api" + path)
    assert status == 410 and b"used for an edit already" in spent
    edited = results(web.feed_until(lambda ms: len(results(ms)) == 2))[1]
    assert edited["subject"] == "a red kite" and edited["thread"] == first["thread"]

    # Signed an hour ago: past its 15 minutes, whatever its record says.
    class SignedEarlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3600

    old = links.mint(web_member(first["thread"]), first["job"], 0, web.url).url.rsplit("/", 1)[1]
    link_id = URLSafeTimedSerializer(signing_key(redis), salt=SALT).loads(old)
    expired = URLSafeTimedSerializer(signing_key(redis), salt=SALT, signer=SignedEarlier).dumps(link_id)
    status, body, _ = member.get(f"/api/edit/{expired}")
    assert status == 410 and b"has expired" in body
    status, body, _ = member.get(f"/api/edit/{old[:-4]}abcd")  # a forged signature
    assert status == 410 and b"not a working editor link" in body
    forgotten = links.mint(web_member(first["thread"]), "img-" + "0" * 32, 0, web.url).url
    status, body, _ = member.get("/api" + forgotten.removeprefix(web.url))  # the thread forgot that image
    assert status == 410 and b"no longer remember" in body


def test_a_refused_edit_leaves_the_link_working(page, redis):
    web = page("[quota]\nimages_per_hour = 1\n")
    first = first_image(web)
    link = EditLinks(redis, minutes=15).mint(web_member(first["thread"]), first["job"], 0, web.url)
    api = "/api" + link.url.removeprefix(web.url)
    member = Page(web.url)
    assert member.get(api)[0] == 200  # the member opens the link
    refused = member.upload(api, [top_right_mask()], text="a red kite")
    assert not refused["taken"] and "Please wait" in refused["private"][0]
    assert member.get(api)[0] == 200  # not spent: it works once the quota lifts


# --- Discord and Slack ------------------------------------------------------------------------------


@pytest.fixture
def discord_stack(processes, redis, config_file):
    with FakeDiscord() as fake:
        key = SigningKey.generate()

        def start(config: str = ""):
            env = discord_env(fake, key, config_file(config))
            processes.worker(env, redis)
            return start_http_frontend(processes, env, key, fake)

        yield fake, start


def discord_result(fake: FakeDiscord, client) -> tuple[str, object, str]:
    assert client.post(fake.slash_command(prompt="a harbour")).type == DEFER
    thread = wait_until(lambda: fake.threads() and fake.threads()[0], what="a thread")["id"]
    post = wait_until(lambda: fake.image_posts_in(thread) and fake.image_posts_in(thread)[0])
    ids = [c["custom_id"] for row in post.data["components"] for c in row["components"] if "custom_id" in c]
    return thread, post, next(i for i in ids if i.startswith("imagine:region:")).split(":")[2]


def test_discord_without_a_page_offers_the_regions_form_and_the_edit_comes_into_the_thread(
    discord_stack, redis
):
    fake, start = discord_stack
    client = start()
    thread, post, job_id = discord_result(fake, client)
    modal = client.post(fake.button_press(post, f"imagine:region:{job_id}"))
    assert modal.type == MODAL and modal.body["data"]["custom_id"] == f"imagine:region-modal:{job_id}:0"
    [where, words] = modal.body["data"]["components"]
    assert (where["type"], where["component"]["max_values"], len(where["component"]["options"])) == (18, 9, 9)
    assert words["component"]["custom_id"] == "instruction"

    nothing = fake.labelled_modal_submit(
        modal.body["data"]["custom_id"], thread, {"regions": [], "instruction": "x"}
    )
    answer = client.post(nothing)
    assert answer.ephemeral and "Mark where to change the picture" in answer.content
    chosen = {"regions": ["top-right", "top"], "instruction": "a red kite"}
    assert (
        client.post(fake.labelled_modal_submit(modal.body["data"]["custom_id"], thread, chosen)).type == DEFER
    )
    edited = wait_until(lambda: len(fake.image_posts_in(thread)) >= 2 and fake.image_posts_in(thread)[-1])
    assert edited.data["embeds"][0]["description"] == "a harbour, a red kite"
    assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 2


def test_discord_with_a_public_page_answers_with_a_link_for_that_member(discord_stack):
    fake, start = discord_stack
    client = start('[web]\npublic_url = "https://imagine.example.org/"\nedit_link_minutes = 10\n')
    _, post, job_id = discord_result(fake, client)
    answer = client.post(fake.button_press(post, f"imagine:region:{job_id}"))
    assert (answer.type, answer.ephemeral) == (MESSAGE, True) and "10 min" in answer.content
    [button] = answer.body["data"]["components"][0]["components"]
    assert button["style"] == 5 and button["url"].startswith("https://imagine.example.org/edit/")


@pytest.fixture
def slack_stack(processes, redis, config_file):
    with FakeSlack() as fake:

        def start(config: str = ""):
            env = slack_env(fake, config_file(config))
            processes.worker(env, redis)
            return start_http_app(processes, env, fake)

        yield fake, start


def vary_action(details) -> str:
    """The action id of 🖌️ Vary (Region) under a Slack result."""
    elements = (e for block in details.blocks for e in block.get("elements", []))
    return next(e["action_id"] for e in elements if e.get("text", {}).get("text") == VARY)


def slack_result(fake: FakeSlack, sender):
    sender.command("a red fox")
    parent = wait_until(lambda: fake.parent("a red fox"), what="the status message")
    wait_until(lambda: fake.image_posts(CHANNEL, parent.ts), what="the image")
    details = wait_until(lambda: [m for m in fake.thread(CHANNEL, parent.ts) if m.blocks and not m.files])
    return parent, details[-1]


def test_slack_without_a_page_offers_the_regions_form_and_the_edit_comes_into_the_thread(slack_stack, redis):
    fake, start = slack_stack
    sender = start()
    parent, info = slack_result(fake, sender)
    press = vary_action(info)
    assert sender.interactive(fake.block_action(info, press)).status == 200
    opened = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"])[0]["view"]
    assert opened["callback_id"] == "imagine:region-modal"
    assert len(opened["blocks"][0]["element"]["options"]) == 9
    empty = sender.interactive(fake.regions_submission(opened, [], "a red kite"))
    assert empty.json()["response_action"] == "errors" and "Mark where" in empty.json()["errors"]["regions"]
    assert sender.interactive(fake.regions_submission(opened, ["top-right"], "a red kite")).status == 200
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) == 2, what="the edited image in the thread")
    assert redis.zcard(keys.quota_window(f"slack:{OWNER}")) == 2


def test_a_slack_members_link_edit_is_posted_in_their_thread_under_their_quota(
    slack_stack, processes, redis, config_file
):
    """The chat → page → chat round trip without a browser (the browser's is test_editor_browser.py):
    the link names the member as Slack knew them, and Slack's frontend posts the edit."""
    fake, start = slack_stack
    port = free_port()
    sender = start(f'[web]\npublic_url = "http://127.0.0.1:{port}"\n')
    start_web(processes, redis, config_file, "", env=slack_env(fake), port=port)
    parent, info = slack_result(fake, sender)
    press = vary_action(info)
    assert sender.interactive(fake.block_action(info, press)).status == 200
    told = wait_until(lambda: [e for e in fake.ephemeral if "editor" in e.get("text", "")], what="the link")
    blocks = told[0]["blocks"] if isinstance(told[0]["blocks"], list) else json.loads(told[0]["blocks"])
    [button] = blocks[1]["elements"]
    assert button["url"].startswith(f"http://127.0.0.1:{port}/edit/") and "15 min" in told[0]["text"]
    # Slack tells the app of a press on a link button too: it is acknowledged, nothing more.
    link_press = fake.block_action(info, press)
    link_press["actions"][0].update(action_id="imagine-editor-link", url=button["url"])
    assert sender.interactive(link_press).status == 200

    browser = Page(f"http://127.0.0.1:{port}")
    api = "/api" + button["url"].removeprefix(browser.url)
    assert browser.get_json(api)["platform"] == "Slack"
    answer = browser.upload(api, [top_right_mask()], text="a red kite")
    assert answer["taken"] and "posted in your thread" in answer["private"][0]
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) == 2, what="the edit in the Slack thread")
    assert redis.zcard(keys.quota_window(f"slack:{OWNER}")) == 2
