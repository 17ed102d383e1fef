"""The ✏️ Refine form's submit, on any platform: its words and flags work exactly as a reply in the
thread does, for the turn whose button opened it, under the thread's rule of who may refine."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from bot import typed_requests
from bot.core import ImagineCore
from bot.interactions.surface import IntakePort, InThread
from shared import messages
from shared.drawing.request import ImageRequest
from shared.errors import InvalidRequest


async def submit_refinement(
    core: ImagineCore,
    port: IntakePort,
    where: InThread,
    job_id: str,
    text: str,
    *,
    event_id: str,
    later: Callable[[Coroutine[Any, Any, None]], None] | None = None,
) -> None:
    """Refine the turn `job_id` with the form's text; every refusal reaches the member through
    `port.tell` (a form shows it under its field). `later`: as `ImagineCore.intake` takes it."""

    def build() -> ImageRequest:
        member, origin = core.thread_member(where)
        turn = core.turn(member, job_id) if origin is not None else None
        if turn is None or origin is None:
            raise InvalidRequest(messages.turn_forgotten(core.settings.config.threads.ttl_days))
        core.check_continues(member, origin)
        return typed_requests.check_refinement(core, member, turn, text, event_id=event_id)

    await core.intake(port, build, later=later)
