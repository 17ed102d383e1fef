"""🖌️ Vary (Region), on any platform: the press opens the region editor for that image, and its submit
repaints the marked part as the member's words say (a follow-up job in the same thread, one image's
charge, a turn of the thread like a variation).

Where the editor is depends on the platform and the deployment: on the web page it opens over the
image; from a chat, with `[web] public_url` set, a signed link for this member opens it on the page
(bot/interactions/edit_links.py); without one, a form: a 3×3 grid of regions and the words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot import followups
from bot.core import ImagineCore
from bot.interactions.edit_links import EditLink, EditLinks, link_spent
from bot.interactions.surface import IntakePort, InThread, Surface
from shared import messages
from shared.drawing.edits import REGIONS
from shared.drawing.request import ImageRequest
from shared.drawing.sources import SourceImage
from shared.errors import InvalidRequest
from shared.imaging import member_images

# The grid's ninths as members read them, in `REGIONS`' order (a form's choices, row by row)
REGION_LABELS = dict(
    zip(
        REGIONS,
        ("Top left", "Top", "Top right", "Left", "Centre", "Right", "Bottom left", "Bottom", "Bottom right"),
        strict=True,
    )
)


@dataclass(frozen=True)
class RegionEdit:
    """A submitted edit: where (a mask from the editor, or ninths from the form) and what goes there."""

    job_id: str
    index: int
    words: str
    ninths: tuple[str, ...] = ()
    mask: bytes | None = None  # a picture, white where to repaint (any size: scaled to the image)


async def offer_editor(
    core: ImagineCore, surface: Surface, member: InThread, job_id: str, index: int
) -> None:
    """The press, once the turn is known and the member may go on in the thread: the editor, where
    this platform has one; else a link to the page's, or the form."""
    public_url = core.settings.config.web.public_url
    link = None
    if surface.editor_elsewhere and public_url is not None:
        links = EditLinks(core.redis, minutes=core.settings.config.web.edit_link_minutes)
        link = await asyncio.to_thread(links.mint, member, job_id, index, str(public_url))
    await surface.show_region_editor(job_id, index, link)


async def submit(
    core: ImagineCore,
    port: IntakePort,
    where: InThread,
    edit: RegionEdit,
    *,
    event_id: str,
    later: Callable[[Coroutine[Any, Any, None]], None] | None = None,
) -> bool:
    """Repaint the marked part of image `edit.index` of the turn `edit.job_id`; every refusal reaches
    the member through `port.tell`; True once taken. `later`: as `ImagineCore.intake` takes it."""

    def build() -> ImageRequest:
        member, origin = core.thread_member(where)
        turn = core.turn(member, edit.job_id) if origin is not None else None
        if turn is None or origin is None:
            raise InvalidRequest(messages.turn_forgotten(core.settings.config.threads.ttl_days))
        core.check_continues(member, origin)
        if edit.mask is None and not edit.ninths:
            raise InvalidRequest(nothing_marked())
        mask = _kept_mask(core, edit.mask, event_id, member.workspace) if edit.mask is not None else None
        follow_up = followups.region(turn, edit.index, edit.words, ninths=edit.ninths, mask=mask)
        return core.check_follow_up(member, follow_up, event_id=event_id)

    return await core.intake(port, build, later=later)


async def submit_by_link(
    core: ImagineCore,
    port: IntakePort,
    links: EditLinks,
    link: EditLink,
    words: str,
    mask: bytes,
    *,
    event_id: str,
) -> None:
    """The edit of an editor opened by a link from a chat: the chat member's, in their thread. The
    link is spent when its edit is taken, and works again when the edit is refused (a quota, a bad
    mask), until it expires."""
    if not await asyncio.to_thread(links.spend, link):  # another tab spent it first
        await port.tell(link_spent())
        return
    edit = RegionEdit(link.job_id, link.index, words, mask=mask)
    if not await submit(core, port, link.where, edit, event_id=event_id):
        await asyncio.to_thread(links.unspend, link)


def _kept_mask(core: ImagineCore, data: bytes, event_id: str, workspace: str) -> SourceImage:
    """The editor's mask, checked as any picture a member sends, in the store for the worker."""
    picture = member_images.checked(data, core.settings.config.limits.source_image_bytes)
    if picture.getextrema() in ((0, 0), ((0, 0),) * len(picture.getbands())):
        raise InvalidRequest(nothing_marked())
    (source,) = member_images.picture_sources(event_id, 1)
    member_images.keep(core.images, [picture], (source,), workspace=workspace)
    return source


def ninths_chosen(values: list[str]) -> tuple[str, ...]:
    """The form's chosen regions in the grid's order; anything else a forged or old form sent is
    dropped (and nothing left is told as nothing marked)."""
    return tuple(region for region in REGIONS if region in set(values))


# --- texts -----------------------------------------------------------------------------------------


def nothing_marked() -> str:
    return "Mark where to change the picture first: paint over it, or choose at least one region."


def choose_regions() -> str:
    return "🖌️ Choose the parts of the picture to draw anew, and say what goes there."
