"""⭐ on a result, over the gateway: counted per member (shared/showcase.py), and the result reposted to
the workspace's showcase channel once enough members starred it — with its images from the image
store while it keeps them, and always a link to the original."""

from __future__ import annotations

import asyncio
import io
import logging

import discord

from bot.core import ImagineCore
from bot.discord import ui as discord_ui
from bot.followups import parse_press
from shared import keys, messages

log = logging.getLogger(__name__)
STAR = "⭐"
NO_MENTIONS = discord.AllowedMentions.none()


async def star_added(
    client: discord.Client, core: ImagineCore, payload: discord.RawReactionActionEvent
) -> None:
    if not _counts(client, payload):
        return
    showcase = await asyncio.to_thread(
        core.showcase.star, f"discord:{payload.guild_id}", str(payload.message_id), str(payload.user_id)
    )
    if showcase is None:
        return
    try:
        message = await client.get_partial_messageable(payload.channel_id).fetch_message(payload.message_id)
        job_id = _job_of(message)
        files = []
        for index in range(len(message.attachments)) if job_id else ():
            data = await asyncio.to_thread(core.images.get, keys.image(job_id, index))
            if data is not None:
                files.append(discord.File(io.BytesIO(data), f"{job_id}-{index}.png"))
        prompt = message.embeds[0].description if message.embeds and message.embeds[0].description else ""
        target = client.get_partial_messageable(int(showcase.channel))
        text = messages.showcased(prompt, showcase.stars, message.jump_url)[: discord_ui.MESSAGE_MAX]
        await target.send(text, files=files, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning(
            "discord: could not repost a starred result to the showcase channel %s (%s %s): check "
            '[showcase."discord:%s"] channel and the bot\'s access to it',
            showcase.channel,
            exc.status,
            exc.code,
            payload.guild_id,
        )


async def star_removed(
    client: discord.Client, core: ImagineCore, payload: discord.RawReactionActionEvent
) -> None:
    if _counts(client, payload):
        await asyncio.to_thread(core.showcase.unstar, str(payload.message_id), str(payload.user_id))


def _counts(client: discord.Client, payload: discord.RawReactionActionEvent) -> bool:
    """A member's ⭐ on one of the bot's own messages in a server (bots' stars do not count)."""
    bot = client.user
    return (
        str(payload.emoji) == STAR
        and payload.guild_id is not None
        and bot is not None
        and payload.message_author_id == bot.id
        and payload.user_id != bot.id
        and not (payload.member is not None and payload.member.bot)
    )


def _job_of(message: discord.Message) -> str | None:
    """The job a result message shows, from its buttons (their ids carry it)."""
    for row in message.components:
        for child in getattr(row, "children", []):
            press = parse_press(getattr(child, "custom_id", None) or "")
            if press is not None:
                return press.job_id
    return None
