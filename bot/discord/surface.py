"""Discord's surface (bot/interactions/surface.py): how an interaction's answers look there — an
interaction's deferred response that becomes the status message (with its thread, or the member's DM
for private results), a reply's reaction and reply, the Refine modal. Every message goes out with
mentions disabled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord

from bot.discord import texts as discord_texts
from bot.discord import ui as discord_ui
from bot.interactions import region
from bot.interactions.edit_links import EditorLink
from bot.interactions.ids import REFINE_FORM, REGION_FORM
from bot.interactions.surface import Opened
from shared import messages
from shared.drawing.request import ImageRequest
from shared.members.threads import ThreadOrigin, Turn

log = logging.getLogger(__name__)
PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
DM_WORKSPACE = discord_ui.DM_WORKSPACE
AUTO_ARCHIVE_MINUTES = 1440
THREAD_PERMISSIONS = "Create Public Threads, Send Messages in Threads"
ORIGINAL_RETRIES = 5
DEFERRED_MESSAGE = 5  # the interaction response type of defer(thinking=True)


class InteractionPort:
    """The surface of a command, button or form: deferred, then the response becomes the status
    message (with a thread under it, for a new /imagine outside a thread)."""

    effects = discord_ui.PRESS_EFFECTS
    editor_elsewhere = True

    def __init__(
        self, interaction: discord.Interaction, *, thread: str | None, origin: ThreadOrigin | None = None
    ) -> None:
        self._interaction = interaction
        self._thread = thread  # None: open one under the status message
        self._origin = origin
        self._acknowledged = False

    async def tell(self, text: str) -> None:
        interaction = self._interaction
        if not self._acknowledged:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        try:  # the public "thinking…" makes way for a private answer
            await interaction.delete_original_response()
        except discord.HTTPException as error:
            log.warning("discord: could not remove a refused request's response: %s", error.status)
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def acknowledge(self, request: ImageRequest) -> None:
        await self._interaction.response.defer(thinking=True, ephemeral=request.private)
        self._acknowledged = True

    async def duplicate(self) -> None:
        """A redelivered interaction was answered by whoever took it first."""

    async def show_refine_form(self, job_id: str) -> None:
        await self._interaction.response.send_modal(RefineModal(job_id))

    async def show_region_editor(self, job_id: str, index: int, link: EditorLink | None) -> None:
        if link is None:
            await self._interaction.response.send_modal(RegionModal(job_id, index))
            return
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="Open the editor", emoji="🖌️", url=link.url))
        await self._interaction.response.send_message(
            link.text, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def show_details(self, turn: Turn) -> None:
        await self._interaction.response.send_message(
            embed=discord_ui.info_embed(turn), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def working(self) -> None:
        await self._interaction.response.defer(thinking=True)
        self._acknowledged = True

    async def show_suggestions(self, describe_id: str, prompts: list[str]) -> None:
        await self._interaction.edit_original_response(
            content=messages.describe_header(len(prompts)),
            embed=discord_ui.suggestions_embed(prompts),
            view=discord_ui.suggestion_buttons(describe_id, len(prompts)),
            allowed_mentions=NO_MENTIONS,
        )

    async def remove_result(self) -> None:
        interaction = self._interaction
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if interaction.message is not None:
                await interaction.message.delete()
            await interaction.followup.send(messages.deleted(), ephemeral=True)
        except discord.HTTPException as exc:
            await interaction.followup.send(
                messages.delete_failed(exc.text or str(exc.status)), ephemeral=True
            )

    async def open(self, request: ImageRequest, status: str) -> Opened | None:
        interaction = self._interaction
        try:
            message = await _edit_original(interaction, discord_ui.status_line(request, status))
        except discord.HTTPException as exc:
            log.warning("discord: could not post a status message: %s %s", exc.status, exc.code)
            return None
        if request.private and interaction.guild_id is not None:
            return await self._open_in_dm(request, message)
        reply = _answer_address(interaction, message)
        secrets = {"token": interaction.token} if reply.get("where") == "private" else {}
        if self._thread is not None:  # in a thread or a DM already: it becomes ours, unless it already is
            origin = (self._thread, self._origin) if self._origin is not None else None
            return Opened(_addressed(request, self._thread, reply), origin, secrets)
        try:
            thread = await message.create_thread(
                name=discord_ui.thread_name(request.prompt), auto_archive_duration=AUTO_ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            await edit_quietly(interaction, setup_problem(exc))
            return None
        origin = (str(thread.id), self._origin) if self._origin is not None else None
        return Opened(_addressed(request, str(thread.id), reply), origin, secrets)

    async def _open_in_dm(self, request: ImageRequest, status: discord.Message) -> Opened | None:
        """Private results: the status stays private here (through the interaction's token), the
        images and the conversation go to the member's DM with the bot."""
        interaction = self._interaction
        try:
            dm = await interaction.client.create_dm(interaction.user)
        except discord.HTTPException as exc:
            log.info("discord: could not open a DM for private results: %s %s", exc.status, exc.code)
            await edit_quietly(interaction, discord_texts.cannot_dm())
            return None
        assert interaction.application_id is not None
        conversation = str(dm.id)
        reply = {"status_message": str(status.id), "app": str(interaction.application_id), "where": "dm"}
        # The conversation (thread memory, replies) lives in the DM; the rules stay the server's,
        # for this job and for every reply and press in that DM that refines it.
        moved = request.requester.delivered_in(DM_WORKSPACE, conversation)
        addressed = _addressed(request.model_copy(update={"requester": moved}), conversation, reply)
        owner = ThreadOrigin(
            channel=conversation,
            owner=str(interaction.user.id),
            nsfw=moved.channel_nsfw,
            asked_in=moved.asked_in,
        )
        return Opened(addressed, (conversation, owner), {"token": interaction.token})


class AnsweredFirstPort(InteractionPort):
    """The intake port of an /imagine taken from its raw HTTP payload. Until the ack, the answer is
    kept in `answer` for the HTTP response (None after `duplicate`); discord.py's Interaction is built
    only when the steps after the ack need it."""

    def __init__(
        self,
        interaction: Callable[[], discord.Interaction],
        *,
        thread: str | None,
        origin: ThreadOrigin,
    ) -> None:
        self._make_interaction = interaction
        self._thread = thread
        self._origin = origin
        self._acknowledged = False
        self._built: discord.Interaction | None = None
        self.answer: dict[str, Any] | None = None

    @property
    def _interaction(self) -> discord.Interaction:  # type: ignore[override]
        if self._built is None:
            self._built = self._make_interaction()
        return self._built

    async def tell(self, text: str) -> None:
        if self._acknowledged:
            await super().tell(text)
        else:
            self.answer = discord_ui.ephemeral_response(text)

    async def acknowledge(self, request: ImageRequest) -> None:
        self.answer = {"type": DEFERRED_MESSAGE}
        if request.private:
            self.answer["data"] = {"flags": discord_ui.EPHEMERAL}
        self._acknowledged = True

    async def duplicate(self) -> None:
        """A redelivery: answered by whoever took it first (`answer` stays None)."""


class ReplyPort:
    """The intake port of a message in one of our threads: ⏳ on it, and a reply as the status."""

    def __init__(self, message: discord.Message, thread_id: str) -> None:
        self._message = message
        self._thread_id = thread_id

    async def tell(self, text: str) -> None:
        await answer_reply(self._message, "❌", text)

    async def acknowledge(self, request: ImageRequest) -> None:
        """A message needs no acknowledgement; ⏳ comes with the status."""

    async def duplicate(self) -> None:
        """The same message again: it was answered the first time."""

    async def open(self, request: ImageRequest, status: str) -> Opened | None:
        message = self._message
        try:
            await message.add_reaction("⏳")
            posted = await message.reply(
                discord_ui.status_line(request, status), allowed_mentions=NO_MENTIONS, mention_author=False
            )
        except discord.HTTPException as exc:
            log.warning("discord: could not answer a reply: %s %s", exc.status, exc.code)
            return None
        reply = {
            "status_channel": self._thread_id,
            "status_message": str(posted.id),
            "reply_message": str(message.id),
        }
        return Opened(_addressed(request, self._thread_id, reply))


class RefineModal(discord.ui.Modal):
    """✏️ Refine: one text field, the same as a reply. Its submit is handled statelessly (by custom id) in
    the client's interaction listener, so any frontend process, even after a restart, can take it."""

    instruction: discord.ui.TextInput = discord.ui.TextInput(
        label="What should change?",
        placeholder="make it night-time --ar 16:9",
        style=discord.TextStyle.paragraph,
        custom_id="instruction",
        max_length=1000,
    )

    def __init__(self, job_id: str) -> None:
        super().__init__(title="Refine the image", custom_id=REFINE_FORM.make(job_id), timeout=None)

    async def on_submit(self, interaction: discord.Interaction) -> None:  # handled by the listener
        self.stop()


class RegionModal(discord.ui.Modal):
    """🖌️ Vary (Region) without the page's editor: the parts of the picture (a 3×3 grid, several at
    once) and the words. Submitted statelessly, like RefineModal."""

    def __init__(self, job_id: str, index: int) -> None:
        super().__init__(title="Vary (Region)", custom_id=REGION_FORM.make(job_id, index), timeout=None)
        choices = [
            discord.SelectOption(label=label, value=name) for name, label in region.REGION_LABELS.items()
        ]
        where = discord.ui.Select(custom_id="regions", options=choices, min_values=1, max_values=len(choices))
        words = discord.ui.TextInput(
            custom_id="instruction",
            style=discord.TextStyle.paragraph,
            placeholder="a red umbrella",
            required=False,
            max_length=1000,
        )
        self.add_item(discord.ui.Label(text="Where to draw anew", component=where))
        self.add_item(discord.ui.Label(text="What goes there (else the prompt again)", component=words))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # handled by the listener
        self.stop()


async def _edit_original(interaction: discord.Interaction, content: str) -> discord.InteractionMessage:
    """Turn the deferred response into the status message. Over HTTP interactions the answer that
    creates it races this edit inside Discord, so an 'Unknown Message' is retried briefly."""
    for attempt in range(ORIGINAL_RETRIES):
        try:
            return await interaction.edit_original_response(content=content, allowed_mentions=NO_MENTIONS)
        except discord.NotFound:
            if attempt == ORIGINAL_RETRIES - 1:
                raise
            await asyncio.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def _answer_address(interaction: discord.Interaction, status: discord.Message) -> dict[str, str]:
    """Where the job's answer goes, for the poster. In a guild or the bot's DM: the channel, by REST.
    In a private channel (a user-installed app in someone else's DM) the bot may not post, so the
    answer goes through this interaction's token (15 minutes; kept apart from the job, see
    bot/core.py: Opened), then to the member's DM."""
    address = {"status_message": str(status.id)}
    if interaction.guild_id is not None:
        return {**address, "status_channel": str(status.channel.id)}
    if interaction.context.private_channel:
        assert interaction.application_id is not None
        return {**address, "where": "private", "app": str(interaction.application_id)}
    return {**address, "status_channel": str(status.channel.id), "where": "dm"}


def _addressed(request: ImageRequest, thread_id: str, reply: dict[str, str]) -> ImageRequest:
    """The request with the thread and the status message its answer goes to."""
    requester = request.requester.model_copy(
        update={"thread": thread_id or None, "reply": {**request.requester.reply, **reply}}
    )
    return request.model_copy(update={"requester": requester})


def setup_problem(exc: discord.HTTPException) -> str:
    if isinstance(exc, discord.Forbidden):
        return discord_texts.missing_permissions(THREAD_PERMISSIONS)
    return messages.platform_error(exc.status)


async def edit_quietly(interaction: discord.Interaction, text: str) -> None:
    try:
        await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning("discord: could not explain a failure: %s %s", exc.status, exc.code)


async def answer_reply(message: discord.Message, emoji: str, text: str) -> None:
    try:
        await message.add_reaction(emoji)
        await message.reply(text, allowed_mentions=NO_MENTIONS, mention_author=False)
    except discord.HTTPException as exc:
        log.warning("discord: could not answer a reply: %s %s", exc.status, exc.code)
