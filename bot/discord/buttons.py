"""Persistent result buttons: discord.py DynamicItems whose custom ids carry the job (and the image, and
the owner), so a press works after a restart and on any frontend process."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot import followups
from shared import discord_ui
from shared.chat_text import custom_id


def _frontend(interaction: discord.Interaction):
    return interaction.client.frontend  # type: ignore[attr-defined]


class _ResultButton:
    """Shared parsing for the DynamicItems below: the buttons the worker rendered come back as presses."""

    def __init__(self, job_id: str, index: int | None = None, owner: str | None = None) -> None:
        self.job_id, self.index, self.owner = job_id, index, owner
        super().__init__(  # type: ignore[call-arg]
            discord.ui.Button(custom_id=custom_id(self.action, job_id, index, owner), label=self.action)
        )

    action = ""

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Any:
        groups = match.groupdict()
        index = int(groups["index"]) if "index" in groups else None
        return cls(groups["job"], index, groups.get("owner"))


class RerollButton(
    _ResultButton, discord.ui.DynamicItem[discord.ui.Button], template=discord_ui.TEMPLATES["reroll"]
):
    action = "reroll"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _frontend(interaction).follow_up(interaction, self.job_id, followups.reroll)


class VariationButton(
    _ResultButton, discord.ui.DynamicItem[discord.ui.Button], template=discord_ui.TEMPLATES["variation"]
):
    action = "variation"

    async def callback(self, interaction: discord.Interaction) -> None:
        index = self.index or 0
        await _frontend(interaction).follow_up(
            interaction, self.job_id, lambda t: followups.variation(t, index)
        )


class UpscaleButton(
    _ResultButton, discord.ui.DynamicItem[discord.ui.Button], template=discord_ui.TEMPLATES["upscale"]
):
    action = "upscale"

    async def callback(self, interaction: discord.Interaction) -> None:
        index = self.index or 0
        await _frontend(interaction).follow_up(
            interaction, self.job_id, lambda t: followups.upscale(t, index)
        )


class RefineButton(
    _ResultButton, discord.ui.DynamicItem[discord.ui.Button], template=discord_ui.TEMPLATES["refine"]
):
    action = "refine"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _frontend(interaction).open_refine_modal(interaction, self.job_id)


class InfoButton(
    _ResultButton, discord.ui.DynamicItem[discord.ui.Button], template=discord_ui.TEMPLATES["info"]
):
    action = "info"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _frontend(interaction).info(interaction, self.job_id)


class DeleteButton(
    _ResultButton, discord.ui.DynamicItem[discord.ui.Button], template=discord_ui.TEMPLATES["delete"]
):
    action = "delete"

    async def callback(self, interaction: discord.Interaction) -> None:
        await _frontend(interaction).delete(interaction, self.owner or "")


BUTTONS = (RerollButton, VariationButton, UpscaleButton, RefineButton, InfoButton, DeleteButton)
