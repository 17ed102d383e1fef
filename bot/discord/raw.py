"""A raw HTTP interaction checked before discord.py parses it.

discord.py trusts its input: a field Discord always sends, missing, fails deep inside the library and
leaves the interaction unanswered. So what every interaction carries is checked here, once, and a body
without it is answered 400 at once with the reason.
"""

from __future__ import annotations

import json
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
    return payload


def _is_snowflake(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()


def _has_user(payload: dict[str, Any]) -> bool:
    """A guild interaction names its member (with the user inside), a DM its user."""
    holder = payload.get("member") if payload.get("guild_id") is not None else payload
    user = holder.get("user") if isinstance(holder, dict) else None
    return isinstance(user, dict) and _is_snowflake(user.get("id"))
