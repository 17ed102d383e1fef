"""`imagine web` as a real process with a real worker and Redis, driven over HTTP as the page drives it:
actions as JSON POSTs, the member's feed as server-sent events."""

from __future__ import annotations

import io
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from PIL import Image

from tests.helpers import answers_ok, free_port, imagine_command, wait_until
from tests.web_harness import start_web

Message = dict


class Page:
    """What the page's script does, from Python."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, path: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-Imagine": "1", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def say(self, text: str, thread: str | None = None) -> dict:
        status, answer = self.post("/api/say", {"text": text, **({"thread": thread} if thread else {})})
        assert status == 200, answer
        return answer

    def press(self, button: str, thread: str) -> dict:
        status, answer = self.post("/api/press", {"id": button, "thread": thread})
        assert status == 200, answer
        return answer

    def feed_until(self, found: Callable[[list[Message]], object], timeout: float = 20) -> list[Message]:
        """The feed from the start, read until `found(messages)` holds."""
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        with urllib.request.urlopen(self.url + "/api/events", timeout=timeout) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    messages.append(json.loads(line.removeprefix("data: ")))
                    if found(messages):
                        return messages
                if time.monotonic() > deadline:
                    break
        raise AssertionError(f"the feed never showed what was awaited: {messages}")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)


def results(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m["kind"] == "result"]


@pytest.fixture
def page(processes, redis, config_file) -> Callable[..., Page]:
    return lambda config="": Page(start_web(processes, redis, config_file, config))


def test_a_prompt_opens_a_thread_whose_status_moves_to_images_and_buttons(page):
    web = page()
    answer = web.say("/imagine a fox in the snow --ar 16:9 --n 2".removeprefix("/imagine "))
    assert answer == {"taken": True, "private": []}
    messages = web.feed_until(lambda ms: results(ms))
    [done] = results(messages)
    states = [m["text"] for m in messages if m["kind"] == "status" and m["job"] == done["job"]]
    assert states[0].startswith("queued") and "Generating…" in states
    assert done["subject"] == "a fox in the snow" and len(done["images"]) == 2
    status, png, headers = web.get(done["images"][1]["url"])
    assert status == 200 and "immutable" in headers["Cache-Control"]
    with Image.open(io.BytesIO(png)) as image:
        assert image.width > image.height
    labels = [button["label"] for row in done["buttons"] for button in row]
    assert labels == [
        "✨ Variation 1",
        "✨ Variation 2",
        "⬆️ Upscale 1",
        "⬆️ Upscale 2",
        "🔁 Reroll",
        "✏️ Refine",
    ]


def test_buttons_and_replies_make_their_jobs_in_the_same_thread(page):
    web = page()
    web.say("a lighthouse")
    [first] = results(web.feed_until(lambda ms: results(ms)))
    thread = first["thread"]
    reroll = next(b["id"] for row in first["buttons"] for b in row if "reroll" in b["id"])
    assert web.press(reroll, thread)["taken"]
    assert web.say("now at night", thread=thread)["taken"]
    messages = web.feed_until(lambda ms: len(results(ms)) == 3)
    later = results(messages)[1:]
    assert {m["thread"] for m in later} == {thread}
    assert sorted(m["label"] for m in later) == sorted(["🔁 Reroll:", "✏️ Refine:"])
    assert any(m["subject"] == "now at night" for m in later)


def test_refusals_and_bad_input_are_answered_privately_and_post_nothing(page):
    web = page("[quota]\nimages_per_hour = 1\n")
    bad = web.say("a fox --zoom 2")
    assert not bad["taken"] and "There is no flag --zoom" in bad["private"][0]
    assert web.say("a fox")["taken"]
    refused = web.say("a hare")
    assert not refused["taken"] and refused["private"][0].startswith("Please wait")
    assert "used 1 of 1 images this hour" in refused["private"][0]
    messages = web.feed_until(lambda ms: results(ms))
    assert {m["subject"] for m in messages} == {"a fox"}  # nothing of the refused or the bad one
    stale = web.press("imagine:sparkle:img-old", thread=messages[0]["thread"])
    assert not stale["taken"] and "no longer works" in stale["private"][0]


def test_other_sites_cannot_act_or_read_and_only_this_machine_is_served(page, process_env):
    web = page()
    assert web.post("/api/say", {"text": "a fox"}, headers={"X-Imagine": ""})[0] == 403
    assert web.post("/api/say", {"text": "a fox"}, headers={"Origin": "https://evil.example"})[0] == 403
    assert web.get("/", headers={"Host": "evil.example"})[0] == 421  # DNS rebinding
    status, body, headers = web.get("/")
    assert status == 200 and b'<script src="/static/app.js" defer>' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert web.get("/images/not-a-key")[0] == 404
    refused = subprocess.run(
        imagine_command("web", "--host", "0.0.0.0", "--port", str(free_port())),
        env=process_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 1 and "serves this machine only" in refused.stderr


def test_with_no_redis_configured_one_command_brings_its_own_redis_and_worker(processes, process_env):
    env = {k: v for k, v in process_env.items() if k != "REDIS_URL"}
    port = free_port()
    processes.env = env
    process = processes.start("web", "--port", str(port))
    web = Page(f"http://127.0.0.1:{port}")
    wait_until(
        lambda: process.poll() is None and answers_ok(web.url + "/healthz"), timeout=30, what="imagine web"
    )
    assert web.say("a fox")["taken"]
    [done] = results(web.feed_until(lambda ms: results(ms)))
    assert web.get(done["images"][0]["url"])[0] == 200
