"""A raw HTTP interaction checked before discord.py parses it.

discord.py trusts its input: a field Discord always sends, missing, fails deep inside the library and
leaves the interaction unanswered. So what every interaction carries is checked here, once, and a body
without it is answered 400 at once with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PING, APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
# What Discord sends with every interaction but PING (discord.py reads each without a default).
REQUIRED = ("id", "application_id", "token", "version", "attachment_size_limit")
# The key each kind's `data` is dispatched by.
DISPATCHED_BY = {
    APPLICATION_COMMAND: "name",
    AUTOCOMPLETE: "name",
    COMPONENT: "custom_id",
    MODAL_SUBMIT: "custom_id",
}


class MalformedInteraction(ValueError):
    """The body is not an interaction this bot can answer; `str()` says why (logged, and sent back)."""


def parse_interaction(body: bytes) -> dict[str, Any]:
    """The interaction in `body`, or MalformedInteraction naming what is wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python recurses
        raise MalformedInteraction("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedInteraction("the body is not a JSON object")
    kind = payload.get("type")
    if type(kind) is not int or kind not in (PING, *DISPATCHED_BY):
        raise MalformedInteraction(f"unknown interaction type {kind!r}")
    if kind == PING:
        return payload
    missing = [key for key in REQUIRED if key not in payload]
    if missing:
        raise MalformedInteraction(f"the interaction has no {', '.join(missing)}")
    if not _is_snowflake(payload["id"]):
        raise MalformedInteraction("the interaction id is not a snowflake")
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get(DISPATCHED_BY[kind]), str):
        raise MalformedInteraction(f"the interaction's data has no {DISPATCHED_BY[kind]}")
    if not _has_user(payload):
        where = "member" if payload.get("guild_id") is not None else "user"
        raise MalformedInteraction(f"the interaction has no {where}")
    if kind == COMPONENT:
        _check_component(data)
    elif kind == MODAL_SUBMIT:
        _check_modal(data)
    return payload


def _check_component(data: dict[str, Any]) -> None:
    """A press names its component's type; a select its values, a list of strings."""
    if type(data.get("component_type")) is not int:
        raise MalformedInteraction("the component has no type")
    values = data.get("values", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise MalformedInteraction("the select's values are not a list of strings")


def _check_modal(data: dict[str, Any]) -> None:
    """A form's components are rows (or labels) of objects, each text input's value a string."""
    stack = [data]
    while stack:
        holder = stack.pop()
        children = holder.get("components", [])
        inner = holder.get("component")
        if not isinstance(children, list) or (inner is not None and not isinstance(inner, dict)):
            raise MalformedInteraction("the form's components are not of the shape Discord sends")
        for child in [*children, *([inner] if inner is not None else [])]:
            if not isinstance(child, dict) or ("value" in child and not isinstance(child["value"], str)):
                raise MalformedInteraction("a field of the form is not of the shape Discord sends")
            stack.append(child)
        if len(stack) > 1000:
            raise MalformedInteraction("the form has too many components")


def _is_snowflake(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()


def _has_user(payload: dict[str, Any]) -> bool:
    """A guild interaction names its member (with the user inside), a DM its user."""
    holder = payload.get("member") if payload.get("guild_id") is not None else payload
    user = holder.get("user") if isinstance(holder, dict) else None
    return isinstance(user, dict) and _is_snowflake(user.get("id"))


# Option types as Discord sends them, and the Python type of their values.
OPTION_VALUE_TYPES: dict[int, type] = {3: str, 4: int, 5: bool}
THREAD_CHANNEL_TYPES = (11, 12)  # public and private threads


@dataclass(frozen=True)
class RawCommand:
    """What a slash command's raw payload says, read without discord.py (for answering it first)."""

    workspace: str
    channel: str  # the channel it was run in: a thread's own id inside a thread
    parent: str | None  # the thread's parent channel, inside a thread
    channel_nsfw: bool
    user: str
    user_name: str
    roles: tuple[str, ...]
    upload_limit: int
    options: dict[str, str | int | bool]


def read_guild_command(payload: dict[str, Any], offered: dict[str, int]) -> RawCommand | None:
    """The command in a checked interaction (see `parse_interaction`), when it is a plain guild slash
    command whose every option is one of `offered` (name -> Discord option type) with a value of that
    type. Anything else (a DM, a subcommand, an option this version does not offer) is None: discord.py
    then reads it and answers it as it answers any odd command."""
    data = payload["data"]
    if payload["type"] != APPLICATION_COMMAND or data.get("type", 1) != 1 or payload.get("guild_id") is None:
        return None
    options: dict[str, str | int | bool] = {}
    for option in data.get("options") or []:
        if not isinstance(option, dict):
            return None
        name, value = option.get("name"), option.get("value")
        kind = offered.get(name) if isinstance(name, str) else None
        if kind is None or option.get("type") != kind or type(value) is not OPTION_VALUE_TYPES.get(kind):
            return None
        options[name] = value  # type: ignore[index]
    upload_limit = payload["attachment_size_limit"]
    if type(upload_limit) is not int:
        return None
    channel = payload.get("channel") if isinstance(payload.get("channel"), dict) else {}
    channel_id = str(payload.get("channel_id") or channel.get("id") or "")
    member = payload["member"]
    user = member["user"]
    in_thread = channel.get("type") in THREAD_CHANNEL_TYPES
    roles = member.get("roles")
    return RawCommand(
        workspace=str(payload["guild_id"]),
        channel=channel_id,
        parent=str(channel.get("parent_id") or channel_id) if in_thread else None,
        channel_nsfw=bool(channel.get("nsfw")),
        user=str(user["id"]),
        user_name=str(member.get("nick") or user.get("global_name") or user.get("username") or user["id"]),
        roles=tuple(str(role) for role in roles) if isinstance(roles, list) else (),
        upload_limit=upload_limit,
        options=options,
    )
