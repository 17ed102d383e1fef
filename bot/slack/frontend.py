"""What the Slack app does with a slash command, a thread reply or mention, a button, the refine modal
and the App Home tab.

The same path as on Discord: claim the event (Slack retries deliveries; a double click presses twice),
validate, admit against the quota (refusals are ephemeral), acknowledge, post the parent or status
message, enqueue. Workers post the images into the thread through the Web API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import describing, followups
from bot.answers_first import AnswersFirst
from bot.core import ImagineCore, Opened, PictureFetch
from bot.flags import flags_help_line
from bot.interactions import describe as describing_flow
from bot.interactions import pressing, replying
from bot.interactions.ids import REVEAL
from bot.interactions.queue import member_queue
from bot.interactions.refining import submit_refinement
from bot.interactions.surface import InThread
from bot.slack import pictures
from bot.slack import texts as slack_texts
from bot.slack import ui as slack_ui
from shared import gallery, keys, messages
from shared.choices import offered_loras, offered_models
from shared.config import AppConfig
from shared.durations import humanize_seconds
from shared.errors import InvalidRequest
from shared.request import ImageRequest, Requester
from shared.threads import ThreadOrigin, Turn

log = logging.getLogger(__name__)
ADMIN_LOOKUP_SECONDS = 1.0
PLATFORM = "slack"
_MENTION = "<@{}>"
BLEND_FLAG = "--blend"


def origin_id(channel: str, thread_ts: str) -> str:
    """Slack's thread ts is unique within a channel only."""
    return f"{channel}/{thread_ts}"


class SlackFrontend:
    def __init__(
        self, core: ImagineCore, *, team_url: str = "", answers_first: AnswersFirst | None = None
    ) -> None:
        self.core = core
        self.settings = core.settings
        self.team_url = team_url  # from auth.test, for links to threads on the App Home tab
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
            await ack(text=help_text(self.settings.config, self.settings.backend))
            return
        requester = _requester(body["team_id"], body["channel_id"], body["user_id"], body.get("user_name"))
        if text.lower() == "settings":
            await ack()
            await self.open_settings(client, body["trigger_id"], requester, in_channel=True)
            return
        if text.lower() == "queue":  # a workspace admin also sees each queue's totals
            # The answer is the ack, due in 3 s: the admin lookup gets a short while, else the plain view.
            try:
                operator = await asyncio.wait_for(
                    self._is_admin(client, requester.user), ADMIN_LOOKUP_SECONDS
                )
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
        port = SlackPort(self, client, requester, thread_ts=None, tell_in=None, ack=ack, respond=respond)
        build = lambda: self.core.check_typed_new(requester, text, event_id=body["trigger_id"])  # noqa: E731
        await self.core.intake(port, build, later=self.spawn)

    async def blend_submitted(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The --blend form: 2 to 5 pictures (checked here, under the field) and optional words; the
        pictures are fetched after the ack, since Slack gives a form 3 s."""
        view = body["view"]
        files, words = pictures.blend_form(view)
        low, high = pictures.BLEND_PICTURES
        if not low <= len(files) <= high:
            await ack(
                response_action="errors",
                errors={"pictures": messages.blend_needs_pictures(len(files), low, high)[:150]},
            )
            return
        await ack()
        team, user, channel = body["team"]["id"], body["user"]["id"], view.get("private_metadata") or ""
        requester = _requester(team, channel, user, None)
        event_id = f"view-{view['id']}"

        def build() -> Awaitable[ImageRequest]:
            return self.core.check_typed_new(
                requester, words, event_id=event_id, no_words=messages.BLEND_PROMPT
            )

        port = SlackPort(self, client, requester, thread_ts=None, tell_in=None)
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
        requester = _requester(team, event["channel"], event["user"], None)
        port = SlackPort(self, client, requester, thread_ts=thread_ts or event["ts"], tell_in=thread_ts)
        files = pictures.picture_files(event.get("files"))

        def build() -> Awaitable[ImageRequest]:
            return self.core.check_typed_new(
                requester,
                text,
                event_id=_message_event(event),
                no_words=messages.pictures_prompt(len(files)) if files else "",
            )

        await self.core.intake(port, build, pictures=self._pictures(client, files))

    async def _refine(
        self, client: AsyncWebClient, team: str, event: dict[str, Any], text: str, *, addressed: bool
    ) -> bool:
        """The message refines its thread's last image (bot/interactions/replying.py); False when the
        thread is not the app's. Files shared with it are fetched with the bot token once admitted."""
        channel, thread_ts, user = event["channel"], event["thread_ts"], event["user"]
        member = _requester(team, channel, user, None, thread=thread_ts)
        port = SlackPort(self, client, member, thread_ts=thread_ts, tell_in=thread_ts, reply_ts=event["ts"])
        reply = replying.ReplyEvent(
            InThread(member, origin_id(channel, thread_ts)),
            text,
            event_id=_message_event(event),  # message and mention of one message: one job
            addressed=addressed,
            pictures=self._pictures(client, pictures.picture_files(event.get("files"))),
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
            self.spawn(self._tell(client, channel, body["user"]["id"], stale, thread_ts=None))

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
        member = _requester(team, channel, user, None, thread=thread_ts)
        tell_in = None if container.get("is_ephemeral") else thread_ts  # /imagine queue's answer
        surface = SlackPort(
            self, client, member, thread_ts=thread_ts, tell_in=tell_in, trigger_id=body.get("trigger_id")
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
            await self._tell(
                client, channel, user, messages.hidden_image_shown_already(), thread_ts=thread_ts
            )
            return
        data = await asyncio.to_thread(self.core.images.get, keys.image(job_id, int(index)))
        if data is None:
            await self._tell(client, channel, user, messages.hidden_image_gone(), thread_ts=thread_ts)
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
        member = _requester(team, channel, user, None)
        surface = SlackPort(self, client, member, thread_ts=thread_ts, tell_in=thread_ts)
        fetch = (lambda: pictures.fetch_bytes(client, self.settings, files[0])) if files else None
        await describing_flow.describe(self.core, surface, member, fetch)

    async def _imagine_suggestion(
        self, body: dict[str, Any], client: AsyncWebClient, channel: str, describe_id: str, index: int
    ) -> None:
        """ "Imagine this": a new /imagine of that prompt in the channel, by whoever pressed."""
        user = body["user"]["id"]
        member = _requester(body["team"]["id"], channel, user, None)
        action_ts = body["actions"][0].get("action_ts") or time.time()
        surface = SlackPort(self, client, member, thread_ts=None, tell_in=None)
        await describing_flow.imagine_suggestion(
            self.core, surface, member, describe_id, index, event_id=f"action-{action_ts}-{user}"
        )

    async def refine_submitted(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The modal's text works exactly like a reply in the thread; bad flags show on the field."""
        view = body["view"]
        metadata = json.loads(view.get("private_metadata") or "{}")
        text = view["state"]["values"]["instruction"]["instruction"].get("value") or ""
        team, user = body["team"]["id"], body["user"]["id"]
        channel, thread_ts = metadata["channel"], metadata["thread"]
        member = _requester(team, channel, user, None, thread=thread_ts)
        port = SlackPort(
            self, client, member, thread_ts=thread_ts, tell_in=thread_ts, ack=ack, form_field="instruction"
        )
        where = InThread(member, origin_id(channel, thread_ts))
        await submit_refinement(
            self.core, port, where, metadata["job"], text, event_id=f"view-{view['id']}", later=self.spawn
        )

    # --- App Home --------------------------------------------------------------------------------

    # --- ⭐ on results ------------------------------------------------------------------------------

    async def starred(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
    ) -> None:
        """A member's ⭐ on a result: counted, and at the workspace's number reposted, once."""
        found = self._star(event, bot_user)
        if found is None:
            return
        team, message, shown = str(body.get("team_id") or ""), found[0], found[1]
        core = self.core
        showcase = await asyncio.to_thread(core.showcase.star, f"slack:{team}", message, event["user"])
        if showcase is None:
            return
        channel, ts = message.split(":", 1)
        try:
            link = (await client.chat_getPermalink(channel=channel, message_ts=ts)).get("permalink", "")
        except SlackApiError:
            link = ""
        text = messages.showcased(slack_ui.escape(shown["prompt"]), showcase.stars, link)
        images = [
            await asyncio.to_thread(core.images.get, keys.image(shown["job"], i))
            for i in range(shown["images"])
        ]
        uploads = [
            {"content": data, "filename": f"{shown['job']}-{i}.png", "title": f"Image {i + 1}"}
            for i, data in enumerate(images)
            if data is not None
        ]
        try:
            if uploads:
                await client.files_upload_v2(
                    channel=showcase.channel, initial_comment=text, file_uploads=uploads
                )
            else:
                await client.chat_postMessage(channel=showcase.channel, text=text, unfurl_links=False)
        except SlackApiError as exc:
            log.warning(
                'slack: could not repost a starred result to %s (%s): check [showcase."slack:%s"] channel '
                "and invite the app there",
                showcase.channel,
                exc.response.get("error"),
                team,
            )

    async def unstarred(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
    ) -> None:
        found = self._star(event, bot_user)
        if found is not None:
            await asyncio.to_thread(self.core.showcase.unstar, found[0], event["user"])

    def _star(self, event: dict[str, Any], bot_user: str) -> tuple[str, dict] | None:
        """(message id, what it shows) for a member's ⭐ on one of the app's result messages."""
        item = event.get("item") or {}
        if event.get("reaction") != "star" or item.get("type") != "message" or event.get("user") == bot_user:
            return None
        if bot_user and event.get("item_user") != bot_user:
            return None
        message = f"{item.get('channel')}:{item.get('ts')}"
        shown = self.core.showcase.shown_by("slack", message)
        return (message, shown) if shown is not None else None

    # --- /imagine settings and the App Home ------------------------------------------------------

    async def open_settings(
        self, client: AsyncWebClient, trigger_id: str, requester: Requester, *, in_channel: bool = False
    ) -> None:
        """The member's defaults; asked in a channel by a workspace admin, the channel's too."""
        defaults = await asyncio.to_thread(self.core.defaults.member, requester)
        channel = None
        if in_channel and await self._is_admin(client, requester.user):
            channel = await asyncio.to_thread(self.core.defaults.channel, requester)
        view = slack_ui.settings_modal(
            defaults,
            self.settings.config,
            self.settings.backend,
            channel=requester.channel if channel is not None else None,
            channel_defaults=channel,
        )
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("slack: could not open the settings: %s", exc.response.get("error"))

    @staticmethod
    async def _is_admin(client: AsyncWebClient, user: str) -> bool:
        """A workspace admin or owner (needs users:read; without it, nobody sets channel defaults)."""
        try:
            found = (await client.users_info(user=user)).get("user") or {}
        except SlackApiError as exc:
            log.info("slack: cannot tell whether %s is an admin: %s", user, exc.response.get("error"))
            return False
        return bool(found.get("is_admin") or found.get("is_owner"))

    async def edit_settings(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The App Home's Edit button."""
        await ack()
        requester = _requester(body["team"]["id"], "-", body["user"]["id"], None)
        await self.open_settings(client, body["trigger_id"], requester)

    async def settings_submitted(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        requester = _requester(team, "-", user, None)
        values = body["view"]["state"]["values"]
        try:
            defaults = slack_ui.submitted_defaults(values, self.settings.config, self.settings.backend)
        except InvalidRequest as exc:  # a value no longer offered (the config changed meanwhile)
            await ack(response_action="errors", errors={"style": str(exc)[:150]})
            return
        await ack()  # closes the modal
        await asyncio.to_thread(self.core.defaults.save_member, requester, defaults)
        channel = json.loads(body["view"].get("private_metadata") or "{}").get("channel")
        channel_defaults = slack_ui.submitted_channel_defaults(values)
        if channel and channel_defaults is not None and await self._is_admin(client, user):
            here = _requester(team, channel, user, None)
            await asyncio.to_thread(self.core.defaults.save_channel, here, channel_defaults)
        await self.home({"user": user, "tab": "home"}, {"team_id": team}, client)  # shows them at once

    async def home(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team = str(body.get("team_id") or "")
        requester = _requester(team, "-", event["user"], None)
        report = self.core.usage(requester)
        defaults = self.core.defaults.member(requester)
        edit = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Edit"},
            "action_id": slack_ui.SETTINGS_MODAL,
        }
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": "Your images"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": messages.quota_report(report)}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": messages.member_settings(defaults.model_dump())},
                "accessory": edit,
            },
            {"type": "divider"},
        ]
        recent, _ = gallery.page(self.core.redis, requester.user_key, 0, gallery.KEPT)
        if not recent:
            blocks.append(_mrkdwn("Nothing yet. Try `/imagine a lighthouse at dawn --ar 16:9` in a channel."))
        for item in recent:
            ago = humanize_seconds(max(0.0, time.time() - item.at))
            link = self._thread_link(item.channel, item.thread) if item.thread else ""
            prompt = slack_ui.escape(item.prompt[:200])
            blocks.append(_mrkdwn(f"• <{link}|{prompt}> — {ago} ago" if link else f"• {prompt} — {ago} ago"))
        try:
            await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})
        except SlackApiError as exc:
            log.warning("slack: could not publish the App Home tab: %s", exc.response.get("error"))

    # --- helpers ---------------------------------------------------------------------------------

    async def _tell(
        self, client: AsyncWebClient, channel: str, user: str, text: str, *, thread_ts: str | None
    ) -> None:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("slack: could not tell %s: %s", user, exc.response.get("error"))

    @staticmethod
    async def _react_quietly(client: AsyncWebClient, channel: str, ts: str, name: str) -> None:
        try:
            await client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            log.warning("slack: could not react: %s", exc.response.get("error"))

    def _thread_link(self, channel: str, thread_ts: str) -> str:
        if not self.team_url:
            return ""
        return f"{self.team_url.rstrip('/')}/archives/{channel}/p{thread_ts.replace('.', '')}"

    def _ttl_days(self) -> float:
        return self.settings.config.threads.ttl_days


class SlackPort:
    """The surface of one Slack event: `ack` where Slack waits for one (a command, a form), a
    private answer otherwise, and the status message posted as the parent of a new thread (or in the
    thread the request came from)."""

    effects: frozenset[followups.PressEffect] = frozenset({"job", "form", "cancel"})

    def __init__(
        self,
        frontend: SlackFrontend,
        client: AsyncWebClient,
        requester: Requester,
        *,
        thread_ts: str | None,
        ack=None,
        respond=None,
        tell_in: str | None,
        reply_ts: str | None = None,
        form_field: str | None = None,
        trigger_id: str | None = None,
    ) -> None:
        self._frontend, self._client, self._who = frontend, client, requester
        self._thread_ts = thread_ts  # None: the status message starts a thread of its own
        self._ack, self._respond = ack, respond
        self._reply_ts = reply_ts  # a member's reply in the thread: ⏳ on it, then ✅ or ❌
        self._tell_in = tell_in  # the thread a private answer shows in (None: the channel)
        self._form_field = form_field  # a form shows a refusal under its field
        self._trigger_id = trigger_id  # a press's: what opens a form in answer to it
        self._acked = False

    async def tell(self, text: str) -> None:
        who = self._who
        if self._ack is not None and not self._acked:  # the ack's own answer is private
            self._acked = True
            if self._form_field is not None:
                await self._ack(response_action="errors", errors={self._form_field: text[:150]})
            else:
                await self._ack(text=text)
            return
        if self._reply_ts:
            await self._frontend._react_quietly(self._client, who.channel, self._reply_ts, "x")
        if self._respond is not None:
            await self._respond(text=text, response_type="ephemeral")
        else:
            await self._frontend._tell(self._client, who.channel, who.user, text, thread_ts=self._tell_in)

    async def show_refine_form(self, job_id: str) -> None:
        who, max_chars = self._who, self._frontend.settings.config.limits.prompt_max_chars
        view = slack_ui.refine_modal(job_id, who.channel, who.thread or "", max_chars=max_chars)
        try:
            await self._client.views_open(trigger_id=self._trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("slack: could not open the refine modal: %s", exc.response.get("error"))

    async def show_details(self, turn: Turn) -> None:
        """Not offered on Slack: the details message under a result says it all."""

    async def working(self) -> None:
        """The shortcut was acknowledged already; the answer is a message of its own."""

    async def show_suggestions(self, describe_id: str, prompts: list[str]) -> None:
        await self._client.chat_postMessage(
            channel=self._who.channel,
            thread_ts=self._thread_ts,
            text=messages.describe_header(len(prompts)),
            blocks=pictures.suggestion_blocks(prompts, describe_id),
        )

    async def remove_result(self) -> None:
        """Not offered on Slack: members delete the app's messages with Slack's own menu."""

    async def duplicate(self) -> None:
        if self._ack is not None and not self._acked:  # Slack awaits an ack for a retry too
            self._acked = True
            await self._ack()

    async def acknowledge(self, request: ImageRequest) -> None:
        if self._ack is not None and not self._acked:
            self._acked = True
            await self._ack()
        if self._reply_ts:
            await self._frontend._react_quietly(
                self._client, self._who.channel, self._reply_ts, "hourglass_flowing_sand"
            )

    async def open(self, request: ImageRequest, status: str) -> Opened | None:
        who = self._who
        text = slack_ui.status_line(request, status)
        # Private results start their thread in the member's DM with the app (a user id as the
        # channel posts there); replies in that thread refine, as anywhere.
        private = request.private and self._thread_ts is None and not who.channel.startswith("D")
        try:
            posted = await self._client.chat_postMessage(
                channel=who.user if private else who.channel, text=text, thread_ts=self._thread_ts
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            log.warning("slack: could not post the status message: %s", error)
            if self._respond is not None:
                reason = (
                    slack_texts.slack_not_in_channel()
                    if error == "not_in_channel"
                    else messages.platform_error(0)
                )
                await self._respond(text=reason, response_type="ephemeral")
            return None
        status_ts, channel = posted["ts"], str(posted["channel"])
        thread = self._thread_ts or status_ts
        reply = {"status_channel": channel, "status_ts": status_ts}
        if self._reply_ts:
            reply["reply_ts"] = self._reply_ts
        requester = request.requester.model_copy(
            update={"thread": thread, "reply": {**request.requester.reply, **reply}}
        )
        # Private results move the conversation to the DM; the rules stay the channel's it was asked in.
        if private:
            requester = requester.delivered_in(who.workspace, channel)
        else:
            requester = requester.model_copy(update={"channel": channel})
        if private and self._respond is not None:
            await self._respond(text=messages.results_in_dm(), response_type="ephemeral")
        owner = ThreadOrigin(channel=channel, owner=who.user, asked_in=requester.asked_in)
        addressed = request.model_copy(update={"requester": requester})
        return Opened(addressed, (origin_id(channel, thread), owner))


def help_text(config: AppConfig, backend: str) -> str:
    styles = ", ".join(sorted(config.presets))
    models = "; ".join(label for _, label in offered_models(config, backend, nsfw=False))
    loras = "; ".join(label for _, label in offered_loras(config, nsfw=False))
    return (
        "*/imagine PROMPT [flags]* makes images from a prompt; they arrive in a thread, where replies "
        "refine them.\n"
        f"{flags_help_line()}\n"
        "`--ar` takes square, portrait, landscape, wide, tall or a ratio like 16:9; `--n` 1–4; "
        f"`--no` what the image should not contain.\nStyles: {styles}.\n"
        + (f"Models (`--model`): {models}.\n" if models else "")
        + (f"LoRAs (`--lora NAME:WEIGHT`, up to {config.diffusers.max_loras}): {loras}.\n" if loras else "")
        + "Example: `/imagine a lighthouse at dawn --ar 16:9 --style watercolor --no people`"
    )


def _requester(
    team: str, channel: str, user: str, name: str | None, *, thread: str | None = None
) -> Requester:
    return Requester(
        platform=PLATFORM,
        workspace=team,
        channel=channel,
        user=user,
        user_name=name,
        thread=thread,
        hides_images=True,  # behind a "Show hidden image" button
    )


def _from_a_bot(event: dict[str, Any]) -> bool:
    """Bots (this app included) and edits, joins and other system messages never start a job; a
    member's message that shares files (subtype file_share) is a message like any other."""
    system = event.get("subtype") not in (None, "file_share")
    return bool(event.get("bot_id") or system or event.get("bot_profile") or not event.get("user"))


def _message_event(event: dict[str, Any]) -> str:
    """One id for a message, whichever event (message or app_mention, first try or retry) brings it."""
    return f"message-{event['channel']}-{event['ts']}"


def _mrkdwn(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
