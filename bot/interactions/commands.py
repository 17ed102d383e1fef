"""Member commands that take no options and answer privately in words, declared once; every platform
offers each one by its name (Discord: the slash command `/NAME`; Slack: `/imagine NAME`; the web page:
`/NAME` typed in the prompt box) and shows its answer to the member alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core import ImagineCore
from bot.interactions import quota
from shared.drawing.requester import Requester


@dataclass(frozen=True)
class MemberCommand:
    name: str  # lowercase, as Discord's command names must be
    description: str  # Discord's command description; Slack's help lists it too
    answer: Callable[[ImagineCore, Requester], Awaitable[str]]  # the text shown to the member alone


COMMANDS: dict[str, MemberCommand] = {
    command.name: command
    for command in (MemberCommand("quota", "How many images you have left", quota.answer),)
}


def named(text: str) -> MemberCommand | None:
    """The command a member typed as `NAME` or `/NAME` (any case), or None."""
    return COMMANDS.get(text.strip().lower().removeprefix("/"))
