"""The discord.py client: slash commands, persistent buttons, the refine modal and thread replies."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands

from bot.discord.buttons import DYNAMIC_ITEMS, ResultButton
from bot.discord.commands import add_commands
from bot.discord.deliver import DiscordPoster
from bot.discord.frontend import DiscordFrontend
from bot.discord.schema import CheckedTree
from bot.discord.servers import Servers
from bot.discord.showcase import star_added, star_removed
from bot.discord.surface import NO_MENTIONS, PLATFORM
from bot.followups import parse_press
from bot.interactions.ids import NEGATIVE_FORM, REFINE_FORM, REGION_FORM
from bot.results import RESULTS_SOCKET_TIMEOUT, ResultConsumer
from shared import messages
from shared.ops.redis_conn import connect_async

log = logging.getLogger(__name__)
RESULTS_GRACE_SECONDS = 30
# Interactions dispatched by custom id alone: buttons and modal submits.
STATELESS = {discord.InteractionType.component, discord.InteractionType.modal_submit}

# What the bot needs in a channel; the invite link printed at start-up asks for exactly these.
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    attach_files=True,
    embed_links=True,
    add_reactions=True,
    read_message_history=True,
)


class ImagineClient(discord.Client):
    """One client for both ways to run: over the gateway, or fed HTTP interactions without one."""

    def __init__(
        self, frontend: DiscordFrontend, *, gateway: bool, sync_commands: bool, guild_id: int | None
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # channels and threads in the cache (and no warning in HTTP mode)
        if gateway:  # thread replies arrive as messages, whose text needs the message-content intent
            intents.guild_messages = True
            intents.dm_messages = True  # replies in a DM with the bot refine there
            intents.guild_reactions = True  # ⭐ on results, for the showcase channel
            intents.message_content = True
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS)
        self.frontend = frontend
        self.tree = CheckedTree(self)
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        add_commands(self.tree, frontend, frontend.settings)
        self._sync_commands = sync_commands
        self._guild_id = guild_id
        self._results: ResultConsumer | None = None
        self._results_task: asyncio.Task[None] | None = None
        self.servers = Servers(frontend.core)
        self._sweep_task: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """After login, before any event: buttons become persistent, results start flowing out (this
        client posts them), and the commands are synced."""
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        redis = connect_async(self.frontend.settings.redis_url, socket_timeout=RESULTS_SOCKET_TIMEOUT)
        self._results = ResultConsumer(redis, PLATFORM, DiscordPoster(self), self.frontend.core)
        self._results_task = asyncio.create_task(self._results.run(), name="discord-results")
        self._sweep_task = asyncio.create_task(self.servers.sweep_forever(), name="discord-servers")
        if self._sync_commands:
            guild = discord.Object(id=self._guild_id) if self._guild_id else None
            if guild is not None:  # instant updates in one test guild; global commands can take an hour
                self.tree.copy_global_to(guild=guild)
            commands = await self.tree.sync(guild=guild)
            log.info(
                "synced %d commands %s", len(commands), f"to guild {self._guild_id}" if guild else "globally"
            )

    async def close(self) -> None:
        """Stop taking results (an entry being posted finishes first), then close the client."""
        if self._sweep_task is not None:
            self._sweep_task.cancel()
        if self._results is not None and self._results_task is not None:
            self._results.stop()
            try:
                await asyncio.wait_for(self._results_task, RESULTS_GRACE_SECONDS)
            except TimeoutError:
                log.warning("discord: stopped posting results mid-entry; another frontend takes it over")
        await super().close()

    def invite_link(self) -> str:
        assert self.application_id is not None
        return discord.utils.oauth_url(
            self.application_id, permissions=REQUIRED_PERMISSIONS, scopes=("bot", "applications.commands")
        )

    def can_read_replies(self) -> bool:
        """Whether the application has the message-content intent switched on in the developer portal."""
        flags = self.application_flags
        return flags.gateway_message_content or flags.gateway_message_content_limited

    async def on_ready(self) -> None:
        self.frontend.core.metrics.ready.set(1)  # the gateway is connected: `imagine health --process`

    async def on_disconnect(self) -> None:
        self.frontend.core.metrics.ready.set(0)

    async def on_resumed(self) -> None:
        self.frontend.core.metrics.ready.set(1)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.servers.joined(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.servers.removed(guild)

    async def on_message(self, message: discord.Message) -> None:
        await self.frontend.reply(message)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await star_added(self, self.frontend.core, payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await star_removed(self, self.frontend.core, payload)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The two forms' submits, by custom id (stateless, so any process, even a restarted one,
        takes them); a component press is a DynamicItem's (bot/discord/buttons.py). A button or form
        this version does not know (an old message, a forged id) is answered here, since no handler
        would answer it."""
        if interaction.type not in STATELESS or not interaction.data:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.modal_submit:
            refine = REFINE_FORM.read(custom_id)
            if refine is not None and "job" in refine:
                text = _text_input_value(interaction.data, "instruction")
                await self.frontend.refine_from_modal(interaction, refine["job"], text)
                return
            edit = REGION_FORM.read(custom_id)
            if edit is not None and "job" in edit:
                where = _component_values(interaction.data, "regions")
                text = _text_input_value(interaction.data, "instruction")
                await self.frontend.region_from_modal(
                    interaction, edit["job"], int(edit["index"]), where, text
                )
                return
            if NEGATIVE_FORM.read(custom_id) is not None:
                data = {"negative": _text_input_value(interaction.data, "negative")}
                await self.frontend.change_setting(interaction, custom_id, data)
                return
        elif _carries(interaction.message, custom_id):
            item = next((i for i in DYNAMIC_ITEMS if _fits(i, custom_id)), None)
            if item is not None and (item is not ResultButton or parse_press(custom_id) is not None):
                return  # its DynamicItem answers
        # discord.py runs a component's item only for a press of a component its message has
        log.info("discord: a press of an unknown component (%d characters of id)", len(custom_id))
        await interaction.response.send_message(messages.stale_button(), ephemeral=True)

    async def _on_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            log.warning("discord: %s (the synced commands and this version differ)", error)
            text = messages.stale_command()
        elif isinstance(error, app_commands.TransformerError):
            log.warning("discord: an option could not be read: %s", error)
            text = messages.unreadable_option()
        else:
            log.error("discord: command failed", exc_info=error)
            text = messages.internal_error()
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)


def _fits(item: type[discord.ui.DynamicItem], custom_id: str) -> bool:
    return item.__discord_ui_compiled_template__.fullmatch(custom_id) is not None


def _carries(message: discord.Message | None, custom_id: str) -> bool:
    """Whether `message` has the component `custom_id` (in an action row, as results have them)."""
    rows = message.components if message is not None else []
    return any(
        getattr(child, "custom_id", None) == custom_id
        for row in rows
        for child in getattr(row, "children", [])
    )


def _text_input_value(data: object, custom_id: str) -> str:
    """A text input's value in a modal submit, in the old (action rows) or new (labels) layout."""
    component = _modal_component(data, custom_id)
    return str(component.get("value", "")) if component else ""


def _component_values(data: object, custom_id: str) -> list[str]:
    """A select's chosen values in a modal submit (inside a label)."""
    component = _modal_component(data, custom_id)
    values = component.get("values") if component else None
    return [str(value) for value in values] if isinstance(values, list) else []


def _modal_component(data: object, custom_id: str) -> dict | None:
    stack = list(data.get("components", []) if isinstance(data, dict) else [])
    while stack:
        component = stack.pop()
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == custom_id:
            return component
        stack.extend(component.get("components", []))
        if isinstance(component.get("component"), dict):
            stack.append(component["component"])
    return None
