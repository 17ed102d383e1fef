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
    """A press of any result button, dispatched by what its action does."""

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
        frontend = interaction.client.frontend  # type: ignore[attr-defined]
        press = self.press
        if press is None:
            return  # ImagineClient.on_interaction tells the member this button no longer works
        if press.action.effect == "form":
            await frontend.open_refine_modal(interaction, press.job_id)
        elif press.action.effect == "info":
            await frontend.info(interaction, press.job_id)
        elif press.action.effect == "delete":
            await frontend.delete(interaction, press.owner or "")
        elif press.action.effect == "cancel":
            await frontend.cancel(interaction, press.job_id)
        else:
            make = press.action.make
            assert make is not None
            await frontend.follow_up(interaction, press.job_id, lambda turn: make(turn, press.index))


BUTTONS = (ResultButton,)
