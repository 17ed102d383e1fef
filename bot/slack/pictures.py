"""Members' pictures on Slack: files shared in the app's threads or with a mention, the --blend form's
file input and the "Describe image" shortcut.

A Slack file is private to the workspace: only the bot token opens its `url_private`, and workers hold
no chat token. So the frontend fetches it (from Slack's file host only, with the same checks as any
member's picture) and keeps the checked pixels in the image store for the worker.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import describing
from bot.interactions import blend as blending
from bot.slack import texts as slack_texts
from shared import messages
from shared.configuration.settings import DEFAULT_SLACK_API_URL, Settings
from shared.drawing.request import MAX_SOURCES
from shared.errors import InvalidRequest
from shared.imaging import member_images

BLEND_MODAL = "imagine:blend-modal"
PICTURE_TYPES = ["png", "jpg", "jpeg", "webp", "gif"]
DESCRIBE_SHORTCUT = "imagine_describe"
FILE_HOSTS = ("files.slack.com",)  # url_private, fetched with the bot token


def picture_files(files: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The files of a message that say they are pictures (the bytes are checked when fetched)."""
    return [f for f in files or [] if str(f.get("mimetype", "")).startswith("image/")]


async def fetch_all(client: AsyncWebClient, settings: Settings, files: list[dict[str, Any]]) -> list[bytes]:
    """Each file's bytes (decoded and checked by the core once the request is admitted); raises
    InvalidRequest with the member's message, before any fetch for too many files."""
    if len(files) > MAX_SOURCES:
        raise InvalidRequest(messages.too_many_pictures(len(files), MAX_SOURCES))
    return [await fetch_bytes(client, settings, file) for file in files]


async def fetch_bytes(client: AsyncWebClient, settings: Settings, file: dict[str, Any]) -> bytes:
    """One file's bytes from `url_private` with the bot token (files.info first when the event
    carries only the file's id, as Slack Connect channels do)."""
    cap = _cap(settings)
    if file.get("file_access") == "check_file_info" or not file.get("url_private"):
        try:
            file = (await client.files_info(file=str(file.get("id", ""))))["file"]
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            raise InvalidRequest(
                slack_texts.slack_files_scope() if error == "missing_scope" else messages.image_unavailable()
            ) from None
    if not str(file.get("mimetype", "")).startswith("image/"):
        raise InvalidRequest(messages.image_wrong_type())
    if int(file.get("size") or 0) > cap:
        raise InvalidRequest(messages.image_too_big(cap))
    hosts = member_images.with_api_host(FILE_HOSTS, settings.slack_api_url, DEFAULT_SLACK_API_URL)
    fetch = functools.partial(
        member_images.fetch_from,
        settings,
        hosts,
        str(file.get("url_private_download") or file.get("url_private") or ""),
        {"Authorization": f"Bearer {client.token}"},
    )
    return await asyncio.to_thread(fetch)


def _cap(settings: Settings) -> int:
    return settings.config.limits.source_image_bytes


def blend_modal(channel: str, words: str) -> dict[str, Any]:
    """/imagine --blend: a form with a file input for 2 to 5 pictures and the words (optional)."""
    low, high = blending.PICTURES
    return {
        "type": "modal",
        "callback_id": BLEND_MODAL,
        "private_metadata": channel,
        "title": {"type": "plain_text", "text": "Blend pictures"},
        "submit": {"type": "plain_text", "text": "Blend"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "pictures",
                "label": {"type": "plain_text", "text": f"{low} to {high} pictures"},
                "element": {
                    "type": "file_input",
                    "action_id": "pictures",
                    "filetypes": PICTURE_TYPES,
                    "max_files": high,
                },
            },
            {
                "type": "input",
                "block_id": "prompt",
                "optional": True,
                "label": {"type": "plain_text", "text": "How to combine them"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "prompt",
                    **({"initial_value": words} if words else {}),
                },
            },
        ],
    }


def blend_form(view: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The files and the words of a submitted blend form."""
    values = view.get("state", {}).get("values", {})
    files = values.get("pictures", {}).get("pictures", {}).get("files") or []
    words = values.get("prompt", {}).get("prompt", {}).get("value") or ""
    return [f for f in files if isinstance(f, dict)], words


def suggestion_blocks(prompts: list[str], describe_id: str) -> list[dict[str, Any]]:
    """/describe's prompts, each with its "Imagine this" button."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": messages.describe_header(len(prompts))}}
    ]
    for index, prompt in enumerate(prompts):
        blocks.append(
            {
                "type": "section",
                "text": {"type": "plain_text", "text": f"{index + 1}. {prompt}"[:3000]},
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "🎨 Imagine this"},
                    "action_id": describing.button_id(describe_id, index),
                    "value": str(index),
                },
            }
        )
    return blocks
