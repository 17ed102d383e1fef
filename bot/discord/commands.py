"""The slash commands: /imagine and /blend with options and choices taken from the config, /describe,
/gallery, /queue, /settings, and each member command (bot/interactions/commands.py).

No `from __future__ import annotations` here: discord.py reads the option ranges from the annotations,
which refer to values from the config.
"""

import inspect

import discord
from discord import app_commands

from bot.discord.frontend import DiscordFrontend
from bot.discord.steering import Steering, unoffered
from bot.discord.ui import ASPECT_CHOICES
from bot.interactions.commands import COMMANDS, MemberCommand
from shared.configuration.settings import Settings
from shared.drawing.choices import offered_loras, offered_models
from shared.drawing.references import CONTROL_KINDS
from shared.drawing.request import MAX_SEED, RequestOptions, typed_options

DISCORD_STRING_MAX = 6000
AUTOCOMPLETE_MAX = 25


def _nsfw(interaction: discord.Interaction) -> bool:
    channel = interaction.channel
    parent = getattr(channel, "parent", None)  # a thread is as NSFW as its channel
    return bool(getattr(parent or channel, "nsfw", False))


def add_commands(tree: app_commands.CommandTree, frontend: DiscordFrontend, settings: Settings) -> None:
    config = settings.config
    prompt_max = min(DISCORD_STRING_MAX, config.limits.prompt_max_chars)
    negative_max = max(1, min(DISCORD_STRING_MAX, config.limits.negative_max_chars))

    # discord.py reads a slash command's options from its callback's signature, so each option the
    # command offers is a parameter here; its description comes from the option's declaration.
    async def imagine_callback(
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, prompt_max],
        aspect: str | None = None,
        count: app_commands.Range[int, 1, config.limits.max_count] | None = None,
        style: str | None = None,
        negative: app_commands.Range[str, 1, negative_max] | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
        enhance: bool | None = None,
        model: str | None = None,
        lora: str | None = None,
        strength: app_commands.Range[float, 0.01, 1.0] | None = None,
        image: discord.Attachment | None = None,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        sref: discord.Attachment | None = None,
        cref: discord.Attachment | None = None,
        sw: app_commands.Range[int, 0, 100] | None = None,
        control: discord.Attachment | None = None,
        control_kind: str | None = None,
        control_weight: app_commands.Range[float, 0.0, 2.0] | None = None,
        face_fix: bool | None = None,
        hires: bool | None = None,
    ) -> None:
        given = locals()  # the parameters are the options: pass each to RequestOptions by its name
        typed = {name: given[name] for name in offered if name in typed_options() or name == "prompt"}
        images = (image, image2, image3, image4, image5)
        steering = Steering(style=sref, character=cref, control=control, control_kind=control_kind)
        await frontend.imagine(interaction, RequestOptions(**typed), images=images, steering=steering)

    # Options the backend cannot honour are not registered: discord.py reads the options from the
    # callback's signature, which `__signature__` narrows (the left-out parameters keep their None).
    left_out = unoffered(config, settings.backend)
    signature = inspect.signature(imagine_callback)
    kept = [p for p in signature.parameters.values() if p.name not in left_out]
    imagine_callback.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    offered = tuple(p.name for p in kept)
    described = {name: typed.help for name, typed in typed_options().items() if name in offered}
    steering_help = {
        "sref": "A picture whose style to draw in (sw weighs it)",
        "cref": "A picture of the character to draw again (sw weighs it)",
        "control": "A picture whose outlines, depth or pose to follow (control_kind says which)",
        "control_kind": "What of the control picture to follow (default: canny, its outlines)",
    }
    choices = {"aspect": [app_commands.Choice(name=a, value=a) for a in ASPECT_CHOICES]}
    if "control_kind" in offered:
        choices["control_kind"] = [app_commands.Choice(name=k, value=k) for k in CONTROL_KINDS]
    imagine = app_commands.command(name="imagine", description="Generate images from a prompt")(
        app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(
            app_commands.choices(**choices)(
                app_commands.describe(
                    prompt="What to draw",
                    image="A picture of yours to start from",
                    **{f"image{n}": "Another picture (several are blended)" for n in range(2, 6)},
                    **{name: text for name, text in steering_help.items() if name in offered},
                    **described,
                )(imagine_callback)
            )
        )
    )

    @imagine.autocomplete("style")
    async def complete_style(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        names = [name for name in sorted(config.presets) if typed in name.lower()]
        return [app_commands.Choice(name=name, value=name) for name in names[:AUTOCOMPLETE_MAX]]

    @imagine.autocomplete("model")
    async def complete_model(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The default backend's models, those marked NSFW only in NSFW channels, with descriptions."""
        typed = current.strip().lower()
        shown = [
            (name, label)
            for name, label in offered_models(config, settings.backend, nsfw=_nsfw(interaction))
            if typed in name.lower()
        ]
        return [app_commands.Choice(name=label, value=name) for name, label in shown[:AUTOCOMPLETE_MAX]]

    @imagine.autocomplete("lora")
    async def complete_lora(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """LoRAs for the last of the comma-separated names being typed (`pixel:0.8, ink`)."""
        done, _, typing = current.rpartition(",")
        prefix = f"{done}, " if done else ""
        chosen = {part.split(":")[0].strip() for part in done.split(",")}
        typed = typing.strip().lower()
        shown = sorted(
            (
                (name, label)
                for name, label in offered_loras(config, nsfw=_nsfw(interaction))
                if typed in name.lower() and name not in chosen
            ),
            key=lambda item: not item[0].lower().startswith(typed),  # names starting so come first
        )
        return [
            app_commands.Choice(name=f"{prefix}{label}"[:100], value=f"{prefix}{name}"[:100])
            for name, label in shown[:AUTOCOMPLETE_MAX]
        ]

    @app_commands.command(name="queue", description="Your jobs waiting or being drawn, to cancel")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def queue(interaction: discord.Interaction) -> None:
        await frontend.queue(interaction)

    @app_commands.command(name="settings", description="Your defaults for /imagine (and this channel's)")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def settings_command(interaction: discord.Interaction) -> None:
        await frontend.show_settings(interaction)

    @app_commands.command(name="gallery", description="Your last images, a page at a time")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def gallery(interaction: discord.Interaction) -> None:
        await frontend.gallery(interaction)

    @app_commands.command(name="blend", description="Blend 2 to 5 of your pictures into one image")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(
        image1="First picture",
        image2="Second picture",
        image3="Third picture",
        image4="Fourth picture",
        image5="Fifth picture",
        prompt="How to combine them (optional)",
        strength=typed_options()["strength"].help,
    )
    @app_commands.choices(aspect=[app_commands.Choice(name=a, value=a) for a in ASPECT_CHOICES])
    async def blend(
        interaction: discord.Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        prompt: app_commands.Range[str, 1, prompt_max] | None = None,
        aspect: str | None = None,
        strength: app_commands.Range[float, 0.01, 1.0] | None = None,
    ) -> None:
        options = RequestOptions(prompt=prompt or "", aspect=aspect, strength=strength)
        await frontend.blend(interaction, options, (image1, image2, image3, image4, image5))

    @app_commands.command(name="describe", description="Four prompts for a picture, to imagine from")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(image="The picture to describe")
    async def describe(interaction: discord.Interaction, image: discord.Attachment) -> None:
        await frontend.describe(interaction, image)

    @app_commands.context_menu(name="Describe image")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def describe_message(interaction: discord.Interaction, message: discord.Message) -> None:
        await frontend.describe_message(interaction, message)

    tree.add_command(imagine)
    tree.add_command(blend)
    tree.add_command(describe)
    tree.add_command(describe_message)
    tree.add_command(gallery)
    tree.add_command(queue)
    tree.add_command(settings_command)
    for command in COMMANDS.values():
        tree.add_command(_member_command(command, frontend))


def _member_command(command: MemberCommand, frontend: DiscordFrontend) -> app_commands.Command:
    """A member command (bot/interactions/commands.py) as a slash command of its name."""

    async def callback(interaction: discord.Interaction) -> None:
        await frontend.member_command(interaction, command)

    slash = app_commands.Command(name=command.name, description=command.description, callback=callback)
    return app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(slash)
