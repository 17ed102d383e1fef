"""Discord's events in: a command, a button, a modal or a thread reply, each turned into the member
interaction it is (bot/interactions/) or the core's intake, with its surface (bot/discord/surface.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import discord

from bot import followups
from bot.core import ImagineCore
from bot.discord import settings as discord_settings
from bot.discord import ui as discord_ui
from bot.discord.raw import RawCommand
from bot.discord.steering import Steering
from bot.discord.surface import (
    DM_WORKSPACE,
    NO_MENTIONS,
    PLATFORM,
    InteractionPort,
    ReplyPort,
)
from bot.interactions import blend as blending
from bot.interactions import describe as describing_flow
from bot.interactions import pressing, region, replying
from bot.interactions.commands import MemberCommand
from bot.interactions.gallery import gallery_page
from bot.interactions.queue import member_queue
from bot.interactions.refining import submit_refinement
from bot.interactions.surface import InThread
from shared import messages
from shared.configuration.settings import DEFAULT_DISCORD_API_BASE
from shared.drawing.request import ImageRequest, RequestOptions
from shared.drawing.requester import Requester
from shared.drawing.sources import SourceImage
from shared.imaging import member_images
from shared.members.threads import ThreadOrigin

log = logging.getLogger(__name__)
THREAD_TYPES = {discord.ChannelType.public_thread, discord.ChannelType.private_thread}
FILE_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")  # members' attachments, and nothing else


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
        steering: Steering | None = None,
    ) -> None:
        """/imagine, from words and, optionally, the member's pictures (several: a blend), style and
        character references and a control picture."""
        steering = steering or Steering()
        pictures = [picture for picture in images if picture is not None]
        problem = self._attachment_problem([*pictures, *steering.pictures]) or steering.problem()
        if problem is not None:
            await self._tell(interaction, problem)
            return
        # the worker fetches every picture from Discord's file host and checks the bytes
        if pictures:
            options = dataclasses.replace(options, sources=tuple(self._source(p) for p in pictures))
        await self._imagine(interaction, steering.applied(options, self._source))

    async def blend(
        self,
        interaction: discord.Interaction,
        options: RequestOptions,
        images: Sequence[discord.Attachment | None],
    ) -> None:
        """/blend: 2 to 5 pictures into one image, the words (optional) saying how."""
        pictures = [picture for picture in images if picture is not None]
        problem = blending.problem(len(pictures))
        if problem is not None:
            await self._tell(interaction, problem)
            return
        prompt = blending.prompt(options.prompt)
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

    async def region_from_modal(
        self, interaction: discord.Interaction, job_id: str, index: int, chosen: list[str], text: str
    ) -> None:
        """🖌️ Vary (Region)'s form: the chosen ninths of image `index`, drawn anew as `text` says."""
        thread = str(interaction.channel_id)
        member = self._requester(interaction, channel=thread).model_copy(update={"thread": thread})
        edit = region.RegionEdit(job_id, index, text, ninths=region.ninths_chosen(chosen))
        port = InteractionPort(interaction, thread=thread)
        await region.submit(self.core, port, InThread(member, thread), edit, event_id=str(interaction.id))

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

    # --- member commands, /queue, /settings, /gallery ------------------------------------------------------

    async def member_command(self, interaction: discord.Interaction, command: MemberCommand) -> None:
        member = self._requester(interaction, channel=str(interaction.channel_id))
        await self._tell(interaction, await command.answer(self.core, member))

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
        await discord_settings.show(self.core, self._here(interaction), interaction)

    async def change_setting(self, interaction: discord.Interaction, custom_id: str, data: dict) -> None:
        await discord_settings.change(self.core, self._here(interaction), interaction, custom_id, data)

    async def gallery(
        self, interaction: discord.Interaction, number: int = 0, *, turn_page: bool = False
    ) -> None:
        """/gallery (bot/interactions/gallery.py), private; ◀ ▶ turn the page in place."""
        # Deferred first: files cannot travel in an HTTP interaction's answer, and a page of
        # thumbnails takes a moment; the page is then the original response (or the pressed message).
        await interaction.response.defer(ephemeral=True, thinking=not turn_page)
        member = self._requester(interaction, channel=str(interaction.channel_id))
        page = await gallery_page(self.core, member, number)
        content, files, view = discord_ui.gallery_message(page)
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
    async def _tell(interaction: discord.Interaction, text: str) -> None:
        """A private answer to the member, whether or not the interaction was acknowledged yet."""
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


_USER_MESSAGE_TYPES = {discord.MessageType.default, discord.MessageType.reply}


def _workspace(interaction: discord.Interaction) -> str:
    return str(interaction.guild_id) if interaction.guild_id is not None else DM_WORKSPACE


def _is_nsfw(channel: object) -> bool:
    """Age-restricted: a channel's own flag; a thread's comes from its parent (recorded in its origin)."""
    return bool(getattr(channel, "nsfw", False))


def _role_ids(user: discord.abc.User) -> tuple[str, ...]:
    """Role ids for quota overrides. discord.py keeps the raw ids even when the guild is not cached
    (HTTP interactions have no cache), where `Member.roles` would come back empty."""
    return tuple(str(role) for role in getattr(user, "_roles", ()))
