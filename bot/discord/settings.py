"""`/settings`: a member's defaults as select menus (the choices are known), and for members who may
Manage Server, the channel's. Every component is answered statelessly by its custom id
(`imagine:set:<field>` for the member, `imagine:chset:<field>` for the channel), so a restart or
another frontend process takes the next change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot import settings_form
from bot.interactions.ids import CHANNEL_SETTING, MEMBER_SETTING, NEGATIVE_FORM
from shared import messages
from shared.configuration.config import AppConfig
from shared.drawing.backends import BACKENDS
from shared.drawing.request import Requester
from shared.members.member_defaults import ChannelDefaults, MemberDefaults

if TYPE_CHECKING:
    from bot.core import ImagineCore

NO_MENTIONS = discord.AllowedMentions.none()

MEMBER, CHANNEL = f"{MEMBER_SETTING.prefix}:", f"{CHANNEL_SETTING.prefix}:"
NEGATIVE_MODAL = NEGATIVE_FORM.make("negative")
UNSET = "-"  # a select's "use the default" option
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


def changed_member(defaults: MemberDefaults, field: str, values: list[str]) -> MemberDefaults:
    """The defaults after one component: a select's value, or a button (expansion cycles; reset)."""
    if field == "reset":
        return MemberDefaults()
    if field == "private":
        return defaults.model_copy(update={"private": None if defaults.private else True})
    if field == "enhance":
        following = {None: True, True: False, False: None}[defaults.enhance]
        return defaults.model_copy(update={"enhance": following})
    chosen = values[0] if values and values[0] != UNSET else None
    if field == "count":
        return defaults.model_copy(update={"count": int(chosen) if chosen else None})
    if field in ("style", "aspect", "model"):
        return defaults.model_copy(update={field: chosen})
    raise ValueError(f"no member setting {field!r}")


def changed_channel(
    defaults: ChannelDefaults, field: str, values: list[str], config: AppConfig
) -> ChannelDefaults:
    if field == "refine_by":
        now = defaults.refine_by or config.threads.refine_by
        return defaults.model_copy(update={"refine_by": "owner" if now == "anyone" else "anyone"})
    chosen = values[0] if values and values[0] != UNSET else None
    if field in ("style", "model"):
        return defaults.model_copy(update={field: chosen})
    raise ValueError(f"no channel setting {field!r}")


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
    backend, config = core.settings.backend, core.settings.config
    member = await asyncio.to_thread(core.defaults.member, requester)
    await interaction.response.send_message(
        member_text(member),
        view=member_view(member, config, backend),
        ephemeral=True,
        allowed_mentions=NO_MENTIONS,
    )
    if interaction.guild_id and interaction.permissions.manage_guild:
        channel = await asyncio.to_thread(core.defaults.channel, requester)
        await interaction.followup.send(
            channel_text(channel),
            view=channel_view(channel, config, backend),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def change(
    core: ImagineCore, requester: Requester, interaction: discord.Interaction, custom_id: str, data: dict
) -> None:
    """One select, button or the negative-prompt form of /settings; the message shows the result."""
    backend, config = core.settings.backend, core.settings.config
    values = [str(v) for v in data.get("values") or []]
    store = core.defaults
    if custom_id == NEGATIVE_MODAL:
        negative = data.get("negative", "").strip() or None
        member = await asyncio.to_thread(store.member, requester)
        await asyncio.to_thread(
            store.save_member, requester, member.model_copy(update={"negative": negative})
        )
        await _tell(interaction, messages.settings_saved())
    elif custom_id == f"{MEMBER}negative":
        member = await asyncio.to_thread(store.member, requester)
        await interaction.response.send_modal(negative_modal(member.negative))
    elif custom_id.startswith(MEMBER):
        field = custom_id.removeprefix(MEMBER)
        member = await asyncio.to_thread(store.member, requester)
        await _apply(
            interaction,
            lambda: changed_member(member, field, values),
            lambda changed: store.save_member(requester, changed),
            lambda changed: (
                member_text(changed),
                member_view(changed, config, backend),
            ),
        )
    elif not (interaction.guild_id and interaction.permissions.manage_guild):
        await _tell(interaction, messages.channel_settings_not_allowed())
    else:
        field = custom_id.removeprefix(CHANNEL)
        channel = await asyncio.to_thread(store.channel, requester)
        await _apply(
            interaction,
            lambda: changed_channel(channel, field, values, config),
            lambda changed: store.save_channel(requester, changed),
            lambda changed: (
                channel_text(changed),
                channel_view(changed, config, backend),
            ),
        )


async def _apply(
    interaction: discord.Interaction,
    change: Callable[[], Any],
    save: Callable[[Any], None],
    show: Callable[[Any], tuple[str, discord.ui.View]],
) -> None:
    """One settings change: made (a value not offered is answered as a stale control), saved,
    and the message redrawn with it."""
    try:
        changed = change()
    except ValueError:
        await _tell(interaction, messages.stale_button())
        return
    await asyncio.to_thread(save, changed)
    content, view = show(changed)
    await interaction.response.edit_message(content=content, view=view)


async def _tell(interaction: discord.Interaction, text: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
