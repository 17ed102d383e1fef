"""/quota on any platform: what the member has used and has left, and when the window frees up."""

from __future__ import annotations

import asyncio

from bot.core import ImagineCore
from shared import messages
from shared.drawing.requester import Requester


async def answer(core: ImagineCore, member: Requester) -> str:
    return messages.quota_report(await asyncio.to_thread(core.usage, member))
