"""Slack's surface (bot/interactions/surface.py): how an interaction's answers look there — the ack
where Slack waits for one (a command, a form: a refusal under its field), an ephemeral message
otherwise, the status message as the parent of a new thread (or in the thread it came from), a
reply's reactions, the Refine modal."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.interactions.edit_links import EditorLink
from bot.interactions.surface import Opened
from bot.slack import pictures
from bot.slack import texts as slack_texts
from bot.slack import ui as slack_ui
from shared import messages
from shared.configuration.settings import Settings
from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester
from shared.members.threads import ThreadOrigin, Turn

log = logging.getLogger(__name__)
PLATFORM = "slack"


def origin_id(channel: str, thread_ts: str) -> str:
    """Slack's thread ts is unique within a channel only."""
    return f"{channel}/{thread_ts}"


class SlackPort:
    """The surface of one Slack event: `ack` where Slack waits for one (a command, a form), a
    private answer otherwise, and the status message posted as the parent of a new thread (or in the
    thread the request came from)."""

    effects = slack_ui.PRESS_EFFECTS
    editor_elsewhere = True

    def __init__(
        self,
        settings: Settings,
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
        self._client, self._who = client, requester
        self._max_chars = settings.config.limits.prompt_max_chars
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
            await react_quietly(self._client, who.channel, self._reply_ts, "x")
        if self._respond is not None:
            await self._respond(text=text, response_type="ephemeral")
        else:
            await tell_privately(self._client, who.channel, who.user, text, thread_ts=self._tell_in)

    async def show_refine_form(self, job_id: str) -> None:
        who, max_chars = self._who, self._max_chars
        view = slack_ui.refine_modal(job_id, who.channel, who.thread or "", max_chars=max_chars)
        try:
            await self._client.views_open(trigger_id=self._trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("slack: could not open the refine modal: %s", exc.response.get("error"))

    async def show_region_editor(self, job_id: str, index: int, link: EditorLink | None) -> None:
        who = self._who
        if link is not None:
            blocks = slack_ui.editor_link_blocks(link.text, link.url)
            if self._respond is not None:
                await self._respond(text=link.text, blocks=blocks, response_type="ephemeral")
            else:
                await tell_privately(
                    self._client, who.channel, who.user, link.text, thread_ts=self._tell_in, blocks=blocks
                )
            return
        view = slack_ui.region_modal(job_id, index, who.channel, who.thread or "", max_chars=self._max_chars)
        try:
            await self._client.views_open(trigger_id=self._trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("slack: could not open the region form: %s", exc.response.get("error"))

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
            await react_quietly(self._client, self._who.channel, self._reply_ts, "hourglass_flowing_sand")

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


async def tell_privately(
    client: AsyncWebClient,
    channel: str,
    user: str,
    text: str,
    *,
    thread_ts: str | None,
    blocks: list[dict] | None = None,
) -> None:
    try:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=text, thread_ts=thread_ts, blocks=blocks
        )
    except SlackApiError as exc:
        log.warning("slack: could not tell %s: %s", user, exc.response.get("error"))


async def react_quietly(client: AsyncWebClient, channel: str, ts: str, name: str) -> None:
    try:
        await client.reactions_add(channel=channel, timestamp=ts, name=name)
    except SlackApiError as exc:
        log.warning("slack: could not react: %s", exc.response.get("error"))


def slack_member(
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
