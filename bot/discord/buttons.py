"""The persistent result buttons: one discord.py DynamicItem for every action in bot/followups.py.

A button's custom id carries what a press needs (the action, the job, the image, the owner), so a
press works after a restart and on any frontend process, without the view that rendered it.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.followups import PRESS_PATTERN, parse_press


class ResultButton(discord.ui.DynamicItem[discord.ui.Button], template=PRESS_PATTERN):
    """A press of any result button (bot/interactions/pressing.py decides what it does)."""

    def __init__(self, custom_id: str) -> None:
        self.press = parse_press(custom_id)  # None: the parts do not fit the action (answered as stale)
        label = self.press.action.label if self.press else "?"
        super().__init__(discord.ui.Button(custom_id=custom_id, label=label))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Any:
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.press is None:
            return  # ImagineClient.on_interaction tells the member this button no longer works
        await interaction.client.frontend.press(interaction, self.press)  # type: ignore[attr-defined]


BUTTONS = (ResultButton,)
