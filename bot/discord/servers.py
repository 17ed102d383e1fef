"""The servers the gateway bot is in: each join and removal logged and counted
(`imagine_workspaces_total`); a server that removed the bot keeps its channel settings for
`[workspaces] forget_left_after_days` (it may add the bot back), then the hourly sweep drops them
(shared/members/left_workspaces.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.discord.surface import PLATFORM
from shared.members.left_workspaces import LeftWorkspaces

if TYPE_CHECKING:
    from bot.core import ImagineCore

log = logging.getLogger(__name__)
SWEEP_SECONDS = 3600
DAY = 86400


class Servers:
    def __init__(self, core: ImagineCore) -> None:
        self._core = core
        self._left = LeftWorkspaces(core.redis, PLATFORM)

    async def joined(self, guild: discord.Guild) -> None:
        log.info("added to Discord server %s (%s, %s members)", guild.id, guild.name, guild.member_count)
        self._core.metrics.workspaces.labels(PLATFORM, "joined").inc()
        await asyncio.to_thread(self._left.rejoined, str(guild.id))

    async def removed(self, guild: discord.Guild) -> None:
        days = self._core.settings.config.workspaces.forget_left_after_days
        log.info(
            "removed from Discord server %s (%s): its settings go in %g days", guild.id, guild.name, days
        )
        self._core.metrics.workspaces.labels(PLATFORM, "left").inc()
        await asyncio.to_thread(self._left.left, str(guild.id))

    def sweep(self) -> list[str]:
        """Drop the settings of servers gone longer than the grace period; returns them."""
        grace = self._core.settings.config.workspaces.forget_left_after_days * DAY
        forgotten = self._left.forget_due(grace)
        for guild in forgotten:
            log.info("forgot the channel settings of Discord server %s, which removed the bot", guild)
        return forgotten

    async def sweep_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep)
            except Exception:  # a Redis blip: the next sweep tries again
                log.exception("discord: sweeping removed servers failed")
            await asyncio.sleep(SWEEP_SECONDS)
