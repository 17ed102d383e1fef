"""⭐ on a result, on any platform: each member's star is counted once (shared/members/showcase.py), and
the star that reaches the workspace's number reposts the result, once, to its showcase channel — with
its images from the image store while it keeps them, and always a link to the original."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from bot.core import ImagineCore
from shared import keys, messages


@dataclass(frozen=True)
class Star:
    """A member's ⭐ on one of the bot's messages, as the platform saw it."""

    workspace: str  # the [showcase."<workspace>"] key: "discord:<guild>", "slack:<team>"
    message: str  # the starred message's id on its platform
    member: str


@dataclass(frozen=True)
class Shown:
    """What a result message shows."""

    job_id: str
    prompt: str
    images: int


class ShowcaseSurface(Protocol):
    """What the platform does for the showcase: read the starred message, link to it, repost."""

    async def shown(self) -> Shown | None:
        """The result the starred message shows; None for any other message of the bot."""

    async def link(self) -> str:
        """A link to the starred message ("" when the platform gives none)."""

    def quote(self, prompt: str) -> str:
        """The prompt as the platform's markup shows it literally."""

    async def repost(self, channel: str, text: str, pictures: list[tuple[str, bytes]]) -> None:
        """Post `text` and the pictures (file name, bytes) to the showcase channel; a failure is logged
        with what the operator must fix, never raised."""


async def star(core: ImagineCore, event: Star, surface: ShowcaseSurface) -> None:
    shown = await surface.shown()
    if shown is None:
        return
    showcase = await asyncio.to_thread(core.showcase.star, event.workspace, event.message, event.member)
    if showcase is None:  # not yet the number, reposted already, or no showcase in this workspace
        return
    pictures = []
    for index in range(shown.images):
        data = await asyncio.to_thread(core.images.get, keys.image(shown.job_id, index))
        if data is not None:  # the store has let it go: the link still leads to the original
            pictures.append((f"{shown.job_id}-{index}.png", data))
    text = messages.showcased(surface.quote(shown.prompt), showcase.stars, await surface.link())
    await surface.repost(showcase.channel, text, pictures)


async def unstar(core: ImagineCore, event: Star) -> None:
    await asyncio.to_thread(core.showcase.unstar, event.message, event.member)
