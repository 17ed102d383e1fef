"""The ⭐ showcase on Slack: `reaction_added`/`removed` events translated for bot/interactions/showcase.py,
and its surface (the result as delivery remembered it, the permalink, the repost)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import ImagineCore
from bot.interactions import showcase
from bot.interactions.showcase import Shown, Star
from bot.slack import ui as slack_ui
from bot.slack.surface import PLATFORM

log = logging.getLogger(__name__)


async def starred(
    core: ImagineCore, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
) -> None:
    star = _star(event, body, bot_user)
    if star is not None:
        await showcase.star(core, star, _Showcase(core, client, star))


async def unstarred(
    core: ImagineCore, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, bot_user: str
) -> None:
    star = _star(event, body, bot_user)
    if star is not None and core.showcase.shown_by(PLATFORM, star.message) is not None:
        await showcase.unstar(core, star)


def _star(event: dict[str, Any], body: dict[str, Any], bot_user: str) -> Star | None:
    """A member's ⭐ on one of the app's messages (the app's own star does not count)."""
    item = event.get("item") or {}
    if event.get("reaction") != "star" or item.get("type") != "message" or event.get("user") == bot_user:
        return None
    if bot_user and event.get("item_user") != bot_user:
        return None
    workspace = f"{PLATFORM}:{body.get('team_id') or ''}"
    return Star(workspace, f"{item.get('channel')}:{item.get('ts')}", str(event["user"]))


class _Showcase:
    def __init__(self, core: ImagineCore, client: AsyncWebClient, star: Star) -> None:
        self._core, self._client, self._star = core, client, star

    async def shown(self) -> Shown | None:
        entry = self._core.showcase.shown_by(PLATFORM, self._star.message)  # remembered at delivery
        return Shown(entry["job"], entry["prompt"], entry["images"]) if entry else None

    async def link(self) -> str:
        channel, ts = self._star.message.split(":", 1)
        try:
            return (await self._client.chat_getPermalink(channel=channel, message_ts=ts)).get("permalink", "")
        except SlackApiError:
            return ""

    def quote(self, prompt: str) -> str:
        return slack_ui.escape(prompt)

    async def repost(self, channel: str, text: str, pictures: list[tuple[str, bytes]]) -> None:
        uploads = [
            {"content": data, "filename": name, "title": f"Image {number}"}
            for number, (name, data) in enumerate(pictures, start=1)
        ]
        try:
            if uploads:
                await self._client.files_upload_v2(
                    channel=channel, initial_comment=text, file_uploads=uploads
                )
            else:
                await self._client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        except SlackApiError as exc:
            log.warning(
                'slack: could not repost a starred result to %s (%s): check [showcase."%s"] channel '
                "and invite the app there",
                channel,
                exc.response.get("error"),
                self._star.workspace,
            )
