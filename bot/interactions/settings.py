"""/settings on any platform: a member's defaults for new images and, for whoever manages the channel
(Discord's Manage Server, a Slack workspace admin), the channel's. Shown; changed one control at a time
(Discord's selects and buttons: `changed_member`, `changed_channel`) or by a whole form (Slack's modal,
the web page: bot/settings_form.py reads it); saved; shown again. A control no longer offered is
answered as stale, a value not among the choices is named, and nobody changes a channel they do not
manage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from bot.core import ImagineCore
from shared import messages
from shared.configuration.config import AppConfig
from shared.drawing.requester import Requester
from shared.errors import InvalidRequest
from shared.members.member_defaults import ChannelDefaults, MemberDefaults

UNSET = "-"  # a select's "use the default" choice

MemberChange = Callable[[MemberDefaults], MemberDefaults]  # raises ValueError (stale) or InvalidRequest
ChannelChange = Callable[[ChannelDefaults], ChannelDefaults]


class SettingsSurface(Protocol):
    async def tell(self, text: str) -> None:
        """A private answer to the member."""

    async def show_settings(self, member: MemberDefaults, channel: ChannelDefaults | None) -> None:
        """The member's defaults (and the channel's, for whoever manages it), to change."""

    async def show_saved(self, member: MemberDefaults | None, channel: ChannelDefaults | None) -> None:
        """The defaults just saved (None: that part did not change)."""


async def show(core: ImagineCore, surface: SettingsSurface, who: Requester, *, manages_channel: bool) -> None:
    member = await asyncio.to_thread(core.defaults.member, who)
    channel = await asyncio.to_thread(core.defaults.channel, who) if manages_channel else None
    await surface.show_settings(member, channel)


async def change(
    core: ImagineCore,
    surface: SettingsSurface,
    who: Requester,
    *,
    member: MemberChange | None = None,
    channel: ChannelChange | None = None,
    manages_channel: bool = False,
) -> None:
    """Apply `member` to the member's defaults and `channel` to the channel's (`who.channel`), save
    them and show them; nothing is saved when either is refused."""
    if channel is not None and not manages_channel:
        await surface.tell(messages.channel_settings_not_allowed())
        return
    store = core.defaults
    try:
        changed_member = member(await asyncio.to_thread(store.member, who)) if member else None
        changed_channel = channel(await asyncio.to_thread(store.channel, who)) if channel else None
    except InvalidRequest as exc:  # a form's value that is not one of the choices
        await surface.tell(str(exc))
        return
    except ValueError:  # a control from an older message: its field or value is no longer offered
        await surface.tell(messages.stale_button())
        return
    if changed_member is not None:
        await asyncio.to_thread(store.save_member, who, changed_member)
    if changed_channel is not None:
        await asyncio.to_thread(store.save_channel, who, changed_channel)
    await surface.show_saved(changed_member, changed_channel)


def changed_member(field: str, values: list[str]) -> MemberChange:
    """One control: a select's value, or a button (expansion and face fix cycle; private toggles;
    reset)."""

    def apply(defaults: MemberDefaults) -> MemberDefaults:
        if field == "reset":
            return MemberDefaults()
        if field == "private":
            return defaults.model_copy(update={"private": None if defaults.private else True})
        if field in ("enhance", "face_fix"):  # on, off, default, in turn
            following = {None: True, True: False, False: None}[getattr(defaults, field)]
            return defaults.model_copy(update={field: following})
        chosen = values[0] if values and values[0] != UNSET else None
        if field == "count":
            return defaults.model_copy(update={"count": int(chosen) if chosen else None})
        if field in ("style", "aspect", "model"):
            return defaults.model_copy(update={field: chosen})
        raise ValueError(f"no member setting {field!r}")

    return apply


def changed_negative(text: str) -> MemberChange:
    return lambda defaults: defaults.model_copy(update={"negative": text.strip() or None})


def changed_channel(field: str, values: list[str], config: AppConfig) -> ChannelChange:
    """One control of the channel's defaults: a select's value, or who may refine (a toggle)."""

    def apply(defaults: ChannelDefaults) -> ChannelDefaults:
        if field == "refine_by":
            now = defaults.refine_by or config.threads.refine_by
            return defaults.model_copy(update={"refine_by": "owner" if now == "anyone" else "anyone"})
        chosen = values[0] if values and values[0] != UNSET else None
        if field in ("style", "model"):
            return defaults.model_copy(update={field: chosen})
        raise ValueError(f"no channel setting {field!r}")

    return apply
