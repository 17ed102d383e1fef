"""A member's own pages on Slack: /imagine settings (a modal; a workspace admin's in a channel sets
that channel's defaults too) and the App Home (their quota, their defaults, their recent images)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import ImagineCore
from bot.slack import ui as slack_ui
from bot.slack.surface import slack_member
from shared import messages
from shared.drawing.request import Requester
from shared.durations import humanize_seconds
from shared.errors import InvalidRequest
from shared.members import gallery

log = logging.getLogger(__name__)


class MemberPages:
    """The settings modal and the App Home; `team_url` makes the links to threads."""

    def __init__(self, core: ImagineCore, *, team_url: str) -> None:
        self.core = core
        self.settings = core.settings
        self.team_url = team_url

    async def open_settings(
        self, client: AsyncWebClient, trigger_id: str, requester: Requester, *, in_channel: bool = False
    ) -> None:
        """The member's defaults; asked in a channel by a workspace admin, the channel's too."""
        defaults = await asyncio.to_thread(self.core.defaults.member, requester)
        channel = None
        if in_channel and await is_admin(client, requester.user):
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

    async def edit_settings(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The App Home's Edit button."""
        await ack()
        requester = slack_member(body["team"]["id"], "-", body["user"]["id"], None)
        await self.open_settings(client, body["trigger_id"], requester)

    async def settings_submitted(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        requester = slack_member(team, "-", user, None)
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
        if channel and channel_defaults is not None and await is_admin(client, user):
            here = slack_member(team, channel, user, None)
            await asyncio.to_thread(self.core.defaults.save_channel, here, channel_defaults)
        await self.home({"user": user, "tab": "home"}, {"team_id": team}, client)  # shows them at once

    async def home(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team = str(body.get("team_id") or "")
        requester = slack_member(team, "-", event["user"], None)
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
            link = self.thread_link(item.channel, item.thread) if item.thread else ""
            prompt = slack_ui.escape(item.prompt[:200])
            blocks.append(_mrkdwn(f"• <{link}|{prompt}> — {ago} ago" if link else f"• {prompt} — {ago} ago"))
        try:
            await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})
        except SlackApiError as exc:
            log.warning("slack: could not publish the App Home tab: %s", exc.response.get("error"))

    def thread_link(self, channel: str, thread_ts: str) -> str:
        if not self.team_url:
            return ""
        return f"{self.team_url.rstrip('/')}/archives/{channel}/p{thread_ts.replace('.', '')}"


async def is_admin(client: AsyncWebClient, user: str) -> bool:
    """A workspace admin or owner (needs users:read; without it, nobody sets channel defaults)."""
    try:
        found = (await client.users_info(user=user)).get("user") or {}
    except SlackApiError as exc:
        log.info("slack: cannot tell whether %s is an admin: %s", user, exc.response.get("error"))
        return False
    return bool(found.get("is_admin") or found.get("is_owner"))


def _mrkdwn(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
