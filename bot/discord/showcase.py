"""The ⭐ showcase on Discord: gateway reaction events translated for bot/interactions/showcase.py, and
its surface (the result read from the starred message itself, its jump link, the repost)."""

from __future__ import annotations

import io
import logging

import discord

from bot.core import ImagineCore
from bot.discord import ui as discord_ui
from bot.discord.surface import NO_MENTIONS, PLATFORM
from bot.followups import parse_press
from bot.interactions import showcase
from bot.interactions.showcase import Shown, Star

log = logging.getLogger(__name__)
STAR = "⭐"


async def star_added(
    client: discord.Client, core: ImagineCore, payload: discord.RawReactionActionEvent
) -> None:
    if _counts(client, payload):
        await showcase.star(core, _star(payload), _Showcase(client, payload))


async def star_removed(
    client: discord.Client, core: ImagineCore, payload: discord.RawReactionActionEvent
) -> None:
    if _counts(client, payload):
        await showcase.unstar(core, _star(payload))


def _star(payload: discord.RawReactionActionEvent) -> Star:
    return Star(f"{PLATFORM}:{payload.guild_id}", str(payload.message_id), str(payload.user_id))


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


class _Showcase:
    def __init__(self, client: discord.Client, payload: discord.RawReactionActionEvent) -> None:
        self._client, self._payload = client, payload
        self._message: discord.Message | None = None

    async def shown(self) -> Shown | None:
        try:
            channel = self._client.get_partial_messageable(self._payload.channel_id)
            self._message = await channel.fetch_message(self._payload.message_id)
        except discord.HTTPException as exc:
            self._cannot("read the starred message", exc)
            return None
        job_id = _job_of(self._message)
        if job_id is None:  # another of the bot's messages: a status, a refusal
            return None
        embeds = self._message.embeds
        prompt = embeds[0].description if embeds and embeds[0].description else ""
        return Shown(job_id, prompt, len(self._message.attachments))

    async def link(self) -> str:
        return self._message.jump_url if self._message is not None else ""

    def quote(self, prompt: str) -> str:
        return prompt  # the embed's own text, escaped when it was rendered

    async def repost(self, channel: str, text: str, pictures: list[tuple[str, bytes]]) -> None:
        files = [discord.File(io.BytesIO(data), name) for name, data in pictures]
        try:
            target = self._client.get_partial_messageable(int(channel))
            await target.send(text[: discord_ui.MESSAGE_MAX], files=files, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            self._cannot(f"repost a starred result to the showcase channel {channel}", exc)

    def _cannot(self, what: str, exc: discord.HTTPException) -> None:
        log.warning(
            'discord: could not %s (%s %s): check [showcase."discord:%s"] channel and the bot\'s access',
            what,
            exc.status,
            exc.code,
            self._payload.guild_id,
        )


def _job_of(message: discord.Message) -> str | None:
    """The job a result message shows, from its buttons (their ids carry it)."""
    for row in message.components:
        for child in getattr(row, "children", []):
            press = parse_press(getattr(child, "custom_id", None) or "")
            if press is not None:
                return press.job_id
    return None
