"""`imagine slack --http` as a real process, signed requests in, a real worker, a fake Slack Web API."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from rq.job import Job

from shared import keys
from shared.jobs.queue import SERIALIZER
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import BOT_USER, CHANNEL, DM_CHANNEL, OWNER, TEAM_ID, FakeSlack, Posted
from tests.helpers import wait_until
from tests.slack_harness import slack_env, start_http_app


@pytest.fixture
def fake():
    with FakeSlack() as server:
        yield server


@pytest.fixture
def stack(fake, processes, redis, config_file):
    def start(config: str | None = None, *, worker: bool = True):
        env = slack_env(fake, config_file(config) if config else None)
        sender = start_http_app(processes, env, fake)
        if worker:
            processes.worker(env, redis)
        return sender

    return start


def finished(fake: FakeSlack, fragment: str, images: int = 1):
    """The parent message whose text has `fragment`, once `images` image posts are in its thread."""
    parent = wait_until(lambda: fake.parent(fragment), what=f"a parent message for {fragment!r}")
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) >= images, what="images in the thread")
    return parent


def buttons(message) -> list[str]:
    return [
        e["action_id"] for block in message.blocks if block["type"] == "actions" for e in block["elements"]
    ]


def details(fake: FakeSlack, parent, count: int = 1) -> list:
    """The detail messages (prompt, seeds, buttons) in the parent's thread, once there are `count`;
    each follows its images' upload, so waiting for the images alone is not enough."""

    def posted() -> list:
        found = [m for m in fake.thread(CHANNEL, parent.ts) if m.blocks]
        return found if len(found) >= count else []

    return wait_until(posted, what=f"{count} detail message(s)")


def test_imagine_acks_posts_a_parent_and_the_images_arrive_in_its_thread(fake, stack):
    sender = stack()
    answer = sender.command("a fox in the snow --ar 16:9 --n 2 --seed 42")
    assert answer.status == 200 and answer.body in (b"", b"{}")  # an empty ack: nothing shown yet

    parent = finished(fake, "a fox in the snow")
    [upload] = fake.image_posts(CHANNEL, parent.ts)
    assert len(upload.files) == 2
    sizes = [Image.open(io.BytesIO(fake.uploads[f["id"]])).size for f in upload.files]
    assert all(w > h for w, h in sizes)
    [info] = details(fake, parent)
    text = info.blocks[0]["text"]["text"]
    assert "*Prompt:* a fox in the snow" in text and "*Seeds:* 42, 43" in text
    ids = buttons(info)
    job_id = ids[0].split(":")[2]
    assert ids == [
        f"imagine:variation:{job_id}:0",
        f"imagine:upscale:{job_id}:0",
        f"imagine:variation:{job_id}:1",
        f"imagine:upscale:{job_id}:1",
        f"imagine:reroll:{job_id}",
        f"imagine:refine:{job_id}",
    ]
    wait_until(lambda: "✅ done" in parent.text, what="the parent to say done")
    assert parent.text.startswith(f"🎨 <@{OWNER}>: *a fox in the snow* — ✅ done — 2 images")


def test_signatures_are_checked(fake, stack):
    sender = stack(worker=False)
    assert sender.command("a cat", secret="forged").status == 401
    assert sender.command("a cat", timestamp=int(time.time()) - 3600).status == 401
    assert not fake.messages


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a fox --zoom 2", "There is no flag --zoom"),
        ("a fox --seed", "The flag --seed needs a value, e.g. --seed 42."),
        ("a fox --n 9", "The count must be between 1 and 4 (you asked for 9)."),
        ("a fox --ar round", "“round” is not an aspect I know"),
        ("a fox --seed 1 --seed 2", "The flag --seed is given twice"),
        ("--ar 16:9", "Your prompt is empty"),
        ("a fox --style cubism", "There is no style called “cubism”"),
    ],
)
def test_bad_flags_and_input_get_a_specific_private_answer(fake, stack, redis, text, reason):
    sender = stack(worker=False)
    answer = sender.command(text)
    assert answer.status == 200 and reason in answer.text
    assert not fake.messages and not redis.keys("imagine:quota:*")


def test_help_explains_the_flags(fake, stack):
    answer = stack(worker=False).command("help")
    assert "--ar 16:9" in answer.text and "watercolor" in answer.text


def test_a_quota_refusal_is_private_and_exact(fake, stack):
    sender = stack("[quota]\nimages_per_hour = 1\n")
    sender.command("a fox")
    finished(fake, "a fox")
    answer = sender.command("a hare")
    assert answer.text.startswith("Please wait ")
    assert answer.text.endswith("— you have used 1 of 1 images this hour.")
    assert fake.parent("a hare") is None


def test_mentions_in_a_prompt_ping_nobody(fake, stack):
    sender = stack()
    sender.command("<!channel> <!here> <@U0BOB> *bold* a fox")
    parent = finished(fake, "a fox")
    for text in (parent.text, details(fake, parent)[0].blocks[0]["text"]["text"]):
        assert "<!channel>" not in text and "<!here>" not in text and "<@U0BOB>" not in text
        assert "&lt;!channel&gt;" in text
    assert parent.text.startswith(f"🎨 <@{OWNER}>:")  # the one mention: the member who asked


def test_a_reply_in_the_thread_refines_and_a_retried_event_makes_one_job(fake, stack, redis):
    sender = stack()
    sender.command("a red fox")
    parent = finished(fake, "a red fox")
    reply = fake.reply(parent.ts, "at night --ar 16:9")
    assert sender.event(reply, event_id="Ev1").status == 200
    assert sender.event(reply, event_id="Ev1", retry=1).status == 200  # Slack's retry of the same event
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) == 2, what="the refined image")
    wait_until(lambda: fake.reactions.get(reply["ts"]) == ["white_check_mark"], what="⏳ swapped for ✅")
    info = details(fake, parent, 2)[-1].blocks[0]["text"]["text"]
    assert "*Prompt:* a red fox, at night" in info
    assert len(redis.keys("rq:job:img-*")) == 2  # the first image and one refinement


def test_a_mention_refines_in_our_thread_and_bots_and_other_threads_are_ignored(fake, stack):
    sender = stack()
    sender.command("a red fox")
    parent = finished(fake, "a red fox")
    sender.event(fake.reply(parent.ts, "make it blue", bot=True))
    sender.event(fake.reply("1.000001", "make it green"))  # someone else's thread
    sender.event(fake.reply(parent.ts, "make it grey", user="U0BOB"))  # not the owner
    mention = fake.mention("make it purple", thread_ts=parent.ts)
    sender.event(mention)
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) == 2)
    wait_until(lambda: fake.reactions.get(mention["ts"]) == ["white_check_mark"])
    assert "make it purple" in details(fake, parent, 2)[-1].blocks[0]["text"]["text"]
    assert sum(1 for m in fake.messages if m.thread_ts is None) == 1  # no other thread got anything


def test_a_mention_outside_our_threads_starts_a_new_image(fake, stack):
    sender = stack()
    mention = fake.mention("a lighthouse at dawn")
    sender.event(mention)
    wait_until(lambda: fake.image_posts(CHANNEL, mention["ts"]), what="images under the mention")


def test_one_image_offers_the_canvas_edits_and_make_square_draws_the_sides(fake, stack, redis):
    sender = stack()
    sender.command("a red fox --ar 16:9")
    parent = finished(fake, "a red fox")
    info = details(fake, parent)[0]
    [edits] = [b for b in info.blocks if b.get("block_id", "").startswith("imagine-edits-")]
    labels = [e["text"]["text"] for e in edits["elements"]]
    assert labels == [
        "Upscale (Subtle)",
        "Upscale (Creative)",
        "🖌️ Vary (Region)",
        "🔍 Zoom out 2×",
        "🔍 Zoom out 1.5×",
        "Make square",
        "⬅️",
        "➡️",
        "⬆️",
        "⬇️",
    ]
    square = next(e["action_id"] for e in edits["elements"] if e["text"]["text"] == "Make square")
    assert sender.interactive(fake.block_action(info, square)).status == 200
    posts = wait_until(
        lambda: len(fake.image_posts(CHANNEL, parent.ts)) >= 2 and fake.image_posts(CHANNEL, parent.ts)
    )
    squared = Image.open(io.BytesIO(fake.uploads[posts[-1].files[0]["id"]]))
    assert squared.width == squared.height
    assert wait_until(lambda: [m for m in fake.messages if "⬜ Make square:" in m.text], what="its status")


def test_each_button_and_the_refine_modal(fake, stack, redis):
    sender = stack('[threads]\nrefine_by = "anyone"\n')
    sender.command("a red fox --n 2")
    parent = finished(fake, "a red fox")
    info = details(fake, parent)[0]
    job_id = buttons(info)[0].split(":")[2]

    for number, (action, images) in enumerate(
        [
            (f"imagine:reroll:{job_id}", 2),
            (f"imagine:variation:{job_id}:1", 1),
            (f"imagine:upscale:{job_id}:0", 1),
        ],
        2,
    ):
        assert sender.interactive(fake.block_action(info, action, user="U0BOB")).status == 200
        posts = wait_until(
            lambda n=number: (
                len(fake.image_posts(CHANNEL, parent.ts)) >= n and fake.image_posts(CHANNEL, parent.ts)
            )
        )
        assert len(posts[-1].files) == images
    upscaled = fake.uploads[fake.image_posts(CHANNEL, parent.ts)[-1].files[0]["id"]]
    assert Image.open(io.BytesIO(upscaled)).size == (2048, 2048)
    assert redis.zcard(keys.quota_window("slack:U0BOB")) == 4  # whoever pressed pays

    sender.interactive(fake.block_action(info, f"imagine:refine:{job_id}"))
    opened = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"])[0]
    assert opened["view"]["callback_id"] == "imagine:refine-modal"
    bad = sender.interactive(fake.view_submission(opened["view"], "brighter --zoom 2"))
    assert bad.json()["response_action"] == "errors" and "--zoom" in bad.json()["errors"]["instruction"]
    assert sender.interactive(fake.view_submission(opened["view"], "at dusk")).status == 200
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) == 5, what="the refined image")


def test_in_an_owners_thread_another_members_press_form_and_mention_are_refused(fake, stack, redis):
    sender = stack()  # refine_by = "owner", the default
    sender.command("a red fox")
    parent = finished(fake, "a red fox")
    info = details(fake, parent)[0]
    job_id = buttons(info)[0].split(":")[2]
    refusal = "Only the member who started this thread"

    def told_bob() -> list[str]:
        return [e["text"] for e in fake.ephemeral if e["user"] == "U0BOB"]

    actions = (f"imagine:reroll:{job_id}", f"imagine:variation:{job_id}:0", f"imagine:refine:{job_id}")
    for number, action in enumerate(actions, 1):
        sender.interactive(fake.block_action(info, action, user="U0BOB"))
        wait_until(lambda n=number: len(told_bob()) == n, what=f"the answer to {action}")
    assert all(text.startswith(refusal) for text in told_bob())
    assert not [v for v in fake.views if v["method"] == "views.open"]  # no form for bob
    sender.interactive(fake.block_action(info, f"imagine:refine:{job_id}"))  # the owner's form ...
    opened = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"])[0]
    forged = sender.interactive(fake.view_submission(opened["view"], "make it blue", user="U0BOB"))
    assert forged.json()["response_action"] == "errors"  # ... submitted by bob
    assert forged.json()["errors"]["instruction"].startswith(refusal)
    mention = fake.mention("make it purple", thread_ts=parent.ts, user="U0BOB")
    sender.event(mention)
    wait_until(lambda: len(told_bob()) == 4, what="the mention's answer")
    assert told_bob()[-1].startswith(refusal) and redis.zcard(keys.quota_window("slack:U0BOB")) == 0
    assert len(fake.image_posts(CHANNEL, parent.ts)) == 1 and len(redis.keys("rq:job:img-*")) == 1


def test_a_double_click_makes_one_job(fake, stack, redis):
    sender = stack()
    sender.command("a red fox")
    parent = finished(fake, "a red fox")
    info = details(fake, parent)[0]
    job_id = buttons(info)[0].split(":")[2]
    press = fake.block_action(info, f"imagine:reroll:{job_id}")
    second = {
        **press,
        "trigger_id": "another",
        "actions": [{**press["actions"][0], "action_ts": fake.new_ts()}],
    }
    sender.interactive(press)
    sender.interactive(second)
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) == 2)
    assert len(redis.keys("rq:job:img-*")) == 2


def test_a_rate_limited_upload_is_retried_and_posted_once(fake, stack):
    sender = stack()
    fake.rate_limit("files.completeUploadExternal", times=1, retry_after=1)
    sender.command("a red fox")
    parent = finished(fake, "a red fox")
    assert len([r for r in fake.requests if r.path.startswith("/api/files.completeUploadExternal")]) == 2
    details(fake, parent)
    assert len(fake.image_posts(CHANNEL, parent.ts)) == 1


def test_a_channel_that_is_gone_fails_the_job_once_with_quota_refunded(fake, stack, processes, redis):
    sender = stack(worker=False)
    sender.command("a red fox")
    parent = wait_until(lambda: fake.parent("a red fox"))
    fake.gone_channels.add(CHANNEL)
    processes.worker(slack_env(fake), redis)
    # The worker finishes the job; the frontend finds the channel gone and refunds the images.
    wait_until(lambda: redis.zcard(keys.quota_window(f"slack:{OWNER}")) == 0, what="the refund")
    assert redis.hget(redis.keys("rq:job:img-*")[0], "status") == b"finished"
    uploads = [r for r in fake.requests if r.path.startswith("/api/files.getUploadURLExternal")]
    assert len(uploads) <= 1 and not fake.image_posts(CHANNEL, parent.ts)


def test_app_home_shows_quota_and_recent_images(fake, stack):
    sender = stack()
    sender.command("a red fox")
    finished(fake, "a red fox")
    sender.event({"type": "app_home_opened", "user": OWNER, "channel": "D0HOME", "tab": "home"})
    published = wait_until(lambda: [v for v in fake.views if v["method"] == "views.publish"])[0]
    text = "\n".join(b.get("text", {}).get("text", "") for b in published["view"]["blocks"])
    assert "Images this hour: 1 of 10 used, 9 left." in text
    assert f"<https://fake.slack.com/archives/{CHANNEL}/p" in text and "|a red fox>" in text
    assert published["user_id"] == OWNER and BOT_USER not in text


def test_a_moderation_refusal_is_private_and_charges_nothing(fake, processes, redis):
    with FakeOpenAI() as openai_fake:
        openai_fake.flag_words = {"gore": "violence/graphic"}
        env = {**slack_env(fake), "OPENAI_API_KEY": "sk-test-1", "OPENAI_BASE_URL": openai_fake.base_url}
        sender = start_http_app(processes, env, fake)
        assert sender.command("a gore-soaked battlefield").status == 200
        [answer] = wait_until(lambda: fake.response_urls, what="the private answer")
        assert answer["response_type"] == "ephemeral" and "category: violence/graphic" in answer["text"]
        assert not fake.messages and redis.zcard(keys.quota_window(f"slack:{OWNER}")) == 0


def test_in_the_apps_dm_a_message_is_a_prompt_and_a_reply_in_its_thread_refines(fake, stack):
    sender = stack()
    prompt = fake.direct_message("a lighthouse at dawn --ar 16:9")
    assert sender.event(prompt).status == 200
    wait_until(lambda: fake.image_posts(DM_CHANNEL, prompt["ts"]), what="images in the DM thread")
    reply = fake.direct_message("now at night", thread_ts=prompt["ts"])
    sender.event(reply)
    wait_until(lambda: len(fake.image_posts(DM_CHANNEL, prompt["ts"])) == 2, what="the refinement")
    wait_until(lambda: fake.reactions.get(reply["ts"]) == ["white_check_mark"], what="✅ on the reply")
    edited = {**fake.direct_message("a hare"), "subtype": "message_changed"}
    sender.event(edited)  # an edit is not a new prompt
    assert all(m.channel == DM_CHANNEL for m in fake.messages)
    assert not [m for m in fake.messages if m.thread_ts == edited["ts"]]


def test_imagine_queue_lists_the_members_jobs_and_cancel_takes_one_out(fake, stack, redis):
    sender = stack(worker=False)
    for number, prompt in enumerate(("a fox", "a hare"), 1):
        sender.command(prompt)
        wait_until(lambda n=number: len(redis.keys("rq:job:img-*")) == n, what="the job queued")
    listing = sender.command("queue").json()
    assert listing["text"].splitlines() == ["1. a fox — #1 in the queue", "2. a hare — #2 in the queue"]
    first = listing["blocks"][0]["accessory"]
    assert first["text"]["text"] == "⏹️ Cancel 1" and first["style"] == "danger"
    shown = Posted(channel=CHANNEL, ts="1.000001", text=listing["text"], blocks=listing["blocks"])
    assert sender.interactive(fake.block_action(shown, first["action_id"])).status == 200
    told = wait_until(
        lambda: [e for e in fake.ephemeral if "Cancelled" in e.get("text", "")], what="the answer"
    )
    assert told[0]["text"].startswith("Cancelled before it started") and told[0]["user"] == OWNER
    parent = wait_until(lambda: [m for m in fake.messages if "⏹️" in m.text], what="the parent to say so")
    assert "a fox" in parent[0].text
    assert sender.command("queue").json()["text"] == "1. a hare — #1 in the queue"
    fake.admins.add(OWNER)  # a workspace admin also sees the queues' totals
    totals = sender.command("queue").json()["blocks"][-1]["text"]["text"]
    assert totals.startswith("Queues:\nplaceholder: 1 waiting, 0 running, the oldest waiting")


def test_imagine_quota_answers_the_member_alone_and_help_lists_it(fake, stack, redis):
    sender = stack("[quota]\nimages_per_hour = 5\n", worker=False)
    sender.command("a fox")
    wait_until(lambda: redis.keys("rq:job:img-*"), what="the job queued")
    answer = sender.command("quota")  # the ack's own text: shown to the member alone
    assert answer.status == 200 and answer.text.startswith("Images this hour: 1 of 5 used, 4 left.")
    assert "`/imagine quota` (how many images you have left)" in sender.command("help").text


def test_settings_open_a_modal_whose_choices_apply_and_show_on_the_app_home(fake, stack, redis):
    sender = stack(worker=False)
    assert sender.command("settings").status == 200
    opened = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"], what="the modal")[0]
    modal = opened["view"]
    assert modal["callback_id"] == "imagine-settings"
    style = next(b for b in modal["blocks"] if b.get("block_id") == "style")["element"]
    assert style["initial_option"]["value"] == "-" and {"anime", "watercolor"} <= {
        o["value"] for o in style["options"]
    }
    picks = {"style": "anime", "count": "2", "aspect": None, "enhance": "off"}
    assert sender.interactive(fake.form_submission(modal, picks, {"negative": "text"})).status == 200
    home = wait_until(lambda: [v for v in fake.views if v["method"] == "views.publish"], what="the App Home")[
        0
    ]
    shown = "\n".join(b.get("text", {}).get("text", "") for b in home["view"]["blocks"])
    assert "style anime · shape default · images 2" in shown and "prompt expansion off" in shown
    sender.command("a fox")
    [key] = wait_until(lambda: redis.keys("rq:job:img-*"), what="the job")
    request = Job.fetch(key.decode().removeprefix("rq:job:"), connection=redis, serializer=SERIALIZER).kwargs[
        "request"
    ]
    assert (request["style"], request["count"], request["negative"], request["enhance"]) == (
        "anime",
        2,
        "text",
        False,
    )
    assert sender.interactive(fake.home_button("imagine-settings")).status == 200
    again = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"][1:], what="the Edit")[0]
    style = next(b for b in again["view"]["blocks"] if b.get("block_id") == "style")["element"]
    assert style["initial_option"]["value"] == "anime"


def test_private_results_start_their_thread_in_the_members_dm_with_the_app(fake, stack):
    sender = stack()
    sender.command("settings")
    modal = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"], what="the modal")[0][
        "view"
    ]
    sender.interactive(fake.form_submission(modal, {"private": "on"}, {}))
    wait_until(lambda: [v for v in fake.views if v["method"] == "views.publish"], what="the settings saved")
    sender.command("a secret fox")
    parent = wait_until(lambda: [m for m in fake.messages if "a secret fox" in m.text], what="the parent")[0]
    assert parent.channel == DM_CHANNEL and parent.thread_ts is None
    wait_until(lambda: fake.image_posts(DM_CHANNEL, parent.ts), what="the images in the DM's thread")
    assert not [m for m in fake.messages if m.channel == CHANNEL]
    told = wait_until(lambda: fake.response_urls, what="the private note")
    assert (
        told[-1]["text"].startswith("Your results are private") and told[-1]["response_type"] == "ephemeral"
    )


def test_private_results_keep_the_channels_allow_list_for_replies_in_the_dm(fake, stack):
    sender = stack(f'[channels]\nallow = ["slack:{CHANNEL}"]\n')  # the DM itself is not allowed
    sender.command("settings")
    modal = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"], what="the modal")[0]
    sender.interactive(fake.form_submission(modal["view"], {"private": "on"}, {}))
    wait_until(lambda: [v for v in fake.views if v["method"] == "views.publish"], what="the settings saved")
    sender.command("a secret fox")
    parent = wait_until(lambda: fake.parent("a secret fox"), what="the parent in the DM")
    wait_until(lambda: fake.image_posts(DM_CHANNEL, parent.ts), what="the images in the DM's thread")
    sender.event(fake.direct_message("at night", thread_ts=parent.ts))  # asked in an allowed channel
    wait_until(lambda: len(fake.image_posts(DM_CHANNEL, parent.ts)) == 2, what="the refined image")
    refused = sender.command("a hare", channel="C0OTHER")  # the allow-list still holds elsewhere
    assert "isn't enabled in this channel" in refused.text and not fake.parent("a hare")


def test_a_workspace_admin_sets_the_channels_defaults_in_the_same_form(fake, stack, redis):
    sender = stack(worker=False)
    sender.command("settings", user="U0BOB")
    plain = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"], what="the modal")[0][
        "view"
    ]
    assert not [b for b in plain["blocks"] if b.get("block_id", "").startswith("ch_")]  # not an admin
    fake.admins.add(OWNER)
    sender.command("settings")
    modal = wait_until(lambda: [v for v in fake.views if v["method"] == "views.open"][1:], what="the modal")[
        0
    ]
    form = modal["view"]
    assert {"ch_style", "ch_refine_by"} <= {b.get("block_id") for b in form["blocks"]}
    picks = {"ch_style": "anime", "ch_refine_by": "anyone"}
    assert sender.interactive(fake.form_submission(form, picks, {})).status == 200
    wait_until(lambda: [v for v in fake.views if v["method"] == "views.publish"], what="saved")
    sender.command("a fox", user="U0BOB")  # another member, no defaults of his own: the channel's
    [key] = wait_until(lambda: redis.keys("rq:job:img-*"), what="the job")
    request = Job.fetch(key.decode().removeprefix("rq:job:"), connection=redis, serializer=SERIALIZER).kwargs[
        "request"
    ]
    assert request["style"] == "anime"


def test_a_result_starred_by_enough_members_is_reposted_once_to_the_showcase(fake, stack, redis):
    showcase = "C0SHOWCASE"
    sender = stack(f'[showcase."slack:{TEAM_ID}"]\nchannel = "{showcase}"\nstars = 2\n')
    sender.command("a red fox")
    parent = finished(fake, "a red fox")
    shown = keys.result_message("slack", f"{CHANNEL}:{parent.ts}")
    wait_until(lambda: redis.exists(shown), what="the result fully posted")
    stars = keys.stars(f"{CHANNEL}:{parent.ts}")
    sender.event(fake.star(parent))
    sender.event(fake.star(parent))  # the same member twice: one star
    wait_until(lambda: redis.scard(stars) == 1, what="the first star counted")
    assert not [m for m in fake.messages if m.channel == showcase]
    sender.event(fake.star(parent, user="U0BOB"))
    [post] = wait_until(lambda: [m for m in fake.messages if m.channel == showcase], what="the repost")
    assert post.text.startswith("⭐ *a red fox* — starred by 2 members: https://fake.slack.com/archives/")
    assert len(post.files) == 1
    sender.event(fake.star(parent, user="U0CAROL"))
    wait_until(lambda: redis.scard(stars) == 3, what="a third star counted")
    assert len([m for m in fake.messages if m.channel == showcase]) == 1
