"""Requests typed as words and flags, on every platform whose members type them (Slack's /imagine and
messages, the page's box, thread replies everywhere): a new image, or a refinement of a thread's last
one; the pictures attached to the message are drawn from, or steer the drawing where --sref, --cref
or --control say (bot/picture_roles.py)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from bot import followups, picture_roles
from bot.flags import parse_flags
from shared import messages
from shared.drawing.request import ImageRequest, RequestOptions
from shared.drawing.requester import Requester
from shared.drawing.sources import SourceImage
from shared.errors import InvalidRequest

if TYPE_CHECKING:
    from bot.core import ImagineCore
    from shared.members.threads import Turn


async def check_typed_new(
    core: ImagineCore,
    requester: Requester,
    text: str,
    *,
    event_id: str,
    no_words: str = "",
    attached: tuple[SourceImage, ...] = (),
) -> ImageRequest:
    """A new prompt typed with its flags, over the member's and the channel's defaults; `no_words` is
    the prompt when only flags were typed (a request that brings pictures: `attached`)."""
    flagged = parse_flags(text)
    options = RequestOptions(prompt=flagged.text or no_words, **flagged.options)  # type: ignore[arg-type]
    options = picture_roles.with_roles(options, flagged.pictures, attached)
    return await core.check_new(requester, options, event_id=event_id)


def check_refinement(
    core: ImagineCore,
    requester: Requester,
    turn: Turn,
    text: str,
    *,
    event_id: str,
    attached: tuple[SourceImage, ...] = (),
) -> ImageRequest:
    """Words and flags refining `turn` (a reply with its `attached` pictures, or the Refine form)."""
    flagged = parse_flags(text)
    follow_up = followups.refine(turn, flagged.text, flagged.options)
    if flagged.pictures.count:
        options = picture_roles.with_roles(follow_up.options, flagged.pictures, attached)
        follow_up = dataclasses.replace(follow_up, options=options)
    return core.check_follow_up(requester, follow_up, event_id=event_id)


def check_reply(
    core: ImagineCore,
    requester: Requester,
    text: str,
    *,
    event_id: str,
    attached: tuple[SourceImage, ...] = (),
) -> ImageRequest:
    """A message in the thread refining its last image; raises InvalidRequest."""
    turn = core.turn(requester)
    if turn is None:
        raise InvalidRequest(messages.nothing_to_refine_yet())
    return check_refinement(core, requester, turn, text, event_id=event_id, attached=attached)
