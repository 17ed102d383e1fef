"""What an interaction asks of a platform: the small protocol every platform implements.

`IntakePort` is the part the intake sequence uses (tell privately, acknowledge, open the status
message and thread); `Surface` adds what the other interactions show. A platform renders each call
in its own way (an ephemeral message, a modal, an embed) and decides nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester
from shared.members.threads import ThreadOrigin

if TYPE_CHECKING:
    from bot.followups import PressEffect
    from bot.interactions.edit_links import EditorLink
    from shared.members.threads import Turn


@dataclass(frozen=True)
class Opened:
    """Where the answer of an admitted request goes, once the platform has posted its status message.

    `secrets` are reply handles that let their holder act as the bot (Discord's interaction token, for
    15 minutes): they never go into the job (RQ's payload, the result streams, which workers and
    anyone reading Redis see) but into a key of the frontends' own, by job id, for as long as the
    platform keeps them valid (bot/core.py: `SECRET_SECONDS`; `ImagineCore.reply_secrets` reads them)."""

    request: ImageRequest  # addressed: the thread and the platform's reply handles
    thread_origin: tuple[str, ThreadOrigin] | None = None  # (thread id, origin) of a thread just opened
    secrets: dict[str, str] = field(default_factory=dict)


PictureFetch = Callable[[], Awaitable[list[bytes]]]  # a member's pictures' bytes, fetched when called


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
    # The region editor is not on this platform but on the web page (a link to it, or the form)
    editor_elsewhere: bool

    async def show_refine_form(self, job_id: str) -> None:
        """Open the ✏️ Refine form for the turn `job_id` (its submit: bot/interactions/refining.py)."""

    async def show_region_editor(self, job_id: str, index: int, link: EditorLink | None) -> None:
        """🖌️ Vary (Region) for image `index` of `job_id`: the editor where the platform has one; else
        `link` to the page's (signed for this member), or without one the form: a 3×3 select of
        regions and the words (ids.REGION_FORM; its submit: bot/interactions/region.py)."""

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
