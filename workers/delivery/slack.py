"""Delivery into Slack threads through the Web API with the bot token.

slack_sdk does the HTTP: `files_upload_v2` (get an upload URL, upload, complete into the thread) and
429s, which its rate-limit retry handler waits out (Retry-After). This module decides what to post:
the images with their details, the buttons, status edits of the parent message, reactions on the
member's reply. A channel that is gone or closed to the bot ends the job (quota refunded).
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from shared import messages, slack_ui
from shared.chat_text import failure_icon
from shared.errors import ConfigError, DeliveryImpossible, FailureKind
from shared.request import ImageRequest
from shared.settings import Settings
from workers.delivery.base import JobResult, StatusUpdate

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
RATE_LIMIT_RETRIES = 5
TIMEOUT_SECONDS = 60


class SlackDeliverer:
    """Posts results, status edits and reactions, addressed by the channel and thread the job carries."""

    def __init__(self, settings: Settings) -> None:
        if settings.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set: workers need the bot token to post into threads")
        self._client = WebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            timeout=TIMEOUT_SECONDS,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        )

    def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        self._quietly(lambda: self._edit_status(request, slack_ui.status_line(request, update.short_text)))

    def result(self, request: ImageRequest, result: JobResult) -> None:
        where = request.requester
        thread = where.thread
        try:
            self._client.files_upload_v2(
                channel=where.channel,
                thread_ts=thread,
                file_uploads=[
                    {"content": image.data, "filename": image.filename, "title": f"Image {number}"}
                    for number, image in enumerate(result.images, 1)
                ],
            )
            self._client.chat_postMessage(
                channel=where.channel,
                thread_ts=thread,
                text=_details_text(request, result),
                blocks=[
                    _details_block(request, result),
                    *slack_ui.result_buttons(result.job_id, len(result.images)),
                ],
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _classified(exc) from None
        done = messages.done(len(result.images), result.seconds)
        self._quietly(lambda: self._edit_status(request, slack_ui.status_line(request, done, "✅")))
        self._quietly(lambda: self._react(request, "white_check_mark"))

    def failure(self, job_id: str, request: ImageRequest, message: str, kind: FailureKind) -> None:
        try:
            self._edit_status(request, slack_ui.status_line(request, message, failure_icon(kind)))
        except SlackApiError as exc:
            raise _classified(exc) from None
        self._quietly(lambda: self._react(request, "no_entry_sign" if kind == "refused" else "x"))

    def _edit_status(self, request: ImageRequest, text: str) -> None:
        reply = request.requester.reply
        if "status_ts" in reply:
            self._client.chat_update(channel=reply["status_channel"], ts=reply["status_ts"], text=text)

    def _react(self, request: ImageRequest, name: str) -> None:
        reply_ts = request.requester.reply.get("reply_ts")
        if reply_ts is None:
            return
        channel = request.requester.channel
        self._client.reactions_add(channel=channel, timestamp=reply_ts, name=name)
        self._client.reactions_remove(channel=channel, timestamp=reply_ts, name="hourglass_flowing_sand")

    @staticmethod
    def _quietly(step) -> None:
        """A courtesy step (status edit, reaction) whose failure must not undo a delivered result."""
        try:
            step()
        except SlackApiError as exc:
            log.warning("slack: a courtesy update failed: %s", exc.response.get("error"))


def _classified(exc: SlackApiError) -> Exception:
    error = str(exc.response.get("error", ""))
    if error in UNREACHABLE:
        return DeliveryImpossible(f"Slack refused the post ({error})")
    if error in {"invalid_auth", "not_authed", "token_revoked", "account_inactive"}:
        return DeliveryImpossible(f"SLACK_BOT_TOKEN is not accepted ({error}): fix the token the workers use")
    return exc  # anything else may pass: RQ retries the job, which posts once


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
