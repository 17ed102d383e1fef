"""The gateway bot in-process: discord.py's own dispatch fed raw gateway payloads (GUILD_CREATE,
THREAD_CREATE, MESSAGE_CREATE, INTERACTION_CREATE), REST against the fake, a real worker process."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from bot.discord.run import build_client
from shared import keys
from tests.fakes.discord_api import BOT_ID, GUILD_ID, OWNER_ID, TOKEN, FakeDiscord
from tests.helpers import wait_until_async


@pytest.fixture
def fake():
    with FakeDiscord() as server:
        yield server


@pytest.fixture
def gateway(fake, make_settings, processes, redis, config_file):
    """Run `scenario(client)` against a logged-in gateway client with a worker behind it."""

    def run(scenario, config: str | None = None):
        path = config_file(config) if config else None
        env = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": fake.api_base}
        if path is not None:
            env["IMAGINE_CONFIG"] = str(path)
        processes.worker(env, redis)
        settings = make_settings(path, discord_token=TOKEN, discord_api_base=fake.api_base)

        async def main():
            client = build_client(settings, gateway=True, sync_commands=False)
            async with client:
                await client.login(TOKEN)
                client._connection.parse_guild_create(fake.guild_create())
                await scenario(client)

        asyncio.run(main())

    return run


async def imagine_in_a_thread(fake: FakeDiscord, client, prompt: str = "a red fox") -> str:
    """/imagine over the gateway; returns the thread once its first image is there (THREAD_CREATE sent)."""
    client._connection.parse_interaction_create(fake.slash_command(prompt=prompt))
    thread = await wait_until_async(lambda: fake.threads() and fake.threads()[-1], what="a thread")
    client._connection.parse_thread_create({**thread, "newly_created": True})
    await wait_until_async(lambda: fake.image_posts_in(thread["id"]), what="the first image")
    return thread["id"]


def test_a_reply_in_the_thread_refines_its_last_image(fake, gateway):
    async def scenario(client):
        thread_id = await imagine_in_a_thread(fake, client)
        reply = fake.thread_message(thread_id, "at night, snowing --ar 16:9")
        client._connection.parse_message_create(reply)
        posts = await wait_until_async(
            lambda: len(fake.image_posts_in(thread_id)) == 2 and fake.image_posts_in(thread_id)
        )
        assert posts[-1].data["embeds"][0]["description"] == "a red fox, at night, snowing"
        await wait_until_async(lambda: fake.reactions.get(reply["id"]) == ["✅"], what="⏳ swapped for ✅")
        status = [m for m in fake.posts_in(thread_id) if m.data["content"].startswith("✏️ Refine:")]
        assert len(status) == 1 and "✅ done" in status[0].data["content"]

    gateway(scenario)


def test_bots_strangers_and_other_threads_are_ignored(fake, gateway):
    async def scenario(client):
        thread_id = await imagine_in_a_thread(fake, client)
        ignored = [
            fake.thread_message(thread_id, "make it blue", bot=True),
            fake.thread_message(thread_id, "make it green", author_id="1300000000000000009"),
        ]
        other = {**fake.channels[thread_id], "id": fake.new_id(), "name": "someone else's thread"}
        fake.channels[other["id"]] = other
        client._connection.parse_thread_create({**other, "newly_created": True})
        ignored.append(fake.thread_message(other["id"], "make it red"))
        counted = fake.thread_message(thread_id, "make it purple")
        for message in [*ignored, counted]:  # the counted one last: once it is answered, the rest were seen
            client._connection.parse_message_create(message)
        await wait_until_async(lambda: fake.reactions.get(counted["id"]) == ["✅"])
        assert not any(fake.reactions.get(m["id"]) for m in ignored)
        assert len(fake.image_posts_in(thread_id)) == 2 and not fake.posts_in(other["id"])[1:]

    gateway(scenario)


def test_anyone_may_refine_when_the_config_says_so(fake, gateway):
    async def scenario(client):
        thread_id = await imagine_in_a_thread(fake, client)
        client._connection.parse_message_create(
            fake.thread_message(thread_id, "make it green", author_id="1300000000000000009")
        )
        await wait_until_async(lambda: len(fake.image_posts_in(thread_id)) == 2)

    gateway(scenario, '[threads]\nrefine_by = "anyone"\n')


def test_a_bad_flag_in_a_reply_is_answered_with_the_reason(fake, gateway, redis):
    async def scenario(client):
        thread_id = await imagine_in_a_thread(fake, client)
        reply = fake.thread_message(thread_id, "brighter --zoom 2")
        client._connection.parse_message_create(reply)
        await wait_until_async(lambda: fake.reactions.get(reply["id"]) == ["❌"])
        answer = await wait_until_async(
            lambda: [m for m in fake.posts_in(thread_id) if "There is no flag --zoom" in m.data["content"]]
        )
        assert answer[0].data["allowed_mentions"] == {"parse": [], "replied_user": False}
        assert redis.zcard(keys.quota_window(f"discord:{OWNER_ID}")) == 1  # only the first image

    gateway(scenario)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DISCORD_TOKEN": ""}, "DISCORD_TOKEN is not set"),
        ({"DISCORD_TOKEN": "wrong"}, "DISCORD_TOKEN was rejected by Discord"),
        ({}, "Privileged Gateway Intents → Message Content Intent"),
    ],
)
def test_start_up_problems_say_what_to_fix(processes, env, says):
    with FakeDiscord(message_content_intent=False) as fake:
        base = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": fake.api_base}
        process = processes.start("discord", "--no-sync", extra_env={**base, **env})
        assert process.wait(timeout=30) == 1
        output = processes.log_of(process)
        assert says in output and "Traceback" not in output


def test_http_mode_needs_the_public_key(processes):
    process = processes.start("discord", "--http", extra_env={"DISCORD_TOKEN": TOKEN})
    assert process.wait(timeout=30) == 1
    assert "DISCORD_PUBLIC_KEY is not set" in processes.log_of(process)


def test_in_a_dm_imagine_answers_there_and_a_reply_refines_its_last_image(fake, gateway, redis):
    async def scenario(client):
        dm = fake.dm_channel()
        client._connection.parse_interaction_create(
            fake.slash_command(prompt="a red fox", channel_id=dm["id"])
        )
        [first] = await wait_until_async(lambda: fake.image_posts_in(dm["id"]), what="the image in the DM")
        assert "Reply here to refine the last image" in first.data["content"]
        client._connection.parse_message_create(fake.dm_message("at night, snowing"))
        posts = await wait_until_async(
            lambda: len(fake.image_posts_in(dm["id"])) == 2 and fake.image_posts_in(dm["id"]),
            what="the refinement in the DM",
        )
        assert posts[1].data["embeds"][0]["footer"]["text"].startswith("refine")
        assert fake.threads() == []  # a DM has no threads: the DM is the conversation
        assert redis.exists(keys.quota_window(f"discord:{OWNER_ID}"))

    gateway(scenario)


def test_a_result_starred_by_enough_members_is_reposted_once_to_the_showcase(fake, gateway, redis):
    showcase = "1200000000000000050"
    fake.channels[showcase] = fake.text_channel(showcase, "showcase")
    config = f'[showcase."discord:{GUILD_ID}"]\nchannel = "{showcase}"\nstars = 2\n'

    async def scenario(client):
        thread_id = await imagine_in_a_thread(fake, client)
        [result] = fake.image_posts_in(thread_id)
        stars = keys.stars(result.data["id"])
        for user, bot in (
            (BOT_ID, True),
            ("1300000000000000008", True),
            (OWNER_ID, False),
            (OWNER_ID, False),
        ):
            client._connection.parse_message_reaction_add(fake.reaction(result, user, bot=bot))
        await wait_until_async(lambda: redis.scard(stars) == 1, what="one member's star counted")
        assert fake.posts_in(showcase) == []  # bots' stars and a second star of the same member: one
        client._connection.parse_message_reaction_add(fake.reaction(result, "1300000000000000002"))
        [post] = await wait_until_async(lambda: fake.posts_in(showcase), what="the repost")
        assert post.data["content"].startswith("⭐ *a red fox* — starred by 2 members: https://discord.com/")
        assert len(post.files) == 1
        client._connection.parse_message_reaction_add(fake.reaction(result, "1300000000000000003"))
        await wait_until_async(lambda: redis.scard(stars) == 3, what="a third star counted")
        assert len(fake.posts_in(showcase)) == 1  # reposted once

    gateway(scenario, config)


def test_a_reply_with_a_picture_refines_from_that_picture(fake, gateway):
    async def scenario(client):
        thread_id = await imagine_in_a_thread(fake, client)
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (250, 10, 10)).save(buffer, format="PNG")
        picture = fake.attach(buffer.getvalue())
        reply = fake.thread_message(thread_id, "as a poster --strength 0.3", attachments=[picture])
        client._connection.parse_message_create(reply)
        posts = await wait_until_async(
            lambda: len(fake.image_posts_in(thread_id)) == 2 and fake.image_posts_in(thread_id)
        )

        def redness(post) -> float:
            image = Image.open(io.BytesIO(next(iter(post.files.values())))).convert("RGB")
            pixels = [
                image.getpixel((x, y)) for x in range(0, image.width, 8) for y in range(0, image.height, 8)
            ]
            return sum(r for r, _, _ in pixels) / max(1, sum(g for _, g, _ in pixels))

        assert redness(posts[-1]) > 2 and redness(posts[-1]) > 1.5 * redness(
            posts[0]
        )  # the picture, not the last image

    gateway(scenario)


def test_a_server_that_removes_the_bot_is_counted_and_its_settings_go_after_the_grace(fake, gateway, redis):
    settings_key = keys.channel_defaults("discord", GUILD_ID, "1200000000000000001")
    left = keys.workspaces_left("discord")

    async def scenario(client):
        counted = client.frontend.core.metrics.workspaces
        assert counted.labels("discord", "joined")._value.get() == 0  # the start-up list is no join
        redis.set(settings_key, '{"aspect": "wide"}')
        client._connection.parse_guild_delete({"id": GUILD_ID})
        await wait_until_async(lambda: redis.zscore(left, GUILD_ID) is not None, what="the removal noted")
        assert counted.labels("discord", "left")._value.get() == 1
        assert client.servers.sweep() == [] and redis.exists(settings_key)  # within the grace period
        added = {k: v for k, v in fake.guild_create().items() if k != "unavailable"}  # as a join comes
        client._connection.parse_guild_create(added)  # added back: nothing is forgotten
        await wait_until_async(lambda: redis.zscore(left, GUILD_ID) is None, what="the return noted")
        assert counted.labels("discord", "joined")._value.get() == 1
        client._connection.parse_guild_delete({"id": GUILD_ID})
        await wait_until_async(lambda: redis.zscore(left, GUILD_ID) is not None, what="the removal noted")
        redis.zadd(left, {GUILD_ID: redis.zscore(left, GUILD_ID) - 86400})  # a day later
        assert client.servers.sweep() == [GUILD_ID]
        assert not redis.exists(settings_key) and redis.zscore(left, GUILD_ID) is None

    gateway(scenario, "[workspaces]\nforget_left_after_days = 0.5\n")
