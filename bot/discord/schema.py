"""The one check between a command interaction's payload and our handlers, on both paths (gateway and
HTTP): its `data` is read against the commands this process registered, so a new command is checked
by being registered.

discord.py trusts Discord's data: an option of another JSON type, options that are no list, a missing
`resolved` entry or a context menu without its target fail deep inside the library (or in a handler)
and the member sees "interaction failed". Here each such request gets the one reason, in words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import discord
from discord import AppCommandOptionType, app_commands

from shared import messages

log = logging.getLogger(__name__)

AUTOCOMPLETE = 4
MAX_OPTIONS = 25  # Discord's own limit for a command's options
SNOWFLAKE_OPTIONS = {6, 7, 8, 9, 11}  # user, channel, role, mentionable, attachment: an id, resolved
RESOLVED_AS = {6: "users", 7: "channels", 8: "roles", 11: "attachments"}
# What discord.py reads without a default when it builds an Attachment or a Message.
ATTACHMENT_FIELDS = {"id": (str, int), "filename": str, "size": int, "url": str, "proxy_url": str}
MESSAGE_FIELDS = {"id": (str, int), "channel_id": (str, int), "content": str, "type": int, "author": dict}
TARGET_KIND = {2: "users", 3: "messages"}  # a context menu's type -> where its target is resolved


@dataclass(frozen=True)
class Option:
    name: str
    type: int
    required: bool


class CommandSchema:
    """The options each registered slash command declares, and the context menus by type."""

    def __init__(self, tree: app_commands.CommandTree) -> None:
        self._commands: dict[str, dict[str, Option]] = {}
        self._menus: set[tuple[str, int]] = set()
        for command in tree.get_commands():
            if isinstance(command, app_commands.Command):
                self._commands[command.name] = {
                    p.name: Option(p.name, p.type.value, p.required) for p in command.parameters
                }
            elif isinstance(command, app_commands.ContextMenu):
                self._menus.add((command.name, command.type.value))

    def fault(self, data: dict[str, Any], *, autocomplete: bool = False) -> str | None:
        """What is wrong with a command's `data`, in words for the member; None when it can be read.
        A command this version does not have is not a fault here: discord.py answers it as stale."""
        kind = data.get("type", 1)
        if type(kind) is not int:
            return "its command type is not a number"
        problem = _resolved_fault(data.get("resolved"))
        if problem is not None:
            return problem
        name = data.get("name")
        if kind in TARGET_KIND:
            return _target_fault(data, TARGET_KIND[kind]) if (name, kind) in self._menus else None
        declared = self._commands.get(name) if isinstance(name, str) else None
        if declared is None:
            return None
        return _options_fault(data, declared, autocomplete=autocomplete)


def _options_fault(data: dict[str, Any], declared: dict[str, Option], *, autocomplete: bool) -> str | None:
    options = data.get("options", [])
    if not isinstance(options, list):
        return "its options are not a list"
    if len(options) > MAX_OPTIONS:
        return f"it has {len(options):,} options (a command has at most {MAX_OPTIONS})"
    seen: set[str] = set()
    for option in options:
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            return "one of its options has no name"
        name = option["name"]
        if name in seen:
            return f"the option “{name[:40]}” is given twice"
        seen.add(name)
        rule = declared.get(name)
        if rule is None:
            return f"it has an option “{name[:40]}” that /{data['name']} does not take"
        if option.get("type") != rule.type:
            return f"the option “{name}” is not of the type /{data['name']} declares"
        if autocomplete and option.get("focused"):
            if not isinstance(option.get("value"), str):
                return f"the option “{name}” being typed is not text"
            continue
        problem = _value_fault(rule, option.get("value"), data.get("resolved"))
        if problem is not None:
            return problem
    if autocomplete:
        return (
            None if any(isinstance(o, dict) and o.get("focused") for o in options) else "no option is typed"
        )
    missing = [rule.name for rule in declared.values() if rule.required and rule.name not in seen]
    if missing:
        return f"it has no {', '.join(f'“{name}”' for name in missing)}, which /{data['name']} needs"
    return None


def _value_fault(rule: Option, value: object, resolved: object) -> str | None:
    wanted = AppCommandOptionType(rule.type)
    if rule.type == AppCommandOptionType.string.value and not isinstance(value, str):
        return f"the option “{rule.name}” must be text"
    if rule.type == AppCommandOptionType.integer.value and type(value) is not int:
        return f"the option “{rule.name}” must be a whole number"
    if rule.type == AppCommandOptionType.number.value and type(value) not in (int, float):
        return f"the option “{rule.name}” must be a number"
    if rule.type == AppCommandOptionType.boolean.value and type(value) is not bool:
        return f"the option “{rule.name}” must be true or false"
    if rule.type in SNOWFLAKE_OPTIONS:
        if not _is_snowflake(value):
            return f"the option “{rule.name}” is not an id"
        where = RESOLVED_AS.get(rule.type)
        if where is not None:
            entry = _resolved(resolved, where).get(str(value))
            if not isinstance(entry, dict):
                return f"the {wanted.name} of the option “{rule.name}” is not in the request"
    return None


def _target_fault(data: dict[str, Any], where: str) -> str | None:
    target = data.get("target_id")
    if not _is_snowflake(target):
        return "it names no target"
    entry = _resolved(data.get("resolved"), where).get(str(target))
    if not isinstance(entry, dict):
        return "its target is not in the request"
    return None


def _resolved(resolved: object, where: str) -> dict[str, Any]:
    """`resolved[where]` where both are objects, else empty (the caller names what is missing)."""
    part = resolved.get(where) if isinstance(resolved, dict) else None
    return part if isinstance(part, dict) else {}


def _has_fields(entry: dict[str, Any], fields: dict[str, type | tuple[type, ...]]) -> bool:
    return all(
        isinstance(entry.get(key), kind) and type(entry.get(key)) is not bool for key, kind in fields.items()
    )


def _is_snowflake(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()


def _resolved_fault(resolved: object) -> str | None:
    """discord.py builds every entry of `resolved` (not only those the options name), so each must be
    an object of objects with the fields it reads."""
    if resolved is None:
        return None
    if not isinstance(resolved, dict):
        return "its resolved data is not an object"
    for where, part in resolved.items():
        if not isinstance(part, dict) or not all(isinstance(entry, dict) for entry in part.values()):
            return f"its resolved {where} are not of the shape Discord sends"
    checks = {"attachments": ATTACHMENT_FIELDS, "messages": MESSAGE_FIELDS}
    for where, fields in checks.items():
        if not all(_has_fields(entry, fields) for entry in resolved.get(where, {}).values()):
            return f"one of its resolved {where} is incomplete"
    if not all(isinstance(entry.get("type"), int) for entry in resolved.get("channels", {}).values()):
        return "one of its resolved channels is incomplete"
    return None


class CheckedTree(app_commands.CommandTree):
    """discord.py's command tree, which reads every command interaction against `CommandSchema` first
    and answers one it cannot read itself (privately, with the reason), whichever path it came by."""

    @cached_property
    def schema(self) -> CommandSchema:
        return CommandSchema(self)  # built on first use: every command is registered by then

    def fault_of(self, payload: dict[str, Any]) -> str | None:
        """What is wrong with a raw command or autocomplete interaction (already checked by
        `bot.discord.raw.parse_interaction`), or None."""
        return self.schema.fault(payload["data"], autocomplete=payload["type"] == AUTOCOMPLETE)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        autocomplete = interaction.type is discord.InteractionType.autocomplete
        fault = self.schema.fault(interaction.data or {}, autocomplete=autocomplete)  # type: ignore[arg-type]
        if fault is None:
            return True
        log.warning("discord: interaction %s cannot be read: %s", interaction.id, fault)
        if autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(messages.unreadable_request(fault), ephemeral=True)
        return False
