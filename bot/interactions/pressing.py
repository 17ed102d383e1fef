"""A press of a button under a result, on any platform: Variation, Upscale, Reroll, the canvas edits (a
follow-up job in the same thread, charged to whoever pressed), Refine (its form), Vary (Region) (its
editor: bot/interactions/region.py), Info, Delete, and a job's Cancel
from the member's queue. Which button it was is `bot/followups.py`'s `Press`, parsed from its id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.core import ImagineCore
from bot.followups import Press
from bot.interactions import region
from bot.interactions.surface import InThread, Surface
from shared import messages
from shared.errors import InvalidRequest, Refused

PRESS_DEBOUNCE_SECONDS = 5  # a double click is one press


@dataclass(frozen=True)
class PressEvent:
    """One press as the platform received it."""

    press: Press | None  # None: an id this version does not know (an old message, a forged id)
    where: InThread  # who pressed, in the thread of the result (or the channel of a /queue answer)
    event_id: str  # the platform's id of this press: a redelivery does nothing
    button: str | None = None  # the button on its message: the same member's second click is one press
    may_manage_messages: bool = False  # may remove others' results (Discord's Manage Messages)


async def press(core: ImagineCore, surface: Surface, event: PressEvent) -> None:
    """Answer one press: every path ends in exactly one answer to the member."""
    chosen = event.press
    if chosen is None or chosen.action.effect not in surface.effects:
        await surface.tell(messages.stale_button())
        return
    member = event.where.member
    if not core.claim_event(member.platform, member.workspace, event.event_id):
        await surface.duplicate()
        return
    effect = chosen.action.effect
    if effect == "cancel":
        await surface.tell(await asyncio.to_thread(core.jobs.cancel, member, chosen.job_id))
    elif effect == "delete":
        if member.user != chosen.owner and not event.may_manage_messages:
            await surface.tell(messages.delete_not_yours())
        else:
            await surface.remove_result()
    else:
        await _in_thread(core, surface, event, chosen)


async def _in_thread(core: ImagineCore, surface: Surface, event: PressEvent, chosen: Press) -> None:
    """The presses that act on the result's turn: the thread must still be remembered, and (for a
    new image or its form) the thread's rule must let this member go on."""
    member, origin = core.thread_member(event.where)
    turn = core.turn(member, chosen.job_id) if origin is not None else None
    if turn is None or origin is None:
        await surface.tell(messages.turn_forgotten(core.settings.config.threads.ttl_days))
        return
    if chosen.action.effect == "info":
        await surface.show_details(turn)
        return
    try:
        core.check_continues(member, origin)
    except Refused as refusal:
        await surface.tell(str(refusal))
        return
    if chosen.action.effect == "form":
        await surface.show_refine_form(chosen.job_id)
        return
    if chosen.action.effect == "region":
        await region.offer_editor(
            core, surface, InThread(member, event.where.origin_key), turn.job_id, chosen.index
        )
        return
    if event.button is not None and not core.claim_event(
        member.platform,
        member.workspace,
        f"press-{member.user}-{event.button}",
        seconds=PRESS_DEBOUNCE_SECONDS,
    ):
        await surface.tell(messages.already_submitted())
        return
    make = chosen.action.make
    assert make is not None  # every "job" action declares its follow-up
    try:
        follow_up = make(turn, chosen.index)
    except InvalidRequest as exc:
        await surface.tell(str(exc))
        return
    build = lambda: core.check_follow_up(member, follow_up, event_id=event.event_id)  # noqa: E731
    await core.intake(surface, build, claim=False)  # claimed above, before the turn was looked up
