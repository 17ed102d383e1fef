"""What the Slack app does with a slash command, a thread reply or mention, a button, the refine modal
and the App Home tab.

The same path as on Discord: claim the event (Slack retries deliveries; a double click presses twice),
validate, admit against the quota (refusals are ephemeral), acknowledge, post the parent or status
message, enqueue. Workers post the images into the thread through the Web API.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import describing, followups, typed_requests
from bot.answers_first import AnswersFirst
from bot.core import ImagineCore
from bot.interactions import blend as blending
from bot.interactions import describe as describing_flow
from bot.interactions import pressing, replying
from bot.interactions.commands import named
from bot.interactions.ids import REVEAL
from bot.interactions.queue import member_queue
from bot.interactions.surface import InThread, PictureFetch
from bot.slack import pictures
from bot.slack import ui as slack_ui
from bot.slack.home import MemberPages, is_admin
from bot.slack.surface import PLATFORM, SlackPort, origin_id, slack_member, tell_privately
from shared import keys, messages
from shared.drawing.request import ImageRequest
from shared.imaging import member_images

log = logging.getLogger(__name__)
ADMIN_LOOKUP_SECONDS = 1.0
_MENTION = "<@{}>"
BLEND_FLAG = "--blend"


class SlackFrontend:
    def __init__(
        self, core: ImagineCore, *, team_url: str = "", answers_first: AnswersFirst | None = None
    ) -> None:
        self.core = core
        self.settings = core.settings
        self.pages = MemberPages(core, team_url=team_url)  # team_url (auth.test): links to threads
        self.answers_first = answers_first or AnswersFirst()
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the acks owed have gone out: Slack's answers never wait on Web API calls."""
        task = asyncio.create_task(self._after_answers(work))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _after_answers(self, work: Coroutine[Any, Any, None]) -> None:
        await self.answers_first.wait()
        await work

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack: a handler failed", exc_info=task.exception())

    async def drain(self, timeout: float) -> None:
        """At shutdown: let started work (a parent message, an enqueue) finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    # --- /imagine --------------------------------------------------------------------------------

    async def command(self, ack, body: dict[str, Any], client: AsyncWebClient, respond) -> None:
        text = str(body.get("text") or "").strip()
        if text.lower() in ("", "help"):
            await ack(text=slack_ui.help_text(self.settings.config, self.settings.backend))
            return
        requester = slack_member(body["team_id"], body["channel_id"], body["user_id"], body.get("user_name"))
        if text.lower() == "settings":
            await ack()
            await self.pages.open_settings(client, body["trigger_id"], requester, in_channel=True)
            return
        member_command = named(text)
        if member_command is not None:
            await ack(text=await member_command.answer(self.core, requester))
            return
        if text.lower() == "queue":  # a workspace admin also sees each queue's totals
            # The answer is the ack, due in 3 s: the admin lookup gets a short while, else the plain view.
            try:
                operator = await asyncio.wait_for(is_admin(client, requester.user), ADMIN_LOOKUP_SECONDS)
            except TimeoutError:
                operator = False
            view = await member_queue(self.core, requester, operator=operator)
            await ack(text=view.text, blocks=slack_ui.queue_blocks(view))
            return
        if BLEND_FLAG in text.split():  # the pictures come in a form: a slash command carries no files
            await ack()
            words = " ".join(word for word in text.split() if word != BLEND_FLAG)
            await client.views_open(
                trigger_id=body["trigger_id"], view=pictures.blend_modal(body["channel_id"], words)
            )
            return
        port = SlackPort(
            self.settings, client, requester, thread_ts=None, tell_in=None, ack=ack, respond=respond
        )
        build = functools.partial(
            typed_requests.check_typed_new, self.core, requester, text, event_id=body["trigger_id"]
        )
        await self.core.intake(port, build, later=self.spawn)

    async def blend_submitted(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The --blend form: 2 to 5 pictures (checked here, under the field) and optional words; the
        pictures are fetched after the ack, since Slack gives a form 3 s."""
        view = body["view"]
        files, words = pictures.blend_form(view)
        problem = blending.problem(len(files))
        if problem is not None:
            await ack(response_action="errors", errors={"pictures": problem[:150]})
            return
        await ack()
        team, user, channel = body["team"]["id"], body["user"]["id"], view.get("private_metadata") or ""
        requester = slack_member(team, channel, user, None)
        event_id = f"view-{view['id']}"

        def build() -> Awaitable[ImageRequest]:
            attached = member_images.picture_sources(event_id, len(files))
            return typed_requests.check_typed_new(
                self.core,
                requester,
                words,
                event_id=event_id,
                no_words=blending.prompt(""),
                attached=attached,
            )

        port = SlackPort(self.settings, client, requester, thread_ts=None, tell_in=None)
        self.spawn(self.core.intake(port, build, pictures=self._pictures(client, files)))

    def _pictures(self, client: AsyncWebClient, files: list[dict[str, Any]]) -> PictureFetch | None:
        """The member's shared files, fetched with the bot token once the request is admitted."""
        if not files:
            return None
        return lambda: pictures.fetch_all(client, self.settings, files)

    # --- thread replies and mentions -------------------------------------------------------------

    async def message(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
    ) -> None:
        """A message in one of the app's threads refines its last image; in the app's DM, a message of
        its own is a prompt (as /imagine there); everything else is ignored."""
        if _from_a_bot(event):
            return
        if event.get("channel_type") == "im" and event.get("thread_ts") in (None, event.get("ts")):
            await self.mention(event, body, client, bot_user)  # a DM is addressed to the app already
            return
        if "thread_ts" not in event or event.get("thread_ts") == event.get("ts"):
            return
        if bot_user and _MENTION.format(bot_user) in str(event.get("text", "")):
            return  # the app_mention event for the same message handles it
        team = str(body.get("team_id") or event.get("team") or "")
        await self._refine(client, team, event, str(event.get("text", "")), addressed=False)

    async def mention(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
    ) -> None:
        """@app in one of its threads refines; anywhere else (or a message in the app's DM) it is a new
        /imagine in a thread there."""
        if _from_a_bot(event):
            return
        team = str(body.get("team_id") or event.get("team") or "")
        text = str(event.get("text", "")).replace(_MENTION.format(bot_user), " ").strip() if bot_user else ""
        thread_ts = event.get("thread_ts")
        if thread_ts and await self._refine(client, team, event, text, addressed=True):
            return  # one of the app's threads: the mention refines
        requester = slack_member(team, event["channel"], event["user"], None)
        port = SlackPort(
            self.settings, client, requester, thread_ts=thread_ts or event["ts"], tell_in=thread_ts
        )
        files = pictures.picture_files(event.get("files"))

        def build() -> Awaitable[ImageRequest]:
            return typed_requests.check_typed_new(
                self.core,
                requester,
                text,
                event_id=_message_event(event),
                no_words=messages.pictures_prompt(len(files)) if files else "",
                attached=member_images.picture_sources(_message_event(event), len(files)),
            )

        await self.core.intake(port, build, pictures=self._pictures(client, files))

    async def _refine(
        self, client: AsyncWebClient, team: str, event: dict[str, Any], text: str, *, addressed: bool
    ) -> bool:
        """The message refines its thread's last image (bot/interactions/replying.py); False when the
        thread is not the app's. Files shared with it are fetched with the bot token once admitted."""
        channel, thread_ts, user = event["channel"], event["thread_ts"], event["user"]
        member = slack_member(team, channel, user, None, thread=thread_ts)
        port = SlackPort(
            self.settings, client, member, thread_ts=thread_ts, tell_in=thread_ts, reply_ts=event["ts"]
        )
        files = pictures.picture_files(event.get("files"))
        reply = replying.ReplyEvent(
            InThread(member, origin_id(channel, thread_ts)),
            text,
            event_id=_message_event(event),  # message and mention of one message: one job
            addressed=addressed,
            pictures=self._pictures(client, files),
            picture_count=len(files),
        )
        return await replying.reply(self.core, port, reply)

    # --- buttons and the refine modal ------------------------------------------------------------

    async def action(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A result button or /imagine queue's Cancel (bot/interactions/pressing.py decides)."""
        await ack()
        self.spawn(self._press(body, client))

    async def unknown_action(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A button of ours that no family claims: an old message's, or a forged one."""
        await ack()
        channel = (body.get("channel") or {}).get("id")
        if channel:
            stale = messages.stale_button()
            self.spawn(tell_privately(client, channel, body["user"]["id"], stale, thread_ts=None))

    async def reveal(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel = (body.get("channel") or {}).get("id")
        if channel:
            self.spawn(self._reveal(body, client, channel))

    async def suggestion(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel = (body.get("channel") or {}).get("id")
        found = describing.parse_button(str(body["actions"][0].get("action_id", "")))
        if channel and found is not None:
            self.spawn(self._imagine_suggestion(body, client, channel, *found))

    async def _press(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        action = body["actions"][0]
        action_id = str(action.get("action_id", ""))
        channel = (body.get("channel") or {}).get("id")
        if channel is None:
            return  # buttons of ours are only ever on channel messages
        team, user = body["team"]["id"], body["user"]["id"]
        message, container = body.get("message") or {}, body.get("container") or {}
        thread_ts = message.get("thread_ts") or container.get("thread_ts") or message.get("ts")
        member = slack_member(team, channel, user, None, thread=thread_ts)
        tell_in = None if container.get("is_ephemeral") else thread_ts  # /imagine queue's answer
        surface = SlackPort(
            self.settings,
            client,
            member,
            thread_ts=thread_ts,
            tell_in=tell_in,
            trigger_id=body.get("trigger_id"),
        )
        event = pressing.PressEvent(
            followups.parse_press(action_id),
            InThread(member, origin_id(channel, thread_ts)),
            event_id=f"action-{action.get('action_ts') or time.time()}-{user}",
            button=f"{action_id}-{message.get('ts', '')}",
        )
        await pressing.press(self.core, surface, event)

    async def _reveal(self, body: dict[str, Any], client: AsyncWebClient, channel: str) -> None:
        """A hidden image's button: the image is posted into the thread, once, saying who asked."""
        parts = REVEAL.read(str(body["actions"][0].get("action_id", "")))
        assert parts is not None  # its listener matched the family's template
        job_id, index = parts["job"], parts["index"]
        user, team = body["user"]["id"], body["team"]["id"]
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        if not self.core.claim_event(PLATFORM, team, f"reveal-{job_id}:{index}"):
            await tell_privately(
                client, channel, user, messages.hidden_image_shown_already(), thread_ts=thread_ts
            )
            return
        data = await asyncio.to_thread(self.core.images.get, keys.image(job_id, int(index)))
        if data is None:
            await tell_privately(client, channel, user, messages.hidden_image_gone(), thread_ts=thread_ts)
            return
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file_uploads=[
                {"content": data, "filename": f"hidden-{index}.png", "title": f"Image {int(index) + 1}"}
            ],
            initial_comment=messages.hidden_image_shown(
                int(index) + 1, slack_ui.escape(str(body["user"].get("username") or user))
            ),
        )

    # --- the "Describe image" shortcut and its "Imagine this" buttons ------------------------------

    async def describe_shortcut(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self.spawn(self._describe(body, client))

    async def _describe(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Four prompts for the message's first picture, posted in its thread with a button each."""
        channel, user, team = body["channel"]["id"], body["user"]["id"], body["team"]["id"]
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        files = pictures.picture_files(message.get("files"))
        member = slack_member(team, channel, user, None)
        surface = SlackPort(self.settings, client, member, thread_ts=thread_ts, tell_in=thread_ts)
        fetch = (lambda: pictures.fetch_bytes(client, self.settings, files[0])) if files else None
        await describing_flow.describe(self.core, surface, member, fetch)

    async def _imagine_suggestion(
        self, body: dict[str, Any], client: AsyncWebClient, channel: str, describe_id: str, index: int
    ) -> None:
        """ "Imagine this": a new /imagine of that prompt in the channel, by whoever pressed."""
        user = body["user"]["id"]
        member = slack_member(body["team"]["id"], channel, user, None)
        action_ts = body["actions"][0].get("action_ts") or time.time()
        surface = SlackPort(self.settings, client, member, thread_ts=None, tell_in=None)
        await describing_flow.imagine_suggestion(
            self.core, surface, member, describe_id, index, event_id=f"action-{action_ts}-{user}"
        )


def _from_a_bot(event: dict[str, Any]) -> bool:
    """Bots (this app included) and edits, joins and other system messages never start a job; a
    member's message that shares files (subtype file_share) is a message like any other."""
    system = event.get("subtype") not in (None, "file_share")
    return bool(event.get("bot_id") or system or event.get("bot_profile") or not event.get("user"))


def _message_event(event: dict[str, Any]) -> str:
    """One id for a message, whichever event (message or app_mention, first try or retry) brings it."""
    return f"message-{event['channel']}-{event['ts']}"
