"""/describe on any platform: four prompts for a member's picture, each with an "Imagine this"
button, under the member's hourly limit ([quota] describes_per_hour, taken before any answer so a
refusal stays private); a press of one imagines that prompt as a new /imagine by whoever pressed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.core import ImagineCore
from bot.interactions.surface import Surface
from shared import messages
from shared.drawing.request import RequestOptions
from shared.drawing.requester import Requester
from shared.errors import InvalidRequest, Refused

PictureBytes = Callable[[], Awaitable[bytes]]  # the member's picture, fetched once the use is taken


async def describe(
    core: ImagineCore, surface: Surface, member: Requester, picture: PictureBytes | None
) -> None:
    """Describe `picture` (None: the member named none) and show the prompts with their buttons."""
    if picture is None:
        await surface.tell(messages.describe_needs_picture())
        return
    try:
        use = await core.describing.begin(member)
    except (InvalidRequest, Refused) as exc:
        await surface.tell(str(exc))
        return
    await surface.working()
    try:
        described = await core.describing.describe(member, use, picture)
    except (InvalidRequest, Refused) as exc:  # the use was given back
        await surface.tell(str(exc))
        return
    await surface.show_suggestions(described.describe_id, described.prompts)


async def imagine_suggestion(
    core: ImagineCore, surface: Surface, member: Requester, describe_id: str, index: int, *, event_id: str
) -> None:
    """ "Imagine this": a normal /imagine of that prompt, over the member's defaults."""
    prompt = await asyncio.to_thread(core.describing.suggestion, describe_id, index)
    if prompt is None:
        await surface.tell(messages.describe_expired())
        return
    options = RequestOptions(prompt=prompt)
    await core.intake(surface, lambda: core.check_new(member, options, event_id=event_id))
