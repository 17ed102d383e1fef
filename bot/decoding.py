"""Members' pictures decoded a few at a time in each frontend process.

A small file can hold many megapixels (a 131 KB PNG of 40 MP takes seconds and hundreds of MB to
decode), so a burst of them must not take every thread and all the memory at once. Decoding runs on a
thread, behind a gate of `at_once` per process; the event loop goes on answering meanwhile.
"""

from __future__ import annotations

import asyncio

from PIL import Image

from shared.imaging import member_images

DECODES_AT_ONCE = 2  # per process: what a small frontend box decodes side by side without swapping


class Decoding:
    """Checked pixels from a member's bytes (see `member_images.checked`), `at_once` at a time."""

    def __init__(self, max_bytes: int, *, at_once: int = DECODES_AT_ONCE) -> None:
        self._max_bytes = max_bytes
        self._gate = asyncio.Semaphore(at_once)  # bound to the loop of its first use

    async def checked(self, data: bytes) -> Image.Image:
        """One picture's pixels; raises InvalidRequest with the member's message."""
        async with self._gate:
            return await asyncio.to_thread(member_images.checked, data, self._max_bytes)

    async def all_checked(self, pictures: list[bytes]) -> list[Image.Image]:
        """Each picture's pixels, in order; the first bad one raises (the rest are not decoded)."""
        return [await self.checked(data) for data in pictures]
