"""Posting result events into Slack threads through the app's Web API client.

slack_sdk does the HTTP: `files_upload_v2` (get an upload URL, upload, complete into the thread) and
429s, which its rate-limit retry handler waits out (Retry-After). This module decides what to post:
the images with their details, the buttons, status edits of the parent message, reactions on the
member's reply. A channel that is gone or closed to the app makes the answer impossible to post (the
result consumer refunds it).
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ui as slack_ui
from shared import messages
from shared.delivery.results import Failure, JobResult, StatusUpdate
from shared.drawing.chat_text import failure_icon
from shared.drawing.request import ImageRequest
from shared.errors import DeliveryImpossible
from shared.members.showcase import Showcase

log = logging.getLogger(__name__)
# Errors that retrying cannot fix: the channel or thread is gone, or the bot may not post there.
UNREACHABLE = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "channel_is_archived",
    "thread_not_found",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "access_denied",
    "message_not_found",
}


class SlackPoster:
    """Posts results, status edits and reactions, addressed by the channel and thread the job carries."""

    def __init__(self, client: AsyncWebClient, showcase: Showcase) -> None:
        self._client = client  # the app's own client: its token, base URL and rate-limit handler
        self._showcase = showcase

    async def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        await self._quietly(self._edit_status(request, slack_ui.status_line(request, update.short_text)))

    async def result(self, request: ImageRequest, result: JobResult) -> None:
        where = request.requester
        thread = where.thread
        shown = [(number, image) for number, image in enumerate(result.images, 1) if not image.spoiler]
        hidden = [index for index, image in enumerate(result.images) if image.spoiler]
        try:
            if shown:  # a hidden image is posted only when a member presses its button
                await self._client.files_upload_v2(
                    channel=where.channel,
                    thread_ts=thread,
                    file_uploads=[
                        {"content": image.data, "filename": image.filename, "title": f"Image {number}"}
                        for number, image in shown
                    ],
                )
            details = await self._client.chat_postMessage(
                channel=where.channel,
                thread_ts=thread,
                text=_details_text(request, result),
                blocks=[
                    _details_block(request, result),
                    *slack_ui.result_buttons(request, result.job_id, len(result.images)),
                    *slack_ui.reveal_buttons(result.job_id, hidden),
                ],
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _classified(exc) from None
        # ⭐ on the parent (seen in the channel) or on the details finds this job (shared/showcase.py).
        messages_shown = [
            f"{where.channel}:{ts}" for ts in (where.reply.get("status_ts"), details.get("ts")) if ts
        ]
        await asyncio.to_thread(
            self._showcase.remember,
            "slack",
            messages_shown,
            result.job_id,
            result.idea or request.prompt,
            len(result.images),
        )
        done = messages.done(len(result.images), result.seconds)
        await self._quietly(self._edit_status(request, slack_ui.status_line(request, done, "✅")))
        await self._quietly(self._react(request, "white_check_mark"))

    async def failure(self, job_id: str, request: ImageRequest, failure: Failure) -> None:
        try:
            await self._edit_status(
                request, slack_ui.status_line(request, failure.text, failure_icon(failure.kind))
            )
        except SlackApiError as exc:
            raise _classified(exc) from None
        await self._quietly(self._react(request, "no_entry_sign" if failure.kind == "refused" else "x"))

    async def _edit_status(self, request: ImageRequest, text: str) -> None:
        reply = request.requester.reply
        if "status_ts" in reply:
            await self._client.chat_update(channel=reply["status_channel"], ts=reply["status_ts"], text=text)

    async def _react(self, request: ImageRequest, name: str) -> None:
        reply_ts = request.requester.reply.get("reply_ts")
        if reply_ts is None:
            return
        channel = request.requester.channel
        await self._client.reactions_add(channel=channel, timestamp=reply_ts, name=name)
        await self._client.reactions_remove(
            channel=channel, timestamp=reply_ts, name="hourglass_flowing_sand"
        )

    @staticmethod
    async def _quietly(step) -> None:
        """A courtesy step (status edit, reaction) whose failure must not undo a delivered result."""
        try:
            await step
        except SlackApiError as exc:
            log.warning("slack: a courtesy update failed: %s", exc.response.get("error"))


def _classified(exc: SlackApiError) -> Exception:
    error = str(exc.response.get("error", ""))
    if error in UNREACHABLE:
        return DeliveryImpossible(f"Slack refused the post ({error})")
    if error in {"invalid_auth", "not_authed", "token_revoked", "account_inactive"}:
        return DeliveryImpossible(f"SLACK_BOT_TOKEN is not accepted ({error}): fix the token the app uses")
    return exc  # anything else may pass: the result consumer tries the entry again, and posts once


def _details_text(request: ImageRequest, result: JobResult) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    return f"{len(result.images)} image(s) for: {slack_ui.escape(result.idea or request.prompt)}"[:3000]


def _details_block(request: ImageRequest, result: JobResult) -> dict:
    lines = [f"*Prompt:* {slack_ui.escape(result.idea or request.prompt)}"]
    if result.revised_prompt:
        lines.append(f"*Revised prompt:* {slack_ui.escape(result.revised_prompt)}")
    seeds = ", ".join(str(image.seed) for image in result.images if image.seed is not None)
    if seeds:
        lines.append(f"*Seed{'s' if len(result.images) > 1 else ''}:* {seeds}")
    lines.append(f"*Model:* {slack_ui.escape(result.model)} · *Time:* {result.seconds:.1f} s")
    lines.extend(slack_ui.escape(note) for note in result.notes)
    text = "\n".join(lines)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[: slack_ui.TEXT_MAX]}}
