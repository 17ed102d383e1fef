"""The ⭐ showcase on Slack: a member's star on a result is counted, and at the workspace's number
the result is reposted, once, to its [showcase."slack:<team>"] channel."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import ImagineCore
from bot.slack import ui as slack_ui
from shared import keys, messages

log = logging.getLogger(__name__)


async def starred(
    core: ImagineCore, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
) -> None:
    """A member's ⭐ on a result: counted, and at the workspace's number reposted, once."""
    found = _star(core, event, bot_user)
    if found is None:
        return
    team, message, shown = str(body.get("team_id") or ""), found[0], found[1]
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
        await asyncio.to_thread(core.images.get, keys.image(shown["job"], i)) for i in range(shown["images"])
    ]
    uploads = [
        {"content": data, "filename": f"{shown['job']}-{i}.png", "title": f"Image {i + 1}"}
        for i, data in enumerate(images)
        if data is not None
    ]
    try:
        if uploads:
            await client.files_upload_v2(channel=showcase.channel, initial_comment=text, file_uploads=uploads)
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
    core: ImagineCore, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
) -> None:
    found = _star(core, event, bot_user)
    if found is not None:
        await asyncio.to_thread(core.showcase.unstar, found[0], event["user"])


def _star(core: ImagineCore, event: dict[str, Any], bot_user: str) -> tuple[str, dict] | None:
    """(message id, what it shows) for a member's ⭐ on one of the app's result messages."""
    item = event.get("item") or {}
    if event.get("reaction") != "star" or item.get("type") != "message" or event.get("user") == bot_user:
        return None
    if bot_user and event.get("item_user") != bot_user:
        return None
    message = f"{item.get('channel')}:{item.get('ts')}"
    shown = core.showcase.shown_by("slack", message)
    return (message, shown) if shown is not None else None
