"""/gallery on any platform: a member's last images, a page at a time, each with a thumbnail while
the image store keeps it; platforms render the page (and its ◀ ▶, ids.GALLERY_PAGE)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.core import ImagineCore
from shared import messages
from shared.drawing.requester import Requester
from shared.imaging.images import thumbnail
from shared.members import gallery
from shared.members.gallery import GalleryEntry

PER_PAGE = 5


@dataclass(frozen=True)
class GalleryItem:
    number: int  # counted from the newest, over every page
    entry: GalleryEntry
    thumbnail: bytes | None  # a JPEG; None once the store no longer keeps the image


@dataclass(frozen=True)
class GalleryPage:
    number: int  # from 0
    pages: int
    total: int
    items: list[GalleryItem]

    @property
    def header(self) -> str:
        return messages.gallery_header(self.number + 1, self.pages, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 0

    @property
    def has_next(self) -> bool:
        return self.number + 1 < self.pages


async def gallery_page(core: ImagineCore, member: Requester, number: int) -> GalleryPage:
    """Page `number` (from 0) of the member's gallery, read off the event loop."""
    number = max(0, number)
    entries, total = await asyncio.to_thread(gallery.page, core.redis, member.user_key, number, PER_PAGE)
    items = []
    for n, entry in enumerate(entries, number * PER_PAGE + 1):
        data = await asyncio.to_thread(core.images.get, entry.image_keys[0]) if entry.image_keys else None
        items.append(GalleryItem(n, entry, thumbnail(data) if data is not None else None))
    return GalleryPage(number, max(1, -(-total // PER_PAGE)), total, items)
