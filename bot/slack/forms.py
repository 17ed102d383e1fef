"""Slack's modal submits that act in a thread: ✏️ Refine's words and 🖌️ Vary (Region)'s regions and
words. Each modal names its job, channel and thread in `private_metadata`; a refusal shows under the
form's field, and the answer comes into the thread."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.interactions import region
from bot.interactions.refining import submit_refinement
from bot.interactions.surface import InThread
from bot.slack.surface import SlackPort, origin_id, slack_member

if TYPE_CHECKING:
    from bot.slack.frontend import SlackFrontend


async def refine_submitted(
    frontend: SlackFrontend, ack, body: dict[str, Any], client: AsyncWebClient
) -> None:
    """The Refine form's text works exactly like a reply in the thread; bad flags show on the field."""
    view = body["view"]
    text = view["state"]["values"]["instruction"]["instruction"].get("value") or ""
    port, where, metadata = _in_thread(frontend, ack, body, client, "instruction")
    await submit_refinement(
        frontend.core, port, where, metadata["job"], text, event_id=f"view-{view['id']}", later=frontend.spawn
    )


async def region_submitted(
    frontend: SlackFrontend, ack, body: dict[str, Any], client: AsyncWebClient
) -> None:
    """The Vary (Region) form: the chosen ninths of the image, drawn anew as its words say."""
    view = body["view"]
    values = view["state"]["values"]
    chosen = [option["value"] for option in values["regions"]["regions"].get("selected_options") or []]
    words = values["instruction"]["instruction"].get("value") or ""
    port, where, metadata = _in_thread(frontend, ack, body, client, "regions")
    edit = region.RegionEdit(
        metadata["job"], int(metadata["index"]), words, ninths=region.ninths_chosen(chosen)
    )
    await region.submit(frontend.core, port, where, edit, event_id=f"view-{view['id']}", later=frontend.spawn)


def _in_thread(
    frontend: SlackFrontend, ack, body: dict[str, Any], client: AsyncWebClient, field: str
) -> tuple[SlackPort, InThread, dict[str, Any]]:
    """The form's member in the thread its metadata names, and the port that answers them."""
    metadata = json.loads(body["view"].get("private_metadata") or "{}")
    team, user = body["team"]["id"], body["user"]["id"]
    channel, thread_ts = metadata["channel"], metadata["thread"]
    member = slack_member(team, channel, user, None, thread=thread_ts)
    port = SlackPort(
        frontend.settings, client, member, thread_ts=thread_ts, tell_in=thread_ts, ack=ack, form_field=field
    )
    return port, InThread(member, origin_id(channel, thread_ts)), metadata
