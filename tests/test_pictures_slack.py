"""Members' pictures on Slack, end to end (the app and a worker as processes, fake Slack and OpenAI):
a file shared in the app's thread refines from it, files with a mention start from them, /imagine
--blend's form, the "Describe image" shortcut and its buttons; files are fetched with the bot token
from Slack's file host only."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.slack.pictures import DESCRIBE_SHORTCUT
from shared import keys
from tests.fakes.slack_api import BOT_TOKEN, CHANNEL, OWNER, FakeSlack
from tests.helpers import wait_until
from tests.slack_harness import slack_env, start_http_app


@pytest.fixture
def fake():
    with FakeSlack() as server:
        yield server


@pytest.fixture
def sender(fake, fake_openai, processes, redis):
    env = {**slack_env(fake), **fake_openai.env(), "IMAGINE_VISION_MODEL": "gpt-vision-fake"}
    app = start_http_app(processes, env, fake)
    processes.worker(env, redis)
    return app


def picture(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def mean_colour(data: bytes) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(data)).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))


def images_in(fake: FakeSlack, thread_ts: str, count: int) -> list[bytes]:
    posts = wait_until(
        lambda: len(fake.image_posts(CHANNEL, thread_ts)) >= count and fake.image_posts(CHANNEL, thread_ts),
        what=f"{count} image post(s) in the thread",
    )
    return [fake.uploads[post.files[0]["id"]] for post in posts]


def file_reads(fake: FakeSlack) -> list:
    return [r for r in fake.requests if r.path.startswith("/files-pri/")]


def test_a_picture_shared_in_the_thread_is_what_the_refinement_starts_from(fake, sender):
    sender.command("a fox --strength 0.2")
    parent = wait_until(lambda: fake.parent("a fox"), what="the parent")
    images_in(fake, parent.ts, 1)
    red = fake.share(picture((255, 0, 0)))
    reply = fake.with_files(fake.reply(parent.ts, "as a painting --strength 0.2"), [red])
    assert sender.event(reply).status == 200
    first, second = images_in(fake, parent.ts, 2)
    r, g, b = mean_colour(second)
    assert r > 2 * g and r > 2 * b  # drawn over the red picture, not the previous image
    [read] = file_reads(fake)
    assert read.headers["authorization"] == f"Bearer {BOT_TOKEN}"


def test_pictures_with_a_mention_start_a_new_thread_as_a_blend(fake, sender):
    files = [fake.share(picture((255, 0, 0))), fake.share(picture((0, 0, 255)))]
    mention = fake.with_files(fake.mention("--strength 0.2"), files)
    sender.event(mention)
    [image] = images_in(fake, mention["ts"], 1)
    r, g, b = mean_colour(image)
    assert r > 2 * g and b > 2 * g
    assert len(file_reads(fake)) == 2


def test_pictures_marked_with_sref_and_control_steer_a_new_drawing_instead_of_starting_it(
    fake, sender, redis
):
    square = io.BytesIO()
    outline = Image.new("RGB", (256, 256), "black")
    outline.paste((255, 255, 255), (64, 64, 192, 192))
    outline.save(square, format="PNG")
    plain = fake.mention("a fox --seed 3 --size 256x256")  # the same drawing without the pictures
    sender.event(plain)
    files = [fake.share(picture((250, 0, 0))), fake.share(square.getvalue())]
    steered = "a fox --seed 3 --sref --sw 100 --control canny --size 256x256"
    mention = fake.with_files(fake.mention(steered), files)
    sender.event(mention)
    [image] = images_in(fake, mention["ts"], 1)
    [before] = images_in(fake, plain["ts"], 1)
    drawn = Image.open(io.BytesIO(image)).convert("RGB")
    assert drawn.size == (256, 256) and drawn.getpixel((64, 128)) == (255, 255, 255)  # the square's side

    def redness(picture: Image.Image) -> float:
        r, g, b = picture.getpixel((20, 20))
        return r - (g + b) / 2

    # in the red reference's colour, drawn anew (not the pictures averaged)
    assert redness(drawn) > redness(Image.open(io.BytesIO(before)).convert("RGB")) + 30
    assert len(file_reads(fake)) == 2


def test_a_picture_flag_without_a_picture_says_to_attach_one_and_costs_nothing(fake, sender, redis):
    sender.event(fake.mention("a fox --sref"))
    told = wait_until(lambda: fake.ephemeral, what="the refusal")
    assert told[0]["text"] == (
        "--sref needs 1 attached picture, and this message has 0: attach it with the message."
    )
    assert redis.zcard(keys.quota_window(f"slack:{OWNER}")) == 0


def test_blend_opens_a_form_and_wants_two_to_five_pictures(fake, sender, redis):
    assert sender.command("--blend a dream --strength 0.2").status == 200
    [opened] = wait_until(lambda: fake.views, what="the blend form")
    view = opened["view"]
    [file_input] = [b["element"] for b in view["blocks"] if b["element"]["type"] == "file_input"]
    assert file_input["max_files"] == 5
    one = sender.interactive(fake.file_form_submission(view, [fake.share(picture((255, 0, 0)))]))
    assert one.json()["errors"]["pictures"].startswith("A blend takes 2 to 5 pictures; you gave 1")
    files = [fake.share(picture((255, 0, 0))), fake.share(picture((0, 0, 255)))]
    assert sender.interactive(fake.file_form_submission(view, files, "a dream --strength 0.2")).status == 200
    parent = wait_until(lambda: fake.parent("a dream"), what="the blend's parent message")
    [image] = images_in(fake, parent.ts, 1)
    r, g, b = mean_colour(image)
    assert r > 2 * g and b > 2 * g


def test_a_bad_file_or_a_foreign_link_is_refused_and_costs_nothing(fake, sender, redis):
    notes = fake.share(b"hello", "notes.txt", "text/plain")
    sender.event(fake.with_files(fake.mention("a fox"), [{**notes, "mimetype": "image/png"}]))
    told = wait_until(lambda: fake.ephemeral, what="the refusal")
    assert told[0]["text"].startswith("That file is not a picture I can read")
    foreign = {**fake.share(picture((255, 0, 0))), "url_private": "http://127.0.0.1:9/secret.png"}
    foreign.pop("url_private_download")
    sender.event(fake.with_files(fake.mention("a hare"), [foreign]))
    told = wait_until(lambda: len(fake.ephemeral) == 2 and fake.ephemeral, what="the second refusal")
    assert told[1]["text"].startswith("I only take pictures uploaded to this chat")
    assert redis.zcard(keys.quota_window(f"slack:{OWNER}")) == 0 and fake.parent("a hare") is None


def test_a_member_with_no_quota_left_sending_pictures_costs_no_fetch_and_keeps_nothing(
    fake, processes, redis, config_file
):
    sender = start_http_app(processes, slack_env(fake, config_file("[quota]\nimages_per_hour = 0\n")), fake)
    files = [fake.share(picture((255, 0, 0))) for _ in range(4)]
    sender.event(fake.with_files(fake.mention("--strength 0.2"), files))
    told = wait_until(lambda: fake.ephemeral, what="the refusal")
    assert told[0]["text"].startswith("Image generation is switched off for you here"), told[0]["text"]
    assert file_reads(fake) == [] and redis.keys("imagine:picture:*") == []  # admitted first: nothing done


def test_without_files_read_the_member_is_told_what_the_operator_must_add(fake, sender):
    fake.can_read_files = False
    hidden = {
        "id": fake.share(picture((255, 0, 0)))["id"],
        "mimetype": "image/png",
        "file_access": "check_file_info",
    }
    sender.event(fake.with_files(fake.mention("a fox"), [hidden]))
    told = wait_until(lambda: fake.ephemeral, what="the refusal")
    assert "lacks the files:read scope" in told[0]["text"]


def test_describe_image_posts_four_prompts_whose_buttons_imagine_them(fake, fake_openai, sender):
    message = fake.with_files(fake.reply(None, "look at this"), [fake.share(picture((0, 200, 0)))])
    assert sender.interactive(fake.message_shortcut(DESCRIBE_SHORTCUT, message)).status == 200
    answer = wait_until(
        lambda: next((m for m in fake.thread(CHANNEL, message["ts"]) if m.blocks), None),
        what="the suggestions in the message's thread",
    )
    prompts = [b for b in answer.blocks if b.get("accessory")]
    assert len(prompts) == 4 and all("a green scene" in b["text"]["text"] for b in prompts)
    assert fake_openai.chat_requests()[0].json()["model"] == "gpt-vision-fake"
    press = fake.block_action(answer, prompts[2]["accessory"]["action_id"])
    sender.interactive(press)
    parent = wait_until(lambda: fake.parent("a 3D render of a green scene"), what="the job's parent message")
    images_in(fake, parent.ts, 1)
    words_only = fake.reply(None, "no picture here")
    sender.interactive(fake.message_shortcut(DESCRIBE_SHORTCUT, words_only))
    told = wait_until(lambda: fake.ephemeral, what="the answer")
    assert "no picture I can describe" in told[0]["text"]
