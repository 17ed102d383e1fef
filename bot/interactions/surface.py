"""What an interaction asks of a platform: the small protocol every platform implements.

`IntakePort` is the part the intake sequence uses (tell privately, acknowledge, open the status
message and thread); `Surface` adds what the other interactions show. A platform renders each call
in its own way (an ephemeral message, a modal, an embed) and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shared.drawing.request import Requester

if TYPE_CHECKING:
    from bot.core import Opened
    from bot.followups import PressEffect
    from shared.drawing.request import ImageRequest
    from shared.members.threads import Turn


class IntakePort(Protocol):
    """What a platform does for one event during the intake sequence."""

    async def tell(self, text: str) -> None:
        """Answer the member privately (before the ack, this may be the ack's answer)."""

    async def acknowledge(self, request: ImageRequest) -> None:
        """Defer / ack: the platform's deadline is met from here on (privately, for private results)."""

    async def duplicate(self) -> None:
        """The event was handled before (a redelivery, a retry): answer only what the platform awaits."""

    async def open(self, request: ImageRequest, status: str) -> Opened | None:
        """Post (or edit) the public status message, opening the thread if the request needs one.
        None when that failed; the port has told the member why."""


class Surface(IntakePort, Protocol):
    """An intake port that also shows what the other interactions answer with."""

    # The kinds of result button this platform shows (bot/followups.py: Action.effect); a press of
    # another kind is an old or forged button there.
    effects: frozenset[PressEffect]

    async def show_refine_form(self, job_id: str) -> None:
        """Open the ✏️ Refine form for the turn `job_id` (its submit: bot/interactions/refining.py)."""

    async def show_details(self, turn: Turn) -> None:
        """Show the turn's details (prompt, seeds, model) privately."""

    async def remove_result(self) -> None:
        """Remove the result message the pressed button is on, and tell the member."""

    async def working(self) -> None:
        """A public answer is on its way (Discord's "thinking…"); a later `tell` stays private."""

    async def show_suggestions(self, describe_id: str, prompts: list[str]) -> None:
        """/describe's prompts, numbered, each with its "Imagine this" button (ids.SUGGESTION)."""


@dataclass(frozen=True)
class InThread:
    """A member acting in a thread, as the platform knows them (`member.thread` set), and the
    thread's id among the bot's threads (bot/core.py: `ImagineCore.origins`; Slack's names its
    channel too)."""

    member: Requester
    origin_key: str
