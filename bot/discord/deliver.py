"""Posting result events into Discord threads (and the bot's DMs) through the REST API of the
frontend's own client. The interaction token expires after 15 minutes while a job may wait longer, so
it is used only where the bot may not post on its own: a private channel (a user-installed app in
members' own DMs), and there the member's DM with the bot takes over once the token has run out.

discord.py does the HTTP: multipart uploads, per-route and global rate limits (429 + retry_after) and
retries of 5xx. This module decides what to post: images packed into the upload limits, the result
embed and its buttons, status edits and reactions on the member's reply.
"""

from __future__ import annotations

import asyncio
import io
import logging

import discord

from bot.discord import ui as discord_ui
from bot.discord.uploads import Upload, pack
from bot.followups import Press, result_buttons
from shared import messages
from shared.delivery.results import Failure, JobResult, StatusUpdate
from shared.drawing.backends import BACKENDS
from shared.drawing.chat_text import failure_icon
from shared.drawing.request import ImageRequest
from shared.errors import DeliveryImpossible
from shared.jobs.queue import job_id_for

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()
EMBED_DESCRIPTION_MAX, EMBED_FIELD_MAX = 4096, 1024


class DiscordPoster:
    """Posts results, status edits and reactions, addressed by the ids the job carries."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client  # logged in: its REST session and rate-limit state are shared

    async def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
        text = update.short_text
        preview = [discord.File(io.BytesIO(update.preview), "preview.png")] if update.preview else []
        await self._quietly(self._edit_status(request, discord_ui.status_line(request, text), preview))

    async def result(self, request: ImageRequest, result: JobResult) -> None:
        await self._post_result(request, result)

    async def failure(self, job_id: str, request: ImageRequest, failure: Failure) -> None:
        await self._post_failure(request, failure.text, failure_icon(failure.kind))

    # --- steps -----------------------------------------------------------------------------------

    async def _post_result(self, request: ImageRequest, result: JobResult) -> None:
        reply = request.requester.reply
        limit = int(reply.get("upload_limit") or discord_ui.DEFAULT_UPLOAD_LIMIT)
        packing = pack(result.images, limit_bytes=limit, max_files=discord_ui.MAX_FILES_PER_MESSAGE)
        notes = list(result.notes)
        if packing.recompressed:
            notes.append(messages.images_recompressed(packing.recompressed))
        if packing.dropped:
            notes.append(messages.images_dropped(packing.dropped, limit))
        where = reply.get("where")
        if where in ("dm", "private"):
            notes.append(messages.refine_in_dm() if where == "dm" else messages.refine_in_private_channel())
        batches = packing.messages or [[]]
        try:
            for number, batch in enumerate(batches, 1):
                last = number == len(batches)
                message = {
                    "content": "\n".join(notes)[: discord_ui.MESSAGE_MAX] if last and notes else None,
                    "files": [_file(upload) for upload in batch],
                    "embed": _result_embed(request, result) if last else discord.utils.MISSING,
                    "view": _stopped(_result_buttons(request, result)) if last else discord.utils.MISSING,
                    "allowed_mentions": NO_MENTIONS,
                }
                await self._send(request, _nonce(result.job_id, number), message)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise DeliveryImpossible(f"Discord refused the post ({exc.status} {exc.code})") from None
        done = messages.done(len(result.images), result.seconds)
        await self._quietly(self._edit_status(request, discord_ui.status_line(request, done, "✅"), []))
        await self._quietly(self._react(request, "✅"))

    async def _send(self, request: ImageRequest, nonce: str, message: dict) -> None:
        """One message of an answer: into the thread or DM; in a private channel through the
        interaction's follow-ups, or, once its token has run out, into the member's DM."""
        reply = request.requester.reply
        if reply.get("where") != "private":
            thread = self._client.get_partial_messageable(int(_thread_id(request)))
            await thread.send(nonce=nonce, **message)  # a re-post after a crash returns the first one
            return
        webhook = await self._token_webhook(request)
        try:
            if webhook is not None:
                await webhook.send(wait=True, **message)
                return
        except discord.NotFound:
            pass
        log.info("discord: an interaction token ran out before its answer; sending it by DM")
        for file in message["files"]:
            file.reset()
        dm = await self._client.create_dm(discord.Object(int(request.requester.user)))
        late = messages.answer_by_dm()
        content = "\n".join(filter(None, [late, message["content"]]))[: discord_ui.MESSAGE_MAX]
        await dm.send(nonce=nonce, **{**message, "content": content})

    async def _token_webhook(self, request: ImageRequest) -> discord.Webhook | None:
        """The interaction's webhook, while its token lives (kept by the frontends, not in the job)."""
        core = self._client.frontend.core  # type: ignore[attr-defined]
        secrets = await asyncio.to_thread(core.reply_secrets, job_id_for(request))
        if "token" not in secrets:
            return None
        return discord.Webhook.partial(
            int(request.requester.reply["app"]), secrets["token"], client=self._client
        )

    async def _post_failure(self, request: ImageRequest, message: str, icon: str) -> None:
        try:
            await self._edit_status(request, discord_ui.status_line(request, message, icon), [])
        except (discord.NotFound, discord.Forbidden) as exc:
            raise DeliveryImpossible(f"Discord refused the edit ({exc.status} {exc.code})") from None
        await self._quietly(self._react(request, icon))

    async def _edit_status(self, request: ImageRequest, content: str, files: list[discord.File]) -> None:
        reply = request.requester.reply
        if "status_message" not in reply:
            return
        if "app" in reply:  # answered through the interaction: only its webhook may edit
            webhook = await self._token_webhook(request)
            if webhook is None:
                return  # its token ran out: the status stays as it was, the answer goes by DM
            await webhook.edit_message(
                int(reply["status_message"]), content=content, attachments=files, allowed_mentions=NO_MENTIONS
            )
            return
        channel = self._client.get_partial_messageable(int(reply["status_channel"]))
        message = channel.get_partial_message(int(reply["status_message"]))
        await message.edit(content=content, attachments=files, allowed_mentions=NO_MENTIONS)

    async def _react(self, request: ImageRequest, emoji: str) -> None:
        """Swap the ⏳ on the member's reply for the outcome."""
        reply = request.requester.reply
        if "reply_message" not in reply:
            return
        channel = self._client.get_partial_messageable(int(_thread_id(request)))
        message = channel.get_partial_message(int(reply["reply_message"]))
        await message.add_reaction(emoji)
        await message.remove_reaction("⏳", self._client.user)  # type: ignore[arg-type]

    async def _quietly(self, step) -> None:
        """A courtesy step (status edit, reaction) whose failure must not undo a delivered result."""
        try:
            await step
        except discord.HTTPException as exc:
            log.warning("discord: a courtesy update failed: %s %s", exc.status, exc.code)


def _nonce(job_id: str, part: int) -> str:
    """An idempotency key for one message of a job's answer: Discord's `enforce_nonce` returns the
    message already made with it (within minutes) instead of posting again. At most 25 characters."""
    return f"{job_id.removeprefix('img-')[:21]}-{part}"


def _thread_id(request: ImageRequest) -> str:
    return request.requester.thread or request.requester.channel


def _file(upload: Upload) -> discord.File:
    return discord.File(io.BytesIO(upload.data), filename=upload.filename)


def _result_embed(request: ImageRequest, result: JobResult) -> discord.Embed:
    prompt = result.idea or request.prompt
    embed = discord.Embed(
        description=discord_ui.shorten(discord_ui.escape(prompt), EMBED_DESCRIPTION_MAX),
        colour=discord.Colour.blurple(),
    )
    if result.revised_prompt:
        embed.add_field(
            name="Revised prompt",
            value=discord_ui.shorten(discord_ui.escape(result.revised_prompt), EMBED_FIELD_MAX),
            inline=False,
        )
    seeds = ", ".join(str(image.seed) for image in result.images if image.seed is not None)
    if seeds:
        embed.add_field(name="Seed" if len(result.images) == 1 else "Seeds", value=seeds)
    embed.add_field(name="Model", value=discord_ui.escape(result.model))
    embed.add_field(name="Time", value=f"{result.seconds:.1f} s")
    embed.set_footer(text=f"{request.kind} · {result.job_id}")
    return embed


def _result_buttons(request: ImageRequest, result: JobResult) -> discord.ui.View:
    """Every action of bot/followups.py, one row per per-image action, then the rest: persistent ids."""
    view = discord.ui.View(timeout=None)
    owner, can = request.requester.user, BACKENDS[request.backend].capabilities
    rows = result_buttons(
        result.job_id,
        len(result.images),
        owner,
        can=can,
        effects=discord_ui.PRESS_EFFECTS,
        size=(request.width, request.height),
    )
    for row, presses in enumerate(rows):
        for press in presses:
            view.add_item(_button(press, several=len(presses) > 1 and press.action.per_image, row=row))
    return view


def _button(press: Press, *, several: bool, row: int) -> discord.ui.Button:
    action = press.action
    label = f"{action.label[0]}{press.index + 1}" if several else action.label  # V1…V4, U1…U4
    style = discord.ButtonStyle.danger if action.effect == "delete" else discord.ButtonStyle.secondary
    return discord.ui.Button(
        label=label or None, emoji=action.emoji or None, custom_id=press.custom_id, row=row, style=style
    )


def _stopped(view: discord.ui.View) -> discord.ui.View:
    """The buttons are only rendered here: presses come back as DynamicItems (bot/discord/buttons.py),
    so a stopped view is not kept in memory to listen for them."""
    view.stop()
    return view
