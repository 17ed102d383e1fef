"""`/settings`: a member's defaults as select menus (the choices are known), and for members who may
Manage Server, the channel's. Every component is answered statelessly by its custom id
(`imagine:set:<field>` for the member, `imagine:chset:<field>` for the channel), so a restart or
another frontend process takes the next change."""

from __future__ import annotations

import discord

from bot import settings_form
from bot.interactions.ids import CHANNEL_SETTING, MEMBER_SETTING, NEGATIVE_FORM
from shared import messages
from shared.backends import BACKENDS
from shared.config import AppConfig
from shared.member_defaults import ChannelDefaults, MemberDefaults

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
