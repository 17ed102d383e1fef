"""What the Discord bot does with a command, a button, a modal or a thread reply.

Every path is the same: claim the event (a redelivery does nothing), validate, admit against the
quota (refusals stay ephemeral), acknowledge, post the public status message (and the thread), then
enqueue. Workers do the rest through the REST API. Every message goes out with mentions disabled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import discord

from bot import followups
from bot.core import ImagineCore, Opened
from bot.discord import settings as discord_settings
from bot.discord import texts as discord_texts
from bot.discord import ui as discord_ui
from bot.discord.raw import RawCommand
from bot.interactions import describe as describing_flow
from bot.interactions import pressing, replying
from bot.interactions.ids import GALLERY_PAGE, REFINE_FORM
from bot.interactions.queue import member_queue
from bot.interactions.refining import submit_refinement
from bot.interactions.surface import InThread
from shared import gallery, member_images, messages
from shared.durations import humanize_seconds
from shared.images import thumbnail
from shared.request import ImageRequest, Requester, RequestOptions, SourceImage
from shared.settings import DEFAULT_DISCORD_API_BASE
from shared.threads import ThreadOrigin, Turn

log = logging.getLogger(__name__)
PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
THREAD_TYPES = {discord.ChannelType.public_thread, discord.ChannelType.private_thread}
AUTO_ARCHIVE_MINUTES = 1440
THREAD_PERMISSIONS = "Create Public Threads, Send Messages in Threads"
ORIGINAL_RETRIES = 5
DEFERRED_MESSAGE = 5  # the interaction response type of defer(thinking=True)
GALLERY_PER_PAGE = 5
BLEND_PICTURES = (2, 5)
FILE_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")  # members' attachments, and nothing else
DM_WORKSPACE = "dm"  # whose quota DMs count against: [quota.workspaces."discord:dm"] sets its limits


class DiscordFrontend:
    """Platform glue around the ImagineCore; holds no state of its own beyond its collaborators."""

    def __init__(self, core: ImagineCore) -> None:
        self.core = core
        self.settings = core.settings

    # --- /imagine --------------------------------------------------------------------------------

    async def imagine(
        self,
        interaction: discord.Interaction,
        options: RequestOptions,
        *,
        images: Sequence[discord.Attachment | None] = (),
    ) -> None:
        """/imagine, from words and, optionally, the member's pictures (several: a blend)."""
        pictures = [picture for picture in images if picture is not None]
        problem = self._attachment_problem(pictures)
        if problem is not None:
            await self._tell(interaction, problem)
            return
        if pictures:  # the worker fetches them from Discord's file host and checks the bytes
            sources = tuple(self._source(picture) for picture in pictures)
            options = dataclasses.replace(options, sources=sources)
        await self._imagine(interaction, options)

    async def blend(
        self,
        interaction: discord.Interaction,
        options: RequestOptions,
        images: Sequence[discord.Attachment | None],
    ) -> None:
        """/blend: 2 to 5 pictures into one image, the words (optional) saying how."""
        pictures = [picture for picture in images if picture is not None]
        if not BLEND_PICTURES[0] <= len(pictures) <= BLEND_PICTURES[1]:
            await self._tell(interaction, messages.blend_needs_pictures(len(pictures), *BLEND_PICTURES))
            return
        prompt = options.prompt.strip() or messages.BLEND_PROMPT
        await self.imagine(interaction, dataclasses.replace(options, prompt=prompt), images=pictures)

    def _attachment_problem(self, pictures: Sequence[discord.Attachment]) -> str | None:
        """What Discord says of the files, checked at once; the worker checks the bytes themselves."""
        cap = self.settings.config.limits.source_image_bytes
        for picture in pictures:
            if not (picture.content_type or "").startswith("image/"):
                return messages.image_wrong_type()
            if picture.size > cap:
                return messages.image_too_big(cap)
        return None

    # --- /describe and its "Imagine this" buttons ------------------------------------------------

    async def describe(self, interaction: discord.Interaction, picture: discord.Attachment | None) -> None:
        """Four prompts for a picture (the command's attachment, or a message's first picture), each
        with a button that imagines it; the answer is public, like the images it leads to."""
        fetch = None
        if picture is not None and (picture.content_type or "").startswith("image/"):
            url, hosts = picture.url, self._file_hosts()
            fetch = lambda: asyncio.to_thread(member_images.fetch_from, self.settings, hosts, url)  # noqa: E731
        surface = InteractionPort(interaction, thread=None)
        await describing_flow.describe(self.core, surface, self._here(interaction), fetch)

    async def describe_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The "Describe image" message command: the message's first picture."""
        picture = next((a for a in message.attachments if (a.content_type or "").startswith("image/")), None)
        await self.describe(interaction, picture)

    async def imagine_suggestion(
        self, interaction: discord.Interaction, describe_id: str, index: int
    ) -> None:
        """ "Imagine this" under a /describe answer: a normal /imagine of that prompt, by whoever pressed."""
        member, surface = self._new_image_here(interaction)
        await describing_flow.imagine_suggestion(
            self.core, surface, member, describe_id, index, event_id=str(interaction.id)
        )

    async def _imagine(self, interaction: discord.Interaction, options: RequestOptions) -> None:
        member, port = self._new_image_here(interaction)
        build = lambda: self._check_new(member, options, str(interaction.id))  # noqa: E731
        await self.core.intake(port, build, claim=True)

    def _new_image_here(self, interaction: discord.Interaction) -> tuple[Requester, InteractionPort]:
        """The member and the surface of a new image asked here: its own thread under the status
        message, or, in a thread or a DM, that conversation."""
        channel = interaction.channel
        in_thread = channel is not None and channel.type in THREAD_TYPES
        in_dm = interaction.guild_id is None  # no threads there: the DM itself is the conversation
        parent = str(getattr(channel, "parent_id", None) or interaction.channel_id) if in_thread else None
        member = self._requester(interaction, channel=parent or str(interaction.channel_id))
        port = InteractionPort(
            interaction,
            thread=str(interaction.channel_id) if in_thread or in_dm else None,
            origin=ThreadOrigin(channel=member.channel, owner=member.user, nsfw=_is_nsfw(channel)),
        )
        return member, port

    async def imagine_answered_first(
        self,
        command: RawCommand,
        interaction_id: str,
        port: InteractionPort,
        *,
        later: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        """/imagine read from its raw HTTP payload, so the ack goes out before discord.py builds an
        Interaction (`AnsweredFirstPort`); the same intake as `imagine` otherwise, the steps after
        the ack handed to `later`."""
        requester = Requester(
            platform=PLATFORM,
            workspace=command.workspace,
            channel=command.parent or command.channel,
            user=command.user,
            user_name=command.user_name,
            roles=command.roles,
            channel_nsfw=command.channel_nsfw,
            reply={"upload_limit": str(command.upload_limit)},
            hides_images=True,
        )
        options = RequestOptions(**command.options)  # type: ignore[arg-type]
        build = lambda: self._check_new(requester, options, interaction_id)  # noqa: E731
        await self.core.intake(port, build, claim=True, later=later)

    async def _check_new(self, requester: Requester, options: RequestOptions, event_id: str) -> ImageRequest:
        """A new /imagine over the member's defaults, checked, admitted and moderated under the rules
        of the server and channel it was asked in, private results or not (`_open_in_dm` moves only
        the conversation)."""
        return await self.core.check_new(requester, options, event_id=event_id)

    # --- buttons and the refine modal ------------------------------------------------------------

    async def press(self, interaction: discord.Interaction, chosen: followups.Press) -> None:
        """A result button (or a Cancel of /queue): bot/interactions/pressing.py decides what it does."""
        thread = str(interaction.channel_id)
        member = self._requester(interaction, channel=thread).model_copy(update={"thread": thread})
        message, custom_id = interaction.message, (interaction.data or {}).get("custom_id")
        event = pressing.PressEvent(
            chosen,
            InThread(member, thread),
            event_id=str(interaction.id),
            button=f"{custom_id}-{message.id}" if message is not None and custom_id else None,
            may_manage_messages=interaction.permissions.manage_messages,
        )
        await pressing.press(self.core, InteractionPort(interaction, thread=thread), event)

    async def refine_from_modal(self, interaction: discord.Interaction, job_id: str, text: str) -> None:
        """The modal's text works exactly like a reply in the thread, flags included."""
        thread = str(interaction.channel_id)
        member = self._requester(interaction, channel=thread).model_copy(update={"thread": thread})
        port = InteractionPort(interaction, thread=thread)
        await submit_refinement(
            self.core, port, InThread(member, thread), job_id, text, event_id=str(interaction.id)
        )

    # --- thread replies (gateway) ----------------------------------------------------------------

    async def reply(self, message: discord.Message) -> None:
        """A member's message in one of our threads refines its last image (bot/interactions/
        replying.py); everything else is ignored."""
        in_dm = isinstance(message.channel, discord.DMChannel)
        if message.author.bot or message.type not in _USER_MESSAGE_TYPES:
            return
        if message.guild is None and not in_dm:
            return  # a group DM: the bot is not in it
        thread_id = str(message.channel.id)
        picture = next((a for a in message.attachments if (a.content_type or "").startswith("image/")), None)
        event = replying.ReplyEvent(
            InThread(self._message_requester(message), thread_id),
            message.content,
            event_id=f"message-{message.id}",
            sources=(self._source(picture),) if picture is not None else (),
            largest_source_bytes=picture.size if picture is not None else 0,
        )
        await replying.reply(self.core, ReplyPort(message, thread_id), event)

    # --- /quota, /queue, /settings, /gallery ------------------------------------------------------

    async def quota(self, interaction: discord.Interaction) -> None:
        report = self.core.usage(self._requester(interaction, channel=str(interaction.channel_id)))
        await self._tell(interaction, messages.quota_report(report))

    async def queue(self, interaction: discord.Interaction) -> None:
        """The member's jobs with a Cancel button each (private); members who may manage the server
        see each queue's totals too."""
        requester = self._requester(interaction, channel=str(interaction.channel_id))
        operator = bool(interaction.guild_id and interaction.permissions.manage_guild)
        view = await member_queue(self.core, requester, operator=operator)
        buttons = discord.ui.View(timeout=None)
        for label, custom_id in view.cancels:
            buttons.add_item(
                discord.ui.Button(label=label, custom_id=custom_id, style=discord.ButtonStyle.danger)
            )
        buttons.stop()  # presses come back as ResultButton (bot/discord/buttons.py), by custom id
        await interaction.response.send_message(
            view.text, view=buttons, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def show_settings(self, interaction: discord.Interaction) -> None:
        """The member's defaults as select menus (private); for members who may Manage Server, the
        channel's too, in a second private message."""
        requester = self._here(interaction)
        backend, config = self.settings.backend, self.settings.config
        member = await asyncio.to_thread(self.core.defaults.member, requester)
        await interaction.response.send_message(
            discord_settings.member_text(member),
            view=discord_settings.member_view(member, config, backend),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        if interaction.guild_id and interaction.permissions.manage_guild:
            channel = await asyncio.to_thread(self.core.defaults.channel, requester)
            await interaction.followup.send(
                discord_settings.channel_text(channel),
                view=discord_settings.channel_view(channel, config, backend),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

    async def change_setting(self, interaction: discord.Interaction, custom_id: str, data: dict) -> None:
        """One select, button or the negative-prompt form of /settings; the message shows the result."""
        requester = self._here(interaction)
        backend, config = self.settings.backend, self.settings.config
        values = [str(v) for v in data.get("values") or []]
        store = self.core.defaults
        if custom_id == discord_settings.NEGATIVE_MODAL:
            negative = data.get("negative", "").strip() or None
            member = await asyncio.to_thread(store.member, requester)
            await asyncio.to_thread(
                store.save_member, requester, member.model_copy(update={"negative": negative})
            )
            await self._tell(interaction, messages.settings_saved())
        elif custom_id == f"{discord_settings.MEMBER}negative":
            member = await asyncio.to_thread(store.member, requester)
            await interaction.response.send_modal(discord_settings.negative_modal(member.negative))
        elif custom_id.startswith(discord_settings.MEMBER):
            field = custom_id.removeprefix(discord_settings.MEMBER)
            member = await asyncio.to_thread(store.member, requester)
            await self._apply_setting(
                interaction,
                lambda: discord_settings.changed_member(member, field, values),
                lambda changed: store.save_member(requester, changed),
                lambda changed: (
                    discord_settings.member_text(changed),
                    discord_settings.member_view(changed, config, backend),
                ),
            )
        elif not (interaction.guild_id and interaction.permissions.manage_guild):
            await self._tell(interaction, messages.channel_settings_not_allowed())
        else:
            field = custom_id.removeprefix(discord_settings.CHANNEL)
            channel = await asyncio.to_thread(store.channel, requester)
            await self._apply_setting(
                interaction,
                lambda: discord_settings.changed_channel(channel, field, values, config),
                lambda changed: store.save_channel(requester, changed),
                lambda changed: (
                    discord_settings.channel_text(changed),
                    discord_settings.channel_view(changed, config, backend),
                ),
            )

    async def _apply_setting(
        self,
        interaction: discord.Interaction,
        change: Callable[[], Any],
        save: Callable[[Any], None],
        show: Callable[[Any], tuple[str, discord.ui.View]],
    ) -> None:
        """One settings change: made (a value not offered is answered as a stale control), saved,
        and the message redrawn with it."""
        try:
            changed = change()
        except ValueError:
            await self._tell(interaction, messages.stale_button())
            return
        await asyncio.to_thread(save, changed)
        content, view = show(changed)
        await interaction.response.edit_message(content=content, view=view)

    async def gallery(
        self, interaction: discord.Interaction, number: int = 0, *, turn_page: bool = False
    ) -> None:
        """/gallery: the member's last images, a page at a time (private), each with a thumbnail while
        the store keeps it and a link to its thread; ◀ ▶ turn the page in place."""
        # Deferred first: files cannot travel in an HTTP interaction's answer, and a page of
        # thumbnails takes a moment; the page is then the original response (or the pressed message).
        await interaction.response.defer(ephemeral=True, thinking=not turn_page)
        requester = self._requester(interaction, channel=str(interaction.channel_id))
        entries, total = await asyncio.to_thread(
            gallery.page, self.core.redis, requester.user_key, max(0, number), GALLERY_PER_PAGE
        )
        pages = max(1, -(-total // GALLERY_PER_PAGE))
        files, lines = [], [messages.gallery_header(number + 1, pages, total)]
        for n, entry in enumerate(entries, number * GALLERY_PER_PAGE + 1):
            data = (
                await asyncio.to_thread(self.core.images.get, entry.image_keys[0])
                if entry.image_keys
                else None
            )
            if data is not None:
                files.append(discord.File(io.BytesIO(thumbnail(data)), f"{n}.jpg"))
            link = _thread_link(entry.workspace, entry.thread) if entry.thread else ""
            lines.append(discord_ui.gallery_line(n, entry.prompt, entry.at, link, kept=data is not None))
        view = discord.ui.View(timeout=None)
        for label, target, enabled in (("◀", number - 1, number > 0), ("▶", number + 1, number + 1 < pages)):
            custom_id = GALLERY_PAGE.make(target if enabled else label)
            view.add_item(discord.ui.Button(label=label, custom_id=custom_id, disabled=not enabled))
        view.stop()
        content = "\n".join(lines)[: discord_ui.MESSAGE_MAX]
        await interaction.edit_original_response(
            content=content, attachments=files, view=view, allowed_mentions=NO_MENTIONS
        )

    def _here(self, interaction: discord.Interaction) -> Requester:
        """The member, in the channel whose defaults apply here (a thread's parent channel)."""
        channel = interaction.channel
        in_thread = channel is not None and channel.type in THREAD_TYPES
        parent = getattr(channel, "parent_id", None) if in_thread else None
        return self._requester(interaction, channel=str(parent or interaction.channel_id))

    # --- helpers ---------------------------------------------------------------------------------

    def _requester(self, interaction: discord.Interaction, *, channel: str) -> Requester:
        user = interaction.user
        channel_obj = interaction.channel
        return Requester(
            platform=PLATFORM,
            workspace=_workspace(interaction),
            channel=channel,
            user=str(user.id),
            user_name=user.display_name,
            roles=_role_ids(user),
            channel_nsfw=_is_nsfw(channel_obj),
            reply={"upload_limit": str(interaction.filesize_limit)},
            hides_images=True,  # a SPOILER_ file
        )

    def _message_requester(self, message: discord.Message) -> Requester:
        guild = message.guild
        upload_limit = guild.filesize_limit if guild is not None else discord_ui.DEFAULT_UPLOAD_LIMIT
        return Requester(
            platform=PLATFORM,
            workspace=str(guild.id) if guild is not None else DM_WORKSPACE,
            channel=str(message.channel.id),
            thread=str(message.channel.id),
            user=str(message.author.id),
            user_name=message.author.display_name,
            roles=_role_ids(message.author),
            reply={"upload_limit": str(upload_limit), **({"where": "dm"} if guild is None else {})},
            hides_images=True,
        )

    def _source(self, picture: discord.Attachment) -> SourceImage:
        """A member's attachment, which the worker fetches from Discord's file hosts alone."""
        return SourceImage(url=picture.url, hosts=tuple(sorted(self._file_hosts())))

    def _file_hosts(self) -> set[str]:
        api = self.settings.discord_api_base
        return member_images.with_api_host(FILE_HOSTS, api, DEFAULT_DISCORD_API_BASE)

    @staticmethod
    def _setup_problem(exc: discord.HTTPException) -> str:
        if isinstance(exc, discord.Forbidden):
            return discord_texts.missing_permissions(THREAD_PERMISSIONS)
        return messages.platform_error(exc.status)

    @staticmethod
    async def _tell(interaction: discord.Interaction, text: str) -> None:
        """A private answer to the member, whether or not the interaction was acknowledged yet."""
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @staticmethod
    async def _edit_quietly(interaction: discord.Interaction, text: str) -> None:
        try:
            await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("discord: could not explain a failure: %s %s", exc.status, exc.code)

    @staticmethod
    async def _answer_reply(message: discord.Message, emoji: str, text: str) -> None:
        try:
            await message.add_reaction(emoji)
            await message.reply(text, allowed_mentions=NO_MENTIONS, mention_author=False)
        except discord.HTTPException as exc:
            log.warning("discord: could not answer a reply: %s %s", exc.status, exc.code)


class InteractionPort:
    """The surface of a command, button or form: deferred, then the response becomes the status
    message (with a thread under it, for a new /imagine outside a thread)."""

    effects: frozenset[followups.PressEffect] = frozenset({"job", "form", "info", "delete", "cancel"})

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

    async def show_details(self, turn: Turn) -> None:
        await self._interaction.response.send_message(
            embed=_info_embed(turn), ephemeral=True, allowed_mentions=NO_MENTIONS
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
            await DiscordFrontend._edit_quietly(interaction, DiscordFrontend._setup_problem(exc))
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
            await DiscordFrontend._edit_quietly(interaction, discord_texts.cannot_dm())
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
        await DiscordFrontend._answer_reply(self._message, "❌", text)

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


_USER_MESSAGE_TYPES = {discord.MessageType.default, discord.MessageType.reply}


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


def _thread_link(workspace: str, thread: str) -> str:
    guild = workspace if workspace and workspace != DM_WORKSPACE else "@me"
    return f"https://discord.com/channels/{guild}/{thread}"


def _workspace(interaction: discord.Interaction) -> str:
    return str(interaction.guild_id) if interaction.guild_id is not None else DM_WORKSPACE


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


def _is_nsfw(channel: object) -> bool:
    """Age-restricted: a channel's own flag; a thread's comes from its parent (recorded in its origin)."""
    return bool(getattr(channel, "nsfw", False))


def _role_ids(user: discord.abc.User) -> tuple[str, ...]:
    """Role ids for quota overrides. discord.py keeps the raw ids even when the guild is not cached
    (HTTP interactions have no cache), where `Member.roles` would come back empty."""
    return tuple(str(role) for role in getattr(user, "_roles", ()))


def _addressed(request: ImageRequest, thread_id: str, reply: dict[str, str]) -> ImageRequest:
    """The request with the thread and the status message its answer goes to."""
    requester = request.requester.model_copy(
        update={"thread": thread_id or None, "reply": {**request.requester.reply, **reply}}
    )
    return request.model_copy(update={"requester": requester})


def _info_embed(turn: Turn) -> discord.Embed:
    embed = discord.Embed(
        title="ℹ️ Image info", description=discord_ui.shorten(discord_ui.escape(turn.prompt), 4096)
    )
    if turn.instruction:
        embed.add_field(
            name="Refinement",
            value=discord_ui.shorten(discord_ui.escape(turn.instruction), 1024),
            inline=False,
        )
    if turn.revised_prompt:
        embed.add_field(
            name="Revised prompt",
            value=discord_ui.shorten(discord_ui.escape(turn.revised_prompt), 1024),
            inline=False,
        )
    if turn.negative:
        embed.add_field(
            name="Negative", value=discord_ui.shorten(discord_ui.escape(turn.negative), 1024), inline=False
        )
    seeds = ", ".join(str(seed) for seed in turn.seeds if seed is not None) or "random"
    embed.add_field(name="Seed" if len(turn.seeds) <= 1 else "Seeds", value=seeds)
    embed.add_field(name="Model", value=discord_ui.escape(turn.model or turn.backend))
    embed.add_field(name="Size", value=f"{turn.width}×{turn.height}")
    if turn.style:
        embed.add_field(name="Style", value=discord_ui.escape(turn.style))
    if turn.seconds is not None:
        embed.add_field(
            name="Time",
            value=humanize_seconds(turn.seconds) if turn.seconds >= 60 else f"{turn.seconds:.1f} s",
        )
    embed.set_footer(text=f"{turn.kind} · {turn.job_id}")
    return embed
