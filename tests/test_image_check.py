"""Every generated image is checked before it is posted: a flagged one is withheld with a note and
counted, a job with nothing left is refused and refunded, the NSFW-channel rule applies to images,
and an unreachable check fails as the policy says. The placeholder paints a marker on demand
(`#flag-test`) that the fake moderation endpoint flags."""

from __future__ import annotations

import json

import pytest

from bot.core import ImagineCore
from bot.discord.uploads import pack
from shared import keys
from shared.delivery.results import DeliveredImage
from shared.jobs.queue import queue_name
from shared.quotas.refusals import RefusalCounter
from tests.backend_harness import submit_and_drain as run
from tests.factories import image_request, requester
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import CHANNEL, FakeSlack
from tests.helpers import wait_until
from tests.slack_harness import slack_env, start_http_app
from workers.runtime import build_runtime
from workers.worker import serve


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def checked(redis, make_settings, config_file, fake):
    def build(config: str = "", *, key: bool = True):
        values = {"openai_api_key": "sk-test", "openai_base_url": fake.base_url} if key else {}
        return build_runtime(
            make_settings(config_file(config) if config else None, **values), redis, "placeholder"
        )

    return build


def image_inputs(fake: FakeOpenAI) -> list[list[dict]]:
    bodies = [json.loads(r.body) for r in fake.moderation_requests()]
    return [b["input"] for b in bodies if isinstance(b["input"], list) and isinstance(b["input"][0], dict)]


def test_a_flagged_image_is_withheld_with_a_note_and_counted(checked, fake):
    request = image_request("evt-1", prompt="a fox #flag-test", count=2)
    _, events, core = run(checked(), request)
    done = events[-1]
    assert done["type"] == "done" and len(done["images"]) == 1
    assert done["notes"] == ["1 of 2 images was withheld by the content policy."]
    assert [part[0]["type"] for part in image_inputs(fake)] == ["image_url", "image_url"]  # one image each
    assert RefusalCounter(core.redis).of_workspace(request.requester)["image:sexual"] == 1


def test_a_job_whose_every_image_is_withheld_is_refused_and_refunded(checked):
    request = image_request("evt-2", prompt="a fox #flag-test", count=1)
    _, events, core = run(checked(), request)
    assert (events[-1]["type"], events[-1]["kind"]) == ("failed", "refused")
    assert events[-1]["text"].startswith("The images were withheld by the content policy")
    assert core.quota.report(request.requester).used_this_hour == 0


def test_in_an_nsfw_channel_the_policy_lets_adult_images_through(checked):
    request = image_request("evt-3", prompt="a fox #flag-test", count=1)
    nsfw = request.model_copy(
        update={"requester": request.requester.model_copy(update={"channel_nsfw": True})}
    )
    _, events, _ = run(checked(), nsfw)
    assert events[-1]["type"] == "done" and events[-1]["notes"] == []


def test_an_unreachable_check_withholds_when_closed_and_passes_when_open(checked, fake, redis):
    def words_checked_then_images_unchecked(runtime, event: str) -> dict:
        core = ImagineCore(runtime.settings, redis)
        job = core.submit(image_request(event, prompt="a plain fox"))  # the words, while it answers
        fake.moderation_down = True
        serve(runtime, [queue_name("placeholder")], burst=True, name="check-test", logging_level="ERROR")
        fake.moderation_down = False
        return json.loads(redis.xrange(keys.events(job.job_id))[-1][1][b"event"])

    closed = words_checked_then_images_unchecked(checked('[moderation]\non_error = "closed"\n'), "evt-4")
    assert (closed["type"], closed["kind"]) == ("failed", "refused")
    opened = words_checked_then_images_unchecked(checked('[moderation]\non_error = "open"\n'), "evt-5")
    assert opened["type"] == "done"


def test_without_a_key_or_when_switched_off_no_image_is_checked(checked, fake):
    _, events, _ = run(checked(key=False), image_request("evt-6", prompt="a fox #flag-test"))
    assert events[-1]["type"] == "done"
    _, events, _ = run(
        checked("[moderation]\ncheck_images = false\n"), image_request("evt-7", prompt="a fox #flag-test")
    )
    assert events[-1]["type"] == "done" and image_inputs(fake) == []


def test_where_the_policy_says_spoiler_a_flagged_image_is_posted_hidden_on_discord(checked, redis):
    runtime = checked('[moderation]\nflagged_images = "spoiler"\n')
    request = image_request("evt-8", prompt="a fox #flag-test", count=2).model_copy(
        update={"requester": requester(platform="discord")}
    )
    run(runtime, request)
    events = [json.loads(fields[b"event"]) for _, fields in redis.xrange(keys.results("discord"))]
    [done] = [event for event in events if event["type"] == "done"]
    assert [image.get("spoiler", False) for image in done["images"]] == [True, False]
    assert done["notes"] == ["1 of 2 images was hidden by the content policy: click to show."]
    files = pack(
        [DeliveredImage("k", b"png", "a.png", "image/png", 1, spoiler=True)], limit_bytes=10**6, max_files=10
    )
    assert files.messages[0][0].filename == "SPOILER_a.png"  # how Discord blurs a file until clicked


def test_on_slack_a_hidden_image_is_posted_only_when_a_member_presses_its_button(
    fake, processes, redis, config_file
):
    config = config_file('[moderation]\nflagged_images = "spoiler"\n')
    with FakeSlack() as slack:
        env = {**slack_env(slack, config), **fake.env()}
        sender = start_http_app(processes, env, slack)
        processes.worker(env, redis)
        sender.command("a fox #flag-test --n 2")
        parent = wait_until(lambda: slack.parent("a fox"), what="the parent")
        details = wait_until(
            lambda: next((m for m in slack.thread(CHANNEL, parent.ts) if m.blocks), None), what="the details"
        )
        [upload] = slack.image_posts(CHANNEL, parent.ts)
        assert len(upload.files) == 1  # the flagged one is not uploaded
        assert "1 of 2 images was hidden by the content policy" in details.blocks[0]["text"]["text"]
        [hidden] = [b for b in details.blocks if b.get("block_id", "").startswith("imagine-hidden-")]
        [button] = hidden["elements"]
        assert button["text"]["text"] == "🙈 Show hidden image 1"
        press = slack.block_action(details, button["action_id"])
        sender.interactive(press)
        shown = wait_until(
            lambda: len(slack.image_posts(CHANNEL, parent.ts)) == 2 and slack.image_posts(CHANNEL, parent.ts)
        )
        assert "shown because ualice asked" in shown[1].text
        sender.interactive(slack.block_action(details, button["action_id"]))  # pressed again: shown once
        told = wait_until(lambda: slack.ephemeral, what="the answer to the second press")
        assert told[0]["text"] == "That image is already shown in this thread."
        assert len(slack.image_posts(CHANNEL, parent.ts)) == 2
