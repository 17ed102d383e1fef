"""What the page's member does — a prompt in the channel, a reply in a thread, a button — run through the
core's intake, with the page's feed as the place answers go."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot import describing, followups, settings_form, typed_requests
from bot.core import ImagineCore
from bot.interactions import describe as describing_flow
from bot.interactions import pressing, region, replying, settings
from bot.interactions.commands import named
from bot.interactions.edit_links import EditLink, EditLinks, EditorLink, edit_goes_to_thread
from bot.interactions.queue import member_queue
from bot.interactions.surface import InThread, Opened
from bot.web import ui as web_ui
from bot.web.feed import PLATFORM, Feed
from shared import messages
from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester
from shared.imaging import member_images
from shared.jobs.queue import job_id_for
from shared.members.member_defaults import ChannelDefaults, MemberDefaults
from shared.members.threads import ThreadOrigin, Turn

T = TypeVar("T")
WORKSPACE = "local"
CHANNEL = "main"


@dataclass
class Answer:
    """The HTTP answer to one action: taken (a job is on its way), and what only this member sees."""

    taken: bool = False
    private: list[str] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)  # {label, id}: under the private lines
    form: list[dict[str, Any]] = field(default_factory=list)  # /settings: its fields, to draw as a form
    editor: dict[str, Any] | None = None  # 🖌️ Vary (Region): the image to open the editor over


class WebFrontend:
    def __init__(self, core: ImagineCore, feed: Feed) -> None:
        self.core = core
        self.feed = feed

    def requester(self, user: str, thread: str | None = None) -> Requester:
        return Requester(
            platform=PLATFORM,
            workspace=WORKSPACE,
            channel=CHANNEL,
            user=user,
            user_name=user,
            thread=thread,
            hides_images=True,  # blurred until clicked
        )

    async def say(
        self, user: str, text: str, thread: str | None, pictures: list[bytes] | None = None
    ) -> Answer:
        """A prompt with flags in the channel (a new thread), words refining a thread's last image, or
        `/queue` (the member's jobs, each with a Cancel button), `/settings` or a member command
        (bot/interactions/commands.py). `pictures` (uploaded with it) are what
        the image starts from; several are a blend."""
        event_id = f"web-{uuid.uuid4().hex}"
        requester = self.requester(user, thread)
        if thread is None and text.strip().lower() == "/settings":
            surface = _SettingsForm(self.core)
            await settings.show(self.core, surface, requester, manages_channel=False)  # no channels here
            return surface.answer
        member_command = named(text) if text.strip().startswith("/") else None
        if thread is None and member_command is not None:
            return Answer(private=[await member_command.answer(self.core, requester)])
        if thread is None and text.strip().lower() == "/queue":
            view = await member_queue(self.core, requester, operator=False)
            return Answer(
                private=view.lines, buttons=[{"label": label, "id": id_} for label, id_ in view.cancels]
            )
        port = WebPort(self.feed, user, thread)
        uploaded = (lambda: _ready(list(pictures))) if pictures else None  # decoded once admitted
        if thread is not None:
            reply = replying.ReplyEvent(
                InThread(requester, thread),
                text,
                event_id=event_id,
                addressed=True,
                pictures=uploaded,
                picture_count=len(pictures or []),
            )
            if not await replying.reply(self.core, port, reply):
                return Answer(private=[messages.nothing_to_refine_yet()])
            return port.answer

        async def build() -> ImageRequest:
            no_words = messages.pictures_prompt(len(pictures)) if pictures else ""
            attached = member_images.picture_sources(event_id, len(pictures or []))
            return await typed_requests.check_typed_new(
                self.core, requester, text, event_id=event_id, no_words=no_words, attached=attached
            )

        await self.core.intake(port, build, claim=True, pictures=uploaded)
        return port.answer

    async def describe(self, user: str, picture: bytes) -> Answer:
        """Four prompts for an uploaded picture, each with its "Imagine this" button."""
        port = WebPort(self.feed, user, None)
        await describing_flow.describe(self.core, port, self.requester(user), lambda: _ready(picture))
        return port.answer

    async def _imagine_suggestion(self, user: str, describe_id: str, index: int) -> Answer:
        port = WebPort(self.feed, user, None)
        event_id = f"web-{uuid.uuid4().hex}"
        await describing_flow.imagine_suggestion(
            self.core, port, self.requester(user), describe_id, index, event_id=event_id
        )
        return port.answer

    async def save_settings(self, user: str, values: dict[str, object]) -> Answer:
        config, backend = self.core.settings.config, self.core.settings.backend
        surface = _SettingsForm(self.core)
        form = lambda _: settings_form.read(values, config, backend)  # noqa: E731
        await settings.change(self.core, surface, self.requester(user), member=form)
        return surface.answer

    async def press(self, user: str, custom_id: str, thread: str | None) -> Answer:
        """A button under a result (its follow-up job, in the same thread), a Cancel of `/queue`, or
        an "Imagine this" of a description (a new thread)."""
        suggestion = describing.parse_button(custom_id)
        if suggestion is not None:
            return await self._imagine_suggestion(user, *suggestion)
        member = self.requester(user, thread)
        port = WebPort(self.feed, user, thread)
        event = pressing.PressEvent(
            followups.parse_press(custom_id),
            InThread(member, thread or ""),
            event_id=f"web-{uuid.uuid4().hex}",  # every action on the page is one press
        )
        await pressing.press(self.core, port, event)
        return port.answer

    async def vary_region(
        self, user: str, thread: str, job_id: str, index: int, words: str, mask: bytes
    ) -> Answer:
        """The page's region editor submitted over an image of the member's thread."""
        port = WebPort(self.feed, user, thread)
        edit = region.RegionEdit(job_id, index, words, mask=mask)
        where = InThread(self.requester(user, thread), thread)
        await region.submit(self.core, port, where, edit, event_id=f"web-{uuid.uuid4().hex}")
        return port.answer

    async def vary_region_by_link(self, links: EditLinks, link: EditLink, words: str, mask: bytes) -> Answer:
        """The editor opened by a link from a chat: the edit is the chat member's, in their thread,
        and its answer is posted there (by that platform's frontend)."""
        port = LinkPort()
        event_id = f"link-{uuid.uuid4().hex}"
        await region.submit_by_link(self.core, port, links, link, words, mask, event_id=event_id)
        return port.answer


async def _ready(data: T) -> T:
    """What the member uploaded with the request: nothing to fetch."""
    return data


class _SettingsForm:
    """/settings's surface on the web page: the answer to the request, the form's fields in it."""

    def __init__(self, core: ImagineCore) -> None:
        self._config, self._backend = core.settings.config, core.settings.backend
        self.answer = Answer()

    async def tell(self, text: str) -> None:
        self.answer.private.append(text)

    async def show_settings(self, member: MemberDefaults, channel: ChannelDefaults | None) -> None:
        self.answer.private.append(messages.member_settings(member.model_dump()))
        self.answer.form = [
            {"name": f.name, "label": f.label, "choices": list(f.choices), "current": f.current}
            for f in settings_form.fields(member, self._config, self._backend)
        ]

    async def show_saved(self, member: MemberDefaults | None, channel: ChannelDefaults | None) -> None:
        self.answer.private.append(messages.settings_saved())
        if member is not None:
            self.answer.private.append(messages.member_settings(member.model_dump()))


class _Answering:
    """An intake port whose answers go back in one HTTP answer: refusals as its private lines,
    `taken` once the request is. Each action on the page has an id of its own: nothing comes twice."""

    def __init__(self) -> None:
        self.answer = Answer()

    async def tell(self, text: str) -> None:
        self.answer.private.append(text)

    async def acknowledge(self, request: ImageRequest) -> None:
        self.answer.taken = True

    async def duplicate(self) -> None:
        """Not for the page's own ids."""


class WebPort(_Answering):
    """The surface of one action on the page: private answers go back in the HTTP answer; the
    status message (and, for a new prompt, its thread) goes onto the member's feed. The page's own
    reply box refines, so a result shows the buttons that make a job (and /queue's Cancel)."""

    effects = web_ui.PRESS_EFFECTS
    editor_elsewhere = False

    def __init__(self, feed: Feed, user: str, thread: str | None) -> None:
        super().__init__()
        self._feed = feed
        self._user = user
        self._thread = thread

    async def show_refine_form(self, job_id: str) -> None:
        """The page's Refine button focuses the thread's reply box; a press sent anyway is told so."""
        self.answer.private.append(messages.refine_in_reply_box())

    async def show_region_editor(self, job_id: str, index: int, link: EditorLink | None) -> None:
        """The page opens its editor over that image (static/editor.js)."""
        self.answer.editor = {"job": job_id, "index": index}

    async def show_details(self, turn: Turn) -> None:
        """Not offered: a result on the page shows its details."""

    async def remove_result(self) -> None:
        """Not offered on the page."""

    async def working(self) -> None:
        """The answer comes with the HTTP response."""

    async def show_suggestions(self, describe_id: str, prompts: list[str]) -> None:
        numbered = (f"{n}. {prompt}" for n, prompt in enumerate(prompts, 1))
        self.answer.private.extend([messages.describe_header(len(prompts)), *numbered])
        self.answer.buttons.extend(
            {"label": f"Imagine {n}", "id": describing.button_id(describe_id, n - 1)}
            for n in range(1, len(prompts) + 1)
        )

    async def open(self, request: ImageRequest, status: str) -> Opened | None:
        thread = self._thread or request.event_id  # a new prompt opens its own thread
        requester = request.requester.model_copy(update={"thread": thread})
        addressed = request.model_copy(update={"requester": requester})
        await self._feed.add(self._user, web_ui.status(job_id_for(addressed), addressed, status))
        origin = (thread, ThreadOrigin(channel=CHANNEL, owner=self._user)) if self._thread is None else None
        return Opened(addressed, origin)


class LinkPort(_Answering):
    """The intake port of an edit made through a link from a chat: the answer goes back to the editor
    (refusals, and the queue's place); the job carries the chat member's thread, where their
    platform's frontend posts the result."""

    async def open(self, request: ImageRequest, status: str) -> Opened | None:
        self.answer.private.append(f"{status} {edit_goes_to_thread()}")
        return Opened(request)
