"""The persistent components: one discord.py DynamicItem per custom-id family
(bot/interactions/ids.py, and bot/followups.py for result buttons).

An id carries what a press needs (the action, the job, the image, the page, the field), so a press
works after a restart and on any frontend process, without the view that rendered it.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.followups import PRESS_PATTERN, parse_press
from bot.interactions.ids import CHANNEL_SETTING, GALLERY_PAGE, MEMBER_SETTING, SUGGESTION


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


class _ById:
    """A DynamicItem whose id's parts are read when pressed: built around the component pressed."""

    item: discord.ui.Item

    def __init__(self, item: discord.ui.Item) -> None:
        super().__init__(item)  # type: ignore[call-arg]

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /
    ) -> Any:
        return cls(item)

    @property
    def pressed_id(self) -> str:
        return str(getattr(self.item, "custom_id", ""))


class SuggestionButton(_ById, discord.ui.DynamicItem[discord.ui.Button], template=SUGGESTION.pattern):
    """ "Imagine this" under a /describe answer."""

    async def callback(self, interaction: discord.Interaction) -> None:
        parts = SUGGESTION.read(self.pressed_id)
        assert parts is not None  # the template matched
        frontend = interaction.client.frontend  # type: ignore[attr-defined]
        await frontend.imagine_suggestion(interaction, parts["describe"], int(parts["index"]))


class GalleryPageButton(_ById, discord.ui.DynamicItem[discord.ui.Button], template=GALLERY_PAGE.pattern):
    """◀ ▶ of /gallery: the page it turns to."""

    async def callback(self, interaction: discord.Interaction) -> None:
        parts = GALLERY_PAGE.read(self.pressed_id)
        assert parts is not None
        frontend = interaction.client.frontend  # type: ignore[attr-defined]
        await frontend.gallery(interaction, int(parts["page"]), turn_page=True)


class _Setting(_ById):
    """A select or toggle of /settings (the member's, or the channel's)."""

    async def callback(self, interaction: discord.Interaction) -> None:
        data = {"values": (interaction.data or {}).get("values") or []}
        frontend = interaction.client.frontend  # type: ignore[attr-defined]
        await frontend.change_setting(interaction, self.pressed_id, data)


class MemberSetting(_Setting, discord.ui.DynamicItem[discord.ui.Item], template=MEMBER_SETTING.pattern):
    pass


class ChannelSetting(_Setting, discord.ui.DynamicItem[discord.ui.Item], template=CHANNEL_SETTING.pattern):
    pass


DYNAMIC_ITEMS = (ResultButton, SuggestionButton, GalleryPageButton, MemberSetting, ChannelSetting)
