"""`imagine discord --http` as a real process, signed interactions in, a real worker, a fake Discord API."""

from __future__ import annotations

import io
import time

import pytest
from nacl.signing import SigningKey
from PIL import Image
from rq.job import Job

from shared import keys
from shared.jobs.queue import SERIALIZER
from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import CHANNEL_ID, OWNER_ID, FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import wait_until

DEFER, MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = 5, 4, 6, 7, 8, 9


@pytest.fixture
def fake():
    with FakeDiscord() as server:
        yield server


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def stack(fake, key, processes, redis, config_file):
    """Frontend and worker, with a config written by the test first (default: the shipped one)."""

    def start(config: str | None = None, *, worker: bool = True):
        env = discord_env(fake, key, config_file(config) if config else None)
        client = start_http_frontend(processes, env, key, fake)
        if worker:
            processes.worker(env, redis)
        return client

    return start


def finished_thread(fake: FakeDiscord, images: int = 1) -> tuple[str, list]:
    thread = wait_until(lambda: fake.threads() and fake.threads()[0], what="a thread")
    posts = wait_until(
        lambda: len(fake.image_posts_in(thread["id"])) >= images and fake.image_posts_in(thread["id"]),
        what="images in the thread",
    )
    return thread["id"], posts


def buttons(message) -> dict[str, str]:
    """custom id -> label of every button under a message."""
    return {
        c["custom_id"]: c.get("label", "") for row in message.data["components"] for c in row["components"]
    }


def test_imagine_defers_opens_a_thread_and_the_worker_posts_the_images_there(fake, stack):
    client = stack()
    payload = fake.slash_command(prompt="a fox in the snow at dusk", count=2, aspect="landscape")
    answer = client.post(payload)
    assert (answer.status, answer.type, answer.ephemeral) == (200, DEFER, False)

    thread_id, posts = finished_thread(fake)
    thread = fake.channels[thread_id]
    assert thread["name"] == "a fox in the snow at dusk" and thread["parent_id"] == CHANNEL_ID
    [post] = posts
    assert len(post.files) == 2
    width, height = Image.open(io.BytesIO(next(iter(post.files.values())))).size
    assert width > height  # landscape
    embed = post.data["embeds"][0]
    assert embed["description"] == "a fox in the snow at dusk"
    assert {f["name"] for f in embed["fields"]} >= {"Seeds", "Model", "Time"}
    ids = buttons(post)
    job_id = next(i for i in ids if i.startswith("imagine:reroll:")).split(":")[2]
    assert set(ids) == {
        f"imagine:variation:{job_id}:0",
        f"imagine:variation:{job_id}:1",
        f"imagine:upscale:{job_id}:0",
        f"imagine:upscale:{job_id}:1",
        f"imagine:reroll:{job_id}",
        f"imagine:refine:{job_id}",
        f"imagine:info:{job_id}",
        f"imagine:delete:{job_id}:{OWNER_ID}",
    }
    status = wait_until(
        lambda: (
            "done" in (fake.original(payload["token"]).data["content"]) and fake.original(payload["token"])
        ),
        what="the status to say done",
    )
    assert status.data["content"].startswith("🎨 *a fox in the snow at dusk* — ✅ done — 2 images")
    for message in fake.posts_in(CHANNEL_ID) + fake.posts_in(thread_id):
        assert message.data["allowed_mentions"] == {"parse": []}


def test_zoom_out_and_pan_buttons_under_one_image_make_their_jobs_in_the_thread(fake, stack, redis):
    client = stack()
    client.post(fake.slash_command(prompt="a harbour", aspect="landscape"))
    thread_id, [post] = finished_thread(fake)
    rows = [
        [(c.get("emoji") or {}).get("name", "") + " " + c.get("label", "") for c in row["components"]]
        for row in post.data["components"]
    ]
    assert [r.strip() for r in rows[2]] == [
        "🖌️ Vary (Region)",
        "🔍 Zoom out 2×",
        "🔍 Zoom out 1.5×",
        "Make square",
    ]
    assert [r.strip() for r in rows[3]] == ["⬅️", "➡️", "⬆️", "⬇️"]
    assert all(len(row) <= 5 for row in rows) and len(rows) <= 5
    job_id = next(i for i in buttons(post) if i.startswith("imagine:reroll:")).split(":")[2]
    ((width, height),) = image_sizes(post)
    for number, (custom_id, label, size) in enumerate(
        [
            (f"imagine:zoom2:{job_id}", "🔍 Zoom out", (width, height)),
            (f"imagine:panright:{job_id}", "↔️ Pan", (width * 3 // 2 // 8 * 8, height)),
        ],
        2,
    ):
        payload = fake.button_press(post, custom_id)
        assert client.post(payload).type == DEFER
        posts = wait_until(
            lambda n=number: len(fake.image_posts_in(thread_id)) >= n and fake.image_posts_in(thread_id)
        )
        assert image_sizes(posts[-1]) == [size]
        status = wait_until(
            lambda p=payload: (
                "done" in fake.original(p["token"]).data["content"] and fake.original(p["token"])
            )
        )
        assert status.data["content"].startswith(label)
    assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 3  # one image each


def test_imagine_run_inside_a_thread_answers_there_and_opens_no_other(fake, stack, redis):
    """The thread is read from the raw payload (its type and parent): the job belongs to the parent
    channel, the status and images go to the thread itself."""
    client = stack()
    client.post(fake.slash_command(prompt="a fox"))
    thread_id, _ = finished_thread(fake)
    inside = fake.slash_command(prompt="a hare in the same thread", channel_id=thread_id)
    assert client.post(inside).type == DEFER
    wait_until(lambda: len(fake.image_posts_in(thread_id)) == 2, what="the second image in the thread")
    assert len(fake.threads()) == 1
    status = wait_until(
        lambda: "done" in fake.original(inside["token"]).data["content"] and fake.original(inside["token"])
    )
    assert status.data["channel_id"] == thread_id
    jobs = [
        Job.fetch(k.decode().removeprefix("rq:job:"), connection=redis, serializer=SERIALIZER)
        for k in redis.keys("rq:job:img-*")
    ]
    [request] = [j.kwargs["request"] for j in jobs if j.kwargs["request"]["prompt"].startswith("a hare")]
    requester = request["requester"]
    assert (requester["channel"], requester["thread"]) == (CHANNEL_ID, thread_id)


def test_a_job_queued_with_no_worker_says_so_and_moves_on_when_one_starts(fake, key, stack, processes, redis):
    client = stack(worker=False)
    payload = fake.slash_command(prompt="a fox")
    client.post(payload)
    status = wait_until(
        lambda: (
            "queued" in (fake.original(payload["token"]).data.get("content") or "")
            and fake.original(payload["token"])
        ),
        what="the queued status",
    )
    assert (
        "no image worker is running right now; your request will start when one is back"
        in (status.data["content"])
    )
    processes.worker(discord_env(fake, key), redis)
    wait_until(
        lambda: "✅ done" in fake.original(payload["token"]).data["content"], what="the status to say done"
    )


def test_signatures_are_checked_and_pings_answered(fake, key, stack):
    client = stack(worker=False)
    ping = {"id": fake.new_id(), "type": 1, "application_id": "1", "token": "t", "version": 1}
    assert client.post(ping).body == {"type": 1}
    assert client.post(ping, key=SigningKey.generate()).status == 401  # forged
    assert client.post(ping, timestamp=int(time.time()) - 3600).status == 401  # stale: a replay
    command = fake.slash_command(prompt="a cat")
    assert client.post(command, key=SigningKey.generate()).status == 401
    assert not fake.callbacks and not fake.threads()


def first_result(fake: FakeDiscord, client, **options):
    """Ask for an image and return (thread id, the image post, its job id) once it has arrived."""
    payload = fake.slash_command(**{"prompt": "a red fox", **options})
    assert client.post(payload).type == DEFER
    thread_id, [post] = finished_thread(fake)
    job_id = next(i for i in buttons(post) if i.startswith("imagine:reroll:")).split(":")[2]
    return thread_id, post, job_id


def image_sizes(post) -> list[tuple[int, int]]:
    return [Image.open(io.BytesIO(data)).size for data in post.files.values()]


def test_each_button_makes_its_job_in_the_same_thread_charged_to_whoever_pressed(fake, stack, redis):
    client = stack('[threads]\nrefine_by = "anyone"\n')
    thread_id, post, job_id = first_result(fake, client, count=2)
    bob = fake.member("1300000000000000002", "bob")

    presses = [
        (f"imagine:reroll:{job_id}", 2, "🔁 Reroll"),
        (f"imagine:variation:{job_id}:1", 1, "✨ Variation"),
        (f"imagine:upscale:{job_id}:0", 1, "⬆️ Upscale"),
    ]
    for number, (custom_id, images, label) in enumerate(presses, 2):
        payload = fake.button_press(post, custom_id, member=bob)
        answer = client.post(payload)
        assert (answer.type, answer.ephemeral) == (DEFER, False)
        posts = wait_until(
            lambda n=number: len(fake.image_posts_in(thread_id)) >= n and fake.image_posts_in(thread_id),
            what=label,
        )
        assert len(posts[-1].files) == images
        status = wait_until(
            lambda p=payload: (
                "done" in fake.original(p["token"]).data["content"] and fake.original(p["token"])
            )
        )
        assert status.data["content"].startswith(label) and status.data["channel_id"] == thread_id
    assert image_sizes(fake.image_posts_in(thread_id)[-1]) == [(2048, 2048)]  # the upscale: twice the size
    assert redis.zcard(keys.quota_window("discord:1300000000000000002")) == 4  # bob pressed: 2 + 1 + 1
    assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 2


def test_info_delete_and_the_refine_modal(fake, stack):
    client = stack()
    thread_id, post, job_id = first_result(fake, client)

    info = client.post(fake.button_press(post, f"imagine:info:{job_id}"))
    assert (info.type, info.ephemeral) == (MESSAGE, True)
    fields = {f["name"]: f["value"] for f in info.body["data"]["embeds"][0]["fields"]}
    assert info.body["data"]["embeds"][0]["description"] == "a red fox"
    assert {"Seed", "Model", "Size", "Time"} <= set(fields) and fields["Size"] == "1024×1024"

    modal = client.post(fake.button_press(post, f"imagine:refine:{job_id}"))
    assert modal.type == MODAL and modal.body["data"]["custom_id"] == f"imagine:refine-modal:{job_id}"
    submit = fake.modal_submit(modal.body["data"]["custom_id"], thread_id, "at night, snowing --ar 16:9")
    assert client.post(submit).type == DEFER
    refined = wait_until(
        lambda: len(fake.image_posts_in(thread_id)) >= 2 and fake.image_posts_in(thread_id)[-1]
    )
    assert refined.data["embeds"][0]["description"] == "a red fox, at night, snowing"
    width, height = image_sizes(refined)[0]
    assert width > height  # only the aspect changed

    stranger = fake.member("1300000000000000003", "mallory")
    refused = client.post(fake.button_press(post, f"imagine:delete:{job_id}:{OWNER_ID}", member=stranger))
    assert refused.ephemeral and "Only the member who asked" in refused.content
    assert post.data["id"] in fake.messages
    assert client.post(fake.button_press(post, f"imagine:delete:{job_id}:{OWNER_ID}")).type == DEFER
    wait_until(lambda: post.data["id"] not in fake.messages, what="the result to be deleted")


def test_a_quota_refusal_is_private_exact_and_opens_nothing(fake, stack):
    client = stack("[quota]\nimages_per_hour = 1\n")
    first_result(fake, client)
    answer = client.post(fake.slash_command(prompt="another one"))
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert answer.content.startswith("Please wait ") and answer.content.endswith(
        "— you have used 1 of 1 images this hour."
    )
    assert len(fake.threads()) == 1


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"prompt": "a fox", "count": 9}, "The count must be between 1 and 4 (you asked for 9)."),
        ({"prompt": "a fox", "seed": -1}, "The seed must be between 0 and 4,294,967,295"),
        ({"prompt": "a fox", "style": "cubism"}, "There is no style called “cubism”"),
        ({"prompt": "a fox", "aspect": "round"}, "“round” is not an aspect I know"),
        ({"prompt": "   "}, "Your prompt is empty"),
        ({"prompt": "a fox\x07"}, "control character (U+0007)"),
        ({"prompt": "x" * 1001}, "Your prompt is 1,001 characters long; the limit is 1,000."),
    ],
)
def test_invalid_input_gets_a_private_specific_message_and_charges_nothing(
    fake, stack, redis, options, reason
):
    client = stack(worker=False)
    answer = client.post(fake.slash_command(**options))
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert reason in answer.content
    assert not fake.threads() and not redis.keys(keys.quota_window("*"))


def test_channels_off_the_allow_list_are_refused(fake, stack):
    client = stack('[channels]\nallow = ["discord:999"]\n', worker=False)
    answer = client.post(fake.slash_command(prompt="a fox"))
    assert answer.ephemeral and "isn't enabled in this channel" in answer.content


def test_a_mention_spam_prompt_pings_nobody(fake, stack):
    client = stack()
    prompt = "@everyone @here <@1300000000000000002> <@&1600000000000000001> a *bold* fox"
    payload = fake.slash_command(prompt=prompt)
    client.post(payload)
    thread_id, [post] = finished_thread(fake)
    status = fake.original(payload["token"]).data["content"]
    shown = [status, post.data["embeds"][0]["description"], fake.channels[thread_id]["name"]]
    for text in shown[:2]:
        assert "@everyone" not in text and "@here" not in text and "<@1300000000000000002>" not in text
        assert "<@&" not in text and "\\*bold\\*" in text
    for message in fake.posts_in(CHANNEL_ID) + fake.posts_in(thread_id):
        assert message.data["allowed_mentions"] == {"parse": []}


def test_the_same_interaction_delivered_twice_makes_one_job(fake, stack, redis):
    client = stack()
    payload = fake.slash_command(prompt="a fox")
    assert client.post(payload).type == DEFER
    assert client.post(payload).status == 409
    finished_thread(fake)
    assert len(fake.threads()) == 1 and len(fake.requests_to("PATCH", r"/@original$")) == 1
    assert len(redis.keys("rq:job:img-*")) == 1


def test_a_rate_limited_upload_is_retried_and_posted_once(fake, stack):
    client = stack()
    fake.rate_limit(r"^POST /api/v10/channels/\d+/messages$", times=2, retry_after=0.2)
    thread_id, _ = finished_thread(fake) if client.post(fake.slash_command(prompt="a fox")) else (None, None)
    uploads = fake.requests_to("POST", rf"/channels/{thread_id}/messages$")
    assert len(uploads) == 3  # two 429s, then the post
    assert len(fake.image_posts_in(thread_id)) == 1


def test_a_deleted_thread_fails_the_job_cleanly_with_quota_refunded(fake, stack, processes, redis, key):
    client = stack(worker=False)
    payload = fake.slash_command(prompt="a fox")
    client.post(payload)
    thread = wait_until(lambda: fake.threads() and fake.threads()[0], what="a thread")
    fake.delete_channel(thread["id"])
    processes.worker(discord_env(fake, key), redis)
    status = wait_until(
        lambda: "❌" in fake.original(payload["token"]).data["content"] and fake.original(payload["token"])
    )
    assert "could not be posted here" in status.data["content"]
    assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 0
    assert len(fake.requests_to("POST", rf"/channels/{thread['id']}/messages$")) == 1  # not retried


def test_images_over_the_upload_limit_are_split_or_recompressed(fake, stack):
    client = stack()
    budget = 60_000
    payload = fake.slash_command(prompt="a fox", count=2, upload_limit=64 * 1024 + budget)
    client.post(payload)
    thread_id, posts = finished_thread(fake, images=2)
    assert [len(p.files) for p in posts] == [1, 1]  # each fits alone, not both together
    assert posts[-1].data["components"] and not posts[0].data["components"]  # buttons under the last

    smaller = fake.slash_command(prompt="a hare", upload_limit=64 * 1024 + 25_000)
    client.post(smaller)
    second = wait_until(lambda: len(fake.threads()) == 2 and fake.threads()[1]["id"])
    [post] = wait_until(lambda: fake.image_posts_in(second))
    [(name, data)] = post.files.items()
    assert name.endswith(".webp") and len(data) <= 25_000
    assert "Image 1 was compressed to fit the upload limit" in post.data["content"]

    hopeless = fake.slash_command(prompt="an owl", upload_limit=64 * 1024 + 5_000)
    client.post(hopeless)
    third = wait_until(lambda: len(fake.threads()) == 3 and fake.threads()[2]["id"])
    [post] = wait_until(lambda: fake.posts_in(third))
    assert not post.files and post.data["embeds"]
    assert "Image 1 could not be posted: even compressed it is larger than" in post.data["content"]


def test_style_autocomplete_offers_the_configured_presets(fake, stack):
    client = stack(worker=False)
    answer = client.post(fake.autocomplete("style", "co", prompt="a fox"))
    assert answer.type == AUTOCOMPLETE_RESULT
    assert [c["value"] for c in answer.body["data"]["choices"]] == ["watercolor"]


MODELS = """
[diffusers.models.dream]
file = "/models/dreamshaper_8.safetensors"
description = "painterly SD 1.5"
[diffusers.models.after-dark]
file = "/models/x.safetensors"
nsfw = true
[diffusers.loras.pixel]
file = "/loras/pixel.safetensors"
description = "pixel art"
[diffusers.loras.ink]
file = "/loras/ink.safetensors"
"""


def test_model_and_lora_autocomplete_offer_the_configured_ones_nsfw_only_where_marked(
    fake, key, processes, config_file
):
    env = {**discord_env(fake, key, config_file(MODELS)), "IMAGINE_BACKEND": "diffusers"}
    client = start_http_frontend(processes, env, key, fake)
    models = client.post(fake.autocomplete("model", "", prompt="a fox")).body["data"]["choices"]
    assert models == [{"name": "dream — painterly SD 1.5", "value": "dream"}]
    fake.channels["1200000000000000077"] = fake.text_channel("1200000000000000077", "after-dark", nsfw=True)
    adult = client.post(fake.autocomplete("model", "", channel_id="1200000000000000077", prompt="a fox"))
    assert [c["value"] for c in adult.body["data"]["choices"]] == ["dream", "after-dark"]
    loras = client.post(fake.autocomplete("lora", "pixel:0.8, i", prompt="a fox")).body["data"]["choices"]
    assert loras == [{"name": "pixel:0.8, ink", "value": "pixel:0.8, ink"}]


def test_quota_shows_what_is_used_and_left_privately(fake, stack):
    client = stack()
    first_result(fake, client, count=3)
    answer = client.post(fake.slash_command(name="quota"))
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert "Images this hour: 3 of 10 used, 7 left." in answer.content
    assert "This server today: 3 of 200 images" in answer.content


def test_an_age_restricted_channel_is_marked_on_the_job(fake, stack, redis):
    fake.channels["1200000000000000077"] = fake.text_channel("1200000000000000077", "after-dark", nsfw=True)
    client = stack(worker=False)
    client.post(fake.slash_command(prompt="a moody portrait", channel_id="1200000000000000077"))
    [key] = wait_until(lambda: redis.keys("rq:job:img-*"))
    job = Job.fetch(key.decode().removeprefix("rq:job:"), connection=redis, serializer=SERIALIZER)
    request = job.kwargs["request"]
    assert (
        request["requester"]["channel_nsfw"] is True
        and request["requester"]["channel"] == "1200000000000000077"
    )


def test_a_moderation_refusal_is_private_and_charges_nothing(fake, key, processes, redis):
    with FakeOpenAI() as openai_fake:
        openai_fake.flag_words = {"gore": "violence/graphic"}
        env = {
            **discord_env(fake, key),
            "OPENAI_API_KEY": "sk-test-1",
            "OPENAI_BASE_URL": openai_fake.base_url,
        }
        client = start_http_frontend(processes, env, key, fake)
        payload = fake.slash_command(prompt="a gore-soaked battlefield")
        assert client.post(payload).type == DEFER
        followup = wait_until(lambda: fake.requests_to("POST", rf"/webhooks/\d+/{payload['token']}(\?|$)"))[
            0
        ].json()
        assert followup["flags"] == 64 and "category: violence/graphic" in followup["content"]
        assert "gore" not in followup["content"]
        wait_until(lambda: fake.original(payload["token"]) is None, what="the public response to be removed")
        assert not fake.threads() and redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 0


def test_a_double_click_makes_one_job(fake, stack, redis):
    client = stack()
    thread_id, post, job_id = first_result(fake, client)
    first, second = (fake.button_press(post, f"imagine:reroll:{job_id}") for _ in range(2))
    assert client.post(first).type == DEFER
    again = client.post(second)
    assert again.ephemeral and "already received" in again.content
    wait_until(lambda: len(fake.image_posts_in(thread_id)) == 2)
    assert len(redis.keys("rq:job:img-*")) == 2


def test_progress_previews_show_on_the_status_message(fake, key, processes, redis, config_file):
    """With a backend that streams partial images, the status message carries the latest preview, and
    the finished status drops it (the images are in the thread)."""
    with FakeOpenAI() as openai_fake:
        config = config_file("[openai]\npartial_images = 2\n")
        env = {
            **discord_env(fake, key, config),
            "OPENAI_API_KEY": "sk-test-1",
            "OPENAI_BASE_URL": openai_fake.base_url,
            "IMAGINE_BACKEND": "openai",
        }
        client = start_http_frontend(processes, env, key, fake)
        before = len(redis.keys(keys.worker_alive("*")))
        processes.start("worker", "--backend", "openai", extra_env=env)
        wait_until(
            lambda: len(redis.keys(keys.worker_alive("*"))) > before, timeout=20, what="the openai worker"
        )
        payload = fake.slash_command(prompt="a lighthouse at dawn")
        client.post(payload)
        finished_thread(fake)
        status = wait_until(
            lambda: (
                "done" in fake.original(payload["token"]).data["content"] and fake.original(payload["token"])
            )
        )
    edits = fake.requests_to("PATCH", rf"/channels/\d+/messages/{status.data['id']}$")
    previews = [r for r in edits if r.headers.get("content-type", "").startswith("multipart/form-data")]
    assert len(previews) == 2 and all("preview.png" in str(r.form_files()) for r in previews)
    assert not status.files  # done: the preview is gone


def test_a_refusal_by_the_image_services_safety_system_reads_as_a_refusal(fake, key, processes, redis):
    with FakeOpenAI() as openai_fake:
        env = {**discord_env(fake, key), **openai_fake.env(), "IMAGINE_BACKEND": "openai"}
        client = start_http_frontend(processes, env, key, fake)
        processes.start("worker", "--backend", "openai", extra_env=env)
        wait_until(lambda: redis.keys(keys.worker_alive("*")), timeout=20, what="the openai worker")
        openai_fake.fail_next("safety")
        payload = fake.slash_command(prompt="a lighthouse at dawn")
        client.post(payload)
        status = wait_until(
            lambda: (
                "🚫" in fake.original(payload["token"]).data["content"] and fake.original(payload["token"])
            ),
            what="the status to show the refusal",
        )
    assert "🚫 the image service's safety system refused this prompt" in status.data["content"]


def test_in_a_private_channel_the_answer_comes_through_the_interaction_and_its_buttons_work(fake, stack):
    """A user-installed app used in members' own DM: the bot may answer the interaction there, but
    not post or read on its own."""
    client = stack()
    private = fake.private_channel()
    payload = fake.slash_command(prompt="a fox in the snow", channel_id=private["id"])
    assert client.post(payload).type == DEFER
    [post] = wait_until(lambda: fake.image_posts_in(private["id"]), what="the images in the private channel")
    assert "refine with the ✏️ Refine button" in post.data["content"]
    wait_until(lambda: "✅" in fake.original(payload["token"]).data["content"], what="the status to say done")
    reroll = next(custom_id for custom_id in buttons(post) if "reroll" in custom_id)
    assert client.post(fake.button_press(post, reroll)).type == DEFER
    wait_until(lambda: len(fake.image_posts_in(private["id"])) == 2, what="the reroll's images")
    assert fake.threads() == []


def test_in_a_private_channel_an_answer_later_than_the_token_goes_to_the_members_dm(
    fake, key, stack, processes, redis
):
    client = stack(worker=False)
    private = fake.private_channel()
    payload = fake.slash_command(prompt="a slow fox", channel_id=private["id"])
    assert client.post(payload).type == DEFER
    wait_until(lambda: "queued" in fake.original(payload["token"]).data["content"], what="the job to queue")
    fake.expire(payload)  # the job waited more than 15 minutes for a worker
    processes.worker(discord_env(fake, key), redis)
    dm = fake.dm_channel(OWNER_ID)
    [post] = wait_until(lambda: fake.image_posts_in(dm["id"]), what="the images in the member's DM")
    assert post.data["content"].startswith("Your images took longer than Discord lets me answer")
    assert fake.image_posts_in(private["id"]) == []


def test_queue_lists_the_members_jobs_privately_and_cancel_takes_one_out(fake, stack, redis):
    client = stack(worker=False)
    fox, hare = fake.slash_command(prompt="a fox"), fake.slash_command(prompt="a hare")
    for number, command in enumerate((fox, hare), 1):
        client.post(command)
        wait_until(lambda n=number: len(redis.keys("rq:job:img-*")) == n, what="the job queued")
    asked = fake.slash_command(name="queue")
    answer = client.post(asked)
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert answer.content.splitlines() == ["1. a fox — #1 in the queue", "2. a hare — #2 in the queue"]
    listing = fake.original(asked["token"])
    cancel_first = next(cid for cid, label in buttons(listing).items() if label.endswith("Cancel 1"))
    pressed = client.post(fake.button_press(listing, cancel_first))
    assert (pressed.type, pressed.ephemeral) == (MESSAGE, True)
    assert pressed.content.startswith("Cancelled before it started")
    wait_until(lambda: "⏹️" in fake.original(fox["token"]).data["content"], what="the status to say cancelled")
    assert fake.original(fox["token"]).data["content"] == "🎨 *a fox* — ⏹️ cancelled. Nothing was charged."
    manager = fake.member(permissions=str(1 << 5 | 1 << 11))  # Manage Server
    operator = client.post(fake.slash_command(name="queue", member=manager))
    assert "Queues:\nplaceholder: 1 waiting, 0 running, the oldest waiting" in operator.content


def test_quota_answers_privately_with_what_the_member_used_and_has_left(fake, stack, redis):
    client = stack("[quota]\nimages_per_hour = 5\n", worker=False)
    client.post(fake.slash_command(prompt="a fox"))
    wait_until(lambda: redis.keys("rq:job:img-*"), what="the job queued")
    answer = client.post(fake.slash_command(name="quota"))
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert answer.content.startswith("Images this hour: 1 of 5 used, 4 left.")
    assert "Jobs queued or running: 1 of 2." in answer.content


def components(message) -> dict[str, dict]:
    """custom id -> component (button or select) of every row under a message."""
    return {c["custom_id"]: c for row in message.data["components"] for c in row["components"]}


def test_settings_are_select_menus_whose_choices_apply_to_the_next_imagine(fake, stack, redis):
    client = stack(worker=False)
    asked = fake.slash_command(name="settings")
    answer = client.post(asked)
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert answer.content.startswith("**Your defaults**") and "style default" in answer.content
    shown = fake.original(asked["token"])
    style = components(shown)["imagine:set:style"]
    assert style["type"] == 3 and {"anime", "watercolor"} <= {o["value"] for o in style["options"]}
    updated = client.post(fake.select(shown, "imagine:set:style", ["watercolor"]))
    assert updated.type == UPDATE_MESSAGE and "style watercolor" in updated.content
    client.post(fake.select(shown, "imagine:set:count", ["2"]))
    form = client.post(fake.button_press(shown, "imagine:set:negative"))
    assert form.type == MODAL and form.body["data"]["custom_id"] == "imagine:setmodal:negative"
    saved = client.post(
        fake.modal_submit("imagine:setmodal:negative", CHANNEL_ID, "text, watermark", field="negative")
    )
    assert (saved.type, saved.content, saved.ephemeral) == (MESSAGE, "Saved.", True)
    client.post(fake.slash_command(prompt="a fox", count=1))  # a flag typed wins over the default
    [key] = wait_until(lambda: redis.keys("rq:job:img-*"), what="the job")
    job = Job.fetch(key.decode().removeprefix("rq:job:"), connection=redis, serializer=SERIALIZER)
    request = job.kwargs["request"]
    assert (request["style"], request["count"], request["negative"]) == ("watercolor", 1, "text, watermark")


def test_channel_defaults_are_for_members_who_may_manage_the_server(fake, stack):
    client = stack(worker=False)
    manager = fake.member(permissions=str(1 << 5 | 1 << 11))
    client.post(fake.slash_command(name="settings"))
    assert not [m for m in fake.posts_in(CHANNEL_ID) if "This channel's defaults" in m.data["content"]]
    client.post(fake.slash_command(name="settings", member=manager))
    [channel] = wait_until(
        lambda: [m for m in fake.posts_in(CHANNEL_ID) if "This channel's defaults" in m.data["content"]],
        what="the channel's settings",
    )
    toggle = components(channel)["imagine:chset:refine_by"]
    assert toggle["label"] == "Replies refine: the owner's only"
    refused = client.post(fake.button_press(channel, "imagine:chset:refine_by"))
    assert refused.content == "Only members who may Manage Server can change this channel's defaults."
    toggled = client.post(fake.button_press(channel, "imagine:chset:refine_by", member=manager))
    assert toggled.type == UPDATE_MESSAGE
    assert components_of(toggled)["imagine:chset:refine_by"]["label"] == "Replies refine: anyone's"


def components_of(answer) -> dict[str, dict]:
    rows = answer.body["data"]["components"]
    return {c["custom_id"]: c for row in rows for c in row["components"]}


def test_gallery_pages_the_members_last_images_with_thumbnails_and_links(fake, stack, redis):
    client = stack()
    for number in range(6):
        client.post(fake.slash_command(prompt=f"fox number {number}"))
        wait_until(
            lambda n=number: len(fake.threads()) == n + 1 and fake.image_posts_in(fake.threads()[-1]["id"])
        )
    asked = fake.slash_command(name="gallery")
    first = client.post(asked)
    assert (first.type, first.ephemeral) == (DEFER, True)
    shown = wait_until(lambda: fake.original(asked["token"]).files and fake.original(asked["token"]))
    lines = shown.data["content"].splitlines()
    assert lines[0] == "**Your last 6 image sets** — page 1 of 2"
    assert lines[1].startswith("1. [fox number 5](https://discord.com/channels/") and "<t:" in lines[1]
    assert len(shown.files) == 5 and all(name.endswith(".jpg") for name in shown.files)
    pages = components(shown)
    assert pages["imagine:gallery:◀"]["disabled"] and not pages["imagine:gallery:1"].get("disabled")
    turned = client.post(fake.button_press(shown, "imagine:gallery:1"))
    assert turned.type == DEFERRED_UPDATE
    wait_until(lambda: "page 2 of 2" in shown.data["content"], what="the page to turn")
    assert shown.data["content"].splitlines()[1].startswith("6. [fox number 0]") and len(shown.files) == 1


def test_in_an_owners_thread_another_members_press_form_and_refine_are_refused(fake, stack, redis):
    client = stack()  # refine_by = "owner", the default
    thread_id, post, job_id = first_result(fake, client)
    bob = fake.member("1300000000000000002", "bob")
    for custom_id in (
        f"imagine:reroll:{job_id}",
        f"imagine:variation:{job_id}:0",
        f"imagine:refine:{job_id}",
    ):
        refused = client.post(fake.button_press(post, custom_id, member=bob))
        assert (refused.type, refused.ephemeral) == (MESSAGE, True), custom_id  # not the form, not a job
        assert refused.content.startswith("Only the member who started this thread"), custom_id
    submitted = client.post(
        fake.modal_submit(f"imagine:refine-modal:{job_id}", thread_id, "make it blue", member=bob)
    )
    assert submitted.ephemeral and submitted.content.startswith("Only the member who started this thread")
    assert redis.zcard(keys.quota_window("discord:1300000000000000002")) == 0
    assert len(fake.image_posts_in(thread_id)) == 1 and len(redis.keys("rq:job:img-*")) == 1
    assert client.post(fake.button_press(post, f"imagine:refine:{job_id}")).type == MODAL  # the owner's


def test_private_results_keep_the_servers_block_list_and_quota_for_the_command_and_its_dm(fake, stack, redis):
    from tests.fakes.discord_api import GUILD_ID

    client = stack(
        f"""
[quota.workspaces."discord:{GUILD_ID}"]
images_per_hour = 1
[moderation.workspaces."discord:{GUILD_ID}"]
blocklist = ["dragon"]
"""
    )
    asked = fake.slash_command(name="settings")
    client.post(asked)
    client.post(fake.button_press(fake.original(asked["token"]), "imagine:set:private"))
    blocked = fake.slash_command(prompt="a red dragon")
    assert client.post(blocked).type == DEFER
    wait_until(lambda: fake.original(blocked["token"]) is None, what="the blocked request's status to go")
    assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 0
    command = fake.slash_command(prompt="a secret fox")
    client.post(command)
    dm = fake.dm_channel(OWNER_ID)
    [post] = wait_until(lambda: fake.image_posts_in(dm["id"]), what="the images in the member's DM")
    job_id = next(i for i in buttons(post) if i.startswith("imagine:reroll:")).split(":")[2]
    over = client.post(fake.slash_command(prompt="a second fox"))  # the server's hour: 1 image
    assert over.ephemeral and "1 of 1" in over.content, over.content
    again = client.post(fake.button_press(post, f"imagine:reroll:{job_id}"))  # in the DM, the same rules
    assert again.ephemeral and "1 of 1" in again.content, again.content
    assert len(fake.image_posts_in(dm["id"])) == 1


def test_private_results_keep_the_status_private_and_bring_the_images_to_the_members_dm(fake, stack):
    client = stack()
    asked = fake.slash_command(name="settings")
    client.post(asked)
    turned_on = client.post(fake.button_press(fake.original(asked["token"]), "imagine:set:private"))
    assert "results privately, in your DMs" in turned_on.content
    command = fake.slash_command(prompt="a secret fox")
    answer = client.post(command)
    assert (answer.type, answer.ephemeral) == (DEFER, True)
    dm = fake.dm_channel(OWNER_ID)
    [post] = wait_until(lambda: fake.image_posts_in(dm["id"]), what="the images in the member's DM")
    assert "Reply here to refine the last image" in post.data["content"]
    assert fake.threads() == [] and fake.image_posts_in(CHANNEL_ID) == []
    wait_until(lambda: "✅" in fake.original(command["token"]).data["content"], what="the status to say done")
    assert fake.original(command["token"]).data["flags"] & 64  # the status stays private


def red_picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (250, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_imagine_starts_from_the_members_attached_picture(fake, stack):
    client = stack()
    picture = fake.attach(red_picture())
    answer = client.post(fake.slash_command(prompt="a fox", image=picture, strength=0.4, count=1))
    assert answer.type == DEFER
    thread_id, [post] = finished_thread(fake)
    image = Image.open(io.BytesIO(next(iter(post.files.values())))).convert("RGB")
    red = sum(image.getpixel((x, y))[0] for x in range(0, image.width, 8) for y in range(0, image.height, 8))
    green = sum(
        image.getpixel((x, y))[1] for x in range(0, image.width, 8) for y in range(0, image.height, 8)
    )
    assert red > 2 * green  # drawn over the red picture (placeholder: 60 % the picture at strength 0.4)


def test_style_reference_control_and_finishing_options_reach_the_job(fake, stack, redis):
    client = stack(worker=False)
    style, outline = fake.attach(red_picture()), fake.attach(red_picture(), "outline.png")
    options = {"sref": style, "sw": 60, "control": outline, "control_kind": "depth", "control_weight": 0.5}
    assert client.post(fake.slash_command(prompt="a fox", **options)).type == DEFER
    [key] = wait_until(lambda: redis.keys("rq:job:img-*"))
    job = Job.fetch(key.decode().removeprefix("rq:job:"), connection=redis, serializer=SERIALIZER)
    request = job.kwargs["request"]
    [reference] = request["references"]
    assert reference["kind"] == "style" and reference["image"]["url"] == style["url"]
    assert request["reference_weight"] == 60
    assert (request["control"]["kind"], request["control_weight"]) == ("depth", 0.5)
    # A control_kind without its picture is told; the placeholder has no face restorer nor hires fix,
    # so /imagine does not offer them.
    alone = client.post(fake.slash_command(prompt="a fox", control_kind="pose"))
    assert (alone.type, alone.ephemeral) == (
        MESSAGE,
        True,
    ) and "attach the picture as control" in alone.content
    [imagine] = [command for command in fake.commands if command["name"] == "imagine"]
    names = {option["name"] for option in imagine["options"]}
    assert {"sref", "cref", "sw", "control", "control_kind", "control_weight"} <= names
    assert not names & {"face_fix", "hires"}
    stale = client.post(fake.slash_command(prompt="a fox", face_fix=True))  # a client's old command list
    assert stale.ephemeral and "has an option “face_fix” that /imagine does not take" in stale.content


def test_a_file_that_is_no_picture_or_a_foreign_link_is_refused_and_costs_nothing(fake, stack, redis):
    client = stack()
    text_file = fake.attach(b"hello", filename="notes.txt", content_type="text/plain")
    answer = client.post(fake.slash_command(prompt="a fox", image=text_file))
    assert (answer.type, answer.ephemeral) == (MESSAGE, True)
    assert answer.content.startswith("That file is not a picture I can read")
    foreign = {**fake.attach(red_picture()), "url": "http://127.0.0.1:9/internal.png"}  # not the CDN
    command = fake.slash_command(prompt="a hare", image=foreign)
    client.post(command)
    wait_until(
        lambda: "only take pictures uploaded to this chat" in fake.original(command["token"]).data["content"],
        what="the refusal on the status",
    )
    assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 0  # refunded


def _everything_in(redis, pattern: str) -> bytes:
    """Every value of every key matching `pattern`: hashes, strings and streams, as raw bytes."""
    found = b""
    for key in redis.scan_iter(pattern):
        kind = redis.type(key)
        if kind == b"hash":
            found += b"".join(k + v for k, v in redis.hgetall(key).items())
        elif kind == b"stream":
            found += b"".join(b"".join(k + v for k, v in fields.items()) for _, fields in redis.xrange(key))
        elif kind == b"string":
            found += redis.get(key) or b""
    return found


def test_interaction_tokens_stay_with_the_frontends_and_never_reach_a_job(fake, stack, redis):
    """A token answers as the bot for 15 minutes: not in RQ's job payloads nor the result streams
    (which workers and anyone reading Redis see), only in the frontends' own key, for those minutes."""
    client = stack()
    private = fake.private_channel()
    payload = fake.slash_command(prompt="a fox in the snow", channel_id=private["id"])
    assert client.post(payload).type == DEFER
    wait_until(lambda: "✅" in fake.original(payload["token"]).data["content"], what="the answer, as before")
    token = payload["token"].encode()
    assert token not in _everything_in(redis, "rq:*") and token not in _everything_in(
        redis, "imagine:results:*"
    )
    [kept] = list(redis.scan_iter("imagine:reply-secrets:*"))
    assert redis.hget(kept, "token") == token and 0 < redis.ttl(kept) <= 15 * 60
