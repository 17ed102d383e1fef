"""`/settings`: a member's defaults as select menus (the choices are known), and for members who may
Manage Server, the channel's. Every component is answered statelessly by its custom id
(`imagine:set:<field>` for the member, `imagine:chset:<field>` for the channel), so a restart or
another frontend process takes the next change."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord

from bot import settings_form
from bot.interactions import settings
from bot.interactions.ids import CHANNEL_SETTING, MEMBER_SETTING, NEGATIVE_FORM
from bot.interactions.settings import UNSET
from shared import messages
from shared.configuration.config import AppConfig
from shared.drawing.backends import BACKENDS
from shared.drawing.requester import Requester
from shared.members.member_defaults import ChannelDefaults, MemberDefaults

if TYPE_CHECKING:
    from bot.core import ImagineCore

NO_MENTIONS = discord.AllowedMentions.none()

MEMBER, CHANNEL = f"{MEMBER_SETTING.prefix}:", f"{CHANNEL_SETTING.prefix}:"
NEGATIVE_MODAL = NEGATIVE_FORM.make("negative")
SELECT_FIELDS = ("style", "aspect", "count", "model")
MAX_OPTIONS = 25
NEGATIVE_MAX = 500


def member_view(defaults: MemberDefaults, config: AppConfig, backend: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    # The fields with many choices are select menus (the same fields and choices as Slack's form and
    # the web page's, from bot/settings_form.py); the on/off ones are buttons below.
    selects = [f for f in settings_form.fields(defaults, config, backend) if f.name in SELECT_FIELDS]
    for row, field in enumerate(selects):
        view.add_item(
            _select(f"{MEMBER}{field.name}", field.label, field.current, list(field.choices), row=row)
        )
    enhance = {None: "default", True: "on", False: "off"}[defaults.enhance]
    view.add_item(
        discord.ui.Button(label=f"Prompt expansion: {enhance}", custom_id=f"{MEMBER}enhance", row=4)
    )
    view.add_item(discord.ui.Button(label="Negative prompt…", custom_id=f"{MEMBER}negative", row=4))
    if BACKENDS[backend].offers("face_fix", config):
        face_fix = {None: "default", True: "on", False: "off"}[defaults.face_fix]
        view.add_item(discord.ui.Button(label=f"Face fix: {face_fix}", custom_id=f"{MEMBER}face_fix", row=4))
    private = "on (in your DMs)" if defaults.private else "off"
    view.add_item(discord.ui.Button(label=f"Private results: {private}", custom_id=f"{MEMBER}private", row=4))
    view.add_item(
        discord.ui.Button(label="Reset", custom_id=f"{MEMBER}reset", style=discord.ButtonStyle.danger, row=4)
    )
    view.stop()  # answered by custom id in ImagineClient.on_interaction, not by this view
    return view


def channel_view(defaults: ChannelDefaults, config: AppConfig, backend: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        _select(f"{CHANNEL}style", "This channel's style", defaults.style, sorted(config.presets), row=0)
    )
    models = BACKENDS[backend].models(config)
    if models:
        view.add_item(_select(f"{CHANNEL}model", "This channel's model", defaults.model, models, row=1))
    refine_by = defaults.refine_by or config.threads.refine_by
    label = "Replies refine: anyone's" if refine_by == "anyone" else "Replies refine: the owner's only"
    view.add_item(discord.ui.Button(label=label, custom_id=f"{CHANNEL}refine_by", row=2))
    view.stop()
    return view


def member_text(defaults: MemberDefaults) -> str:
    return messages.member_settings(defaults.model_dump())


def channel_text(defaults: ChannelDefaults) -> str:
    return messages.channel_settings(defaults.model_dump())


def negative_modal(current: str | None) -> discord.ui.Modal:
    modal = discord.ui.Modal(title="Negative prompt", custom_id=NEGATIVE_MODAL, timeout=None)
    modal.add_item(
        discord.ui.TextInput(
            label="What your images should not contain",
            custom_id="negative",
            default=current or "",
            required=False,
            max_length=NEGATIVE_MAX,
            placeholder="text, watermark (empty: none)",
        )
    )
    modal.stop()
    return modal


def _select(
    custom_id: str, placeholder: str, current: str | None, choices: list[str], *, row: int
) -> discord.ui.Select:
    options = [discord.SelectOption(label=f"{placeholder}: default", value=UNSET, default=current is None)]
    options += [
        discord.SelectOption(
            label=f"{placeholder}: {choice}"[:100], value=choice[:100], default=choice == current
        )
        for choice in choices[: MAX_OPTIONS - 1]
    ]
    return discord.ui.Select(custom_id=custom_id, placeholder=placeholder, options=options, row=row)


async def show(core: ImagineCore, requester: Requester, interaction: discord.Interaction) -> None:
    """The member's defaults as select menus (private); for members who may Manage Server, the
    channel's too, in a second private message."""
    await settings.show(core, _Settings(core, interaction), requester, manages_channel=_manages(interaction))


async def change(
    core: ImagineCore, requester: Requester, interaction: discord.Interaction, custom_id: str, data: dict
) -> None:
    """One select, button or the negative-prompt form of /settings; the message shows the result."""
    values = [str(v) for v in data.get("values") or []]
    surface = _Settings(core, interaction)
    if custom_id == NEGATIVE_MODAL:
        surface.redraw = False  # a form's submit: told, the settings message stays as it was
        await settings.change(
            core, surface, requester, member=settings.changed_negative(data.get("negative", ""))
        )
    elif custom_id == f"{MEMBER}negative":
        member = await asyncio.to_thread(core.defaults.member, requester)
        await interaction.response.send_modal(negative_modal(member.negative))
    elif custom_id.startswith(MEMBER):
        change = settings.changed_member(custom_id.removeprefix(MEMBER), values)
        await settings.change(core, surface, requester, member=change)
    else:
        change = settings.changed_channel(custom_id.removeprefix(CHANNEL), values, core.settings.config)
        await settings.change(core, surface, requester, channel=change, manages_channel=_manages(interaction))


def _manages(interaction: discord.Interaction) -> bool:
    return bool(interaction.guild_id and interaction.permissions.manage_guild)


class _Settings:
    """/settings's surface: private messages of selects and buttons, redrawn in place when changed."""

    def __init__(self, core: ImagineCore, interaction: discord.Interaction) -> None:
        self._config, self._backend = core.settings.config, core.settings.backend
        self._interaction = interaction
        self.redraw = True

    async def tell(self, text: str) -> None:
        await _tell(self._interaction, text)

    async def show_settings(self, member: MemberDefaults, channel: ChannelDefaults | None) -> None:
        response = self._interaction.response
        view = member_view(member, self._config, self._backend)
        await response.send_message(
            member_text(member), view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        if channel is not None:
            view = channel_view(channel, self._config, self._backend)
            await self._interaction.followup.send(
                channel_text(channel), view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def show_saved(self, member: MemberDefaults | None, channel: ChannelDefaults | None) -> None:
        if not self.redraw:
            await self.tell(messages.settings_saved())
        elif member is not None:
            view = member_view(member, self._config, self._backend)
            await self._interaction.response.edit_message(content=member_text(member), view=view)
        elif channel is not None:
            view = channel_view(channel, self._config, self._backend)
            await self._interaction.response.edit_message(content=channel_text(channel), view=view)


async def _tell(interaction: discord.Interaction, text: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
