"""Members' pictures on Discord, end to end (frontend and worker as processes, fake Discord and OpenAI):
/imagine with several pictures and /blend (averaged for a backend that takes one, all sent to OpenAI's
edits), /describe and its message command, the "Imagine this" buttons and the hourly limit."""

from __future__ import annotations

import io

import pytest
from nacl.signing import SigningKey
from PIL import Image

from shared import keys
from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import OWNER_ID, FakeDiscord
from tests.helpers import wait_until

DEFER, MESSAGE = 5, 4


@pytest.fixture
def fake():
    with FakeDiscord() as server:
        yield server


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def stack(fake, fake_openai, key, processes, redis, config_file):
    """The frontend with a vision model on the fake OpenAI, and a worker of `backend`."""

    def start(config: str | None = None, *, backend: str = "placeholder"):
        env = {
            **discord_env(fake, key, config_file(config) if config else None),
            **fake_openai.env(),
            "IMAGINE_VISION_MODEL": "gpt-vision-fake",
            "IMAGINE_BACKEND": backend,
        }
        client = start_http_frontend(processes, env, key, fake)
        if backend == "placeholder":
            processes.worker(env, redis)
        else:
            before = len(redis.keys(keys.worker_alive("*")))
            processes.start("worker", "--backend", backend, extra_env=env)
            wait_until(lambda: len(redis.keys(keys.worker_alive("*"))) > before, timeout=20, what="a worker")
        return client

    return start


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def posted_image(fake: FakeDiscord) -> Image.Image:
    thread = wait_until(lambda: fake.threads() and fake.threads()[0], what="a thread")
    [post] = wait_until(lambda: fake.image_posts_in(thread["id"]), what="the image in the thread")
    return Image.open(io.BytesIO(next(iter(post.files.values())))).convert("RGB")


def mean_colour(image: Image.Image) -> tuple[int, int, int]:
    return image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))


def test_blend_averages_the_pictures_for_a_backend_that_takes_one(fake, stack):
    client = stack()
    red, blue = fake.attach(picture((255, 0, 0))), fake.attach(picture((0, 0, 255), (40, 90)))
    command = fake.slash_command(name="blend", image1=red, image2=blue, strength=0.2)
    assert client.post(command).type == DEFER
    r, g, b = mean_colour(posted_image(fake))
    assert r > 2 * g and b > 2 * g  # both pictures are in it (the placeholder keeps 80 % at 0.2)
    status = fake.original(command["token"]).data["content"]
    assert "one image that combines these pictures" in status  # the words a blend without any gets


def test_blend_of_five_and_imagine_with_two_send_every_picture_to_openai_edits(fake, fake_openai, stack):
    client = stack(backend="openai")
    five = {f"image{n}": fake.attach(picture((50 * n, 0, 0))) for n in range(1, 6)}
    client.post(fake.slash_command(name="blend", prompt="one creature", **five))
    wait_until(lambda: fake_openai.edit_inputs, timeout=20, what="the edits request")
    [sent] = fake_openai.edit_inputs
    assert len(sent) == 5
    assert [Image.open(io.BytesIO(data)).getpixel((1, 1))[0] for data in sent] == [50, 100, 150, 200, 250]
    two = fake.slash_command(
        prompt="the cat of the first in the garden of the second",
        image=fake.attach(picture((0, 255, 0))),
        image2=fake.attach(picture((0, 0, 255))),
    )
    client.post(two)
    wait_until(lambda: len(fake_openai.edit_inputs) == 2, timeout=20, what="the second edits request")
    assert len(fake_openai.edit_inputs[1]) == 2


def test_blend_refuses_a_file_that_is_no_picture_and_charges_nothing(fake, stack, redis):
    client = stack()
    notes = fake.attach(b"hello", filename="notes.txt", content_type="text/plain")
    answer = client.post(
        fake.slash_command(name="blend", image1=fake.attach(picture((255, 0, 0))), image2=notes)
    )
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert answer.content.startswith("That file is not a picture I can read")
    assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 0


def test_describe_offers_four_prompts_and_a_button_imagines_one(fake, fake_openai, stack):
    client = stack()
    command = fake.slash_command(name="describe", image=fake.attach(picture((250, 10, 10))))
    assert client.post(command).type == DEFER
    answer = wait_until(
        lambda: (shown := fake.original(command["token"])) and shown.data.get("embeds") and shown,
        what="the suggestions",
    )
    fields = answer.data["embeds"][0]["fields"]
    assert len(fields) == 4 and all("a red scene" in f["value"] for f in fields)
    assert "an oil painting of a red scene" in fields[1]["value"]
    [sent] = [r.json() for r in fake_openai.chat_requests()]
    assert sent["model"] == "gpt-vision-fake"
    buttons = [c["custom_id"] for row in answer.data["components"] for c in row["components"]]
    assert len(buttons) == 4
    press = fake.button_press(answer, buttons[1])
    client.post(press)
    thread = wait_until(lambda: fake.threads() and fake.threads()[0], what="a thread for the job")
    assert thread["name"].startswith("an oil painting of a red scene")
    wait_until(lambda: fake.image_posts_in(thread["id"]), what="the image")


def test_describe_image_on_a_message_uses_its_picture(fake, stack):
    client = stack()
    command = fake.message_command("Describe image", attachments=[fake.attach(picture((10, 10, 250)))])
    client.post(command)
    answer = wait_until(
        lambda: (shown := fake.original(command["token"])) and shown.data.get("embeds") and shown,
        what="the suggestions",
    )
    assert "a blue scene" in answer.data["embeds"][0]["fields"][0]["value"]
    no_picture = client.post(fake.message_command("Describe image", "just words"))
    assert no_picture.ephemeral and "no picture I can describe" in no_picture.content


def test_describe_is_limited_per_hour_and_a_failure_does_not_count(fake, fake_openai, stack, redis):
    client = stack("[quota]\ndescribes_per_hour = 1\n")
    fake_openai.chat_mode = "server_error"
    failed = fake.slash_command(name="describe", image=fake.attach(picture((250, 10, 10))))
    client.post(failed)
    told = wait_until(
        lambda: [r.json() for r in fake.requests_to("POST", rf"/webhooks/\d+/{failed['token']}(\?|$)")],
        what="the private reason",
    )
    assert told[0]["flags"] == 64 and "could not describe the picture" in told[0]["content"]
    wait_until(lambda: fake.original(failed["token"]) is None, what="the public answer to be removed")
    assert redis.zcard(keys.describes(f"discord:{OWNER_ID}")) == 0  # given back
    fake_openai.chat_mode = "structured"
    first = fake.slash_command(name="describe", image=fake.attach(picture((250, 10, 10))))
    assert client.post(first).type == DEFER
    second = client.post(fake.slash_command(name="describe", image=fake.attach(picture((250, 10, 10)))))
    assert second.ephemeral and "described 1 pictures this hour" in second.content
    assert "next is possible in 59 min" in second.content or "next is possible in 1 h" in second.content
    old = wait_until(lambda: (shown := fake.original(first["token"])) and shown.data.get("embeds") and shown)
    redis.delete(*redis.keys(keys.suggestions("*")))  # the suggestions expired
    custom_id = old.data["components"][0]["components"][0]["custom_id"]
    expired = client.post(fake.button_press(old, custom_id))
    assert expired.ephemeral and "suggestions have expired" in expired.content
