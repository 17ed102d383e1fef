"""A member's own pages on Slack: /imagine settings (a modal; a workspace admin's in a channel sets
that channel's defaults too) and the App Home (their quota, their defaults, their recent images)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import ImagineCore
from bot.interactions import settings
from bot.slack import ui as slack_ui
from bot.slack.surface import slack_member
from shared import messages
from shared.drawing.requester import Requester
from shared.durations import humanize_seconds
from shared.members import gallery
from shared.members.member_defaults import ChannelDefaults, MemberDefaults

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
        manages = in_channel and await is_admin(client, requester.user)
        surface = _SettingsModal(self, client, requester, trigger_id=trigger_id)
        await settings.show(self.core, surface, requester, manages_channel=manages)

    async def edit_settings(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The App Home's Edit button."""
        await ack()
        requester = slack_member(body["team"]["id"], "-", body["user"]["id"], None)
        await self.open_settings(client, body["trigger_id"], requester)

    async def settings_submitted(self, ack, body: dict[str, Any], client: AsyncWebClient) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        values = body["view"]["state"]["values"]
        config, backend = self.settings.config, self.settings.backend
        member = slack_member(team, "-", user, None)
        surface = _SettingsModal(self, client, member, ack=ack)
        form = lambda _: slack_ui.submitted_defaults(values, config, backend)  # noqa: E731
        await settings.change(self.core, surface, member, member=form)
        channel = json.loads(body["view"].get("private_metadata") or "{}").get("channel")
        channel_defaults = slack_ui.submitted_channel_defaults(values)
        if surface.saved and channel and channel_defaults is not None:  # the form had the channel's part
            here = slack_member(team, channel, user, None)
            told_there = _SettingsModal(self, client, here, ack=ack, saved=True)  # the modal is closed
            manages = await is_admin(client, user)
            await settings.change(
                self.core, told_there, here, channel=lambda _: channel_defaults, manages_channel=manages
            )

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


class _SettingsModal:
    """/settings's surface on Slack: a modal to open, its submit answered by errors under a field or
    by closing it, and the App Home redrawn with the new defaults."""

    def __init__(
        self,
        pages: MemberPages,
        client: AsyncWebClient,
        member: Requester,
        *,
        trigger_id: str = "",
        ack: Any = None,
        saved: bool = False,
    ) -> None:
        self._pages, self._client, self._member = pages, client, member
        self._trigger_id, self._ack = trigger_id, ack
        self.saved = saved

    async def tell(self, text: str) -> None:
        if self._ack is not None and not self.saved:  # a submit not yet answered: under the form
            await self._ack(response_action="errors", errors={"style": text[:150]})
            return
        try:
            await self._client.chat_postEphemeral(
                channel=self._member.channel, user=self._member.user, text=text
            )
        except SlackApiError as exc:
            log.info("slack: could not tell %s about their settings: %s", self._member.user, exc.response)

    async def show_settings(self, member: MemberDefaults, channel: ChannelDefaults | None) -> None:
        config, backend = self._pages.settings.config, self._pages.settings.backend
        view = slack_ui.settings_modal(
            member,
            config,
            backend,
            channel=self._member.channel if channel is not None else None,
            channel_defaults=channel,
        )
        try:
            await self._client.views_open(trigger_id=self._trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("slack: could not open the settings: %s", exc.response.get("error"))

    async def show_saved(self, member: MemberDefaults | None, channel: ChannelDefaults | None) -> None:
        if not self.saved:
            self.saved = True
            await self._ack()  # closes the modal
        if member is not None:  # the App Home shows them at once
            event = {"user": self._member.user, "tab": "home"}
            await self._pages.home(event, {"team_id": self._member.workspace}, self._client)


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
