"""A raw request to POST /slack/events checked before bolt parses it.

bolt decodes and parses the body before its own middleware runs, and a body it cannot read (not UTF-8,
not JSON, a `payload` that is not JSON) raises there, which aiohttp answers with its 500 page. So the
body is read here the way bolt reads it, and what Slack always sends is required: anything else is
answered 400 with the reason.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

# What Slack sends with every slash command.
COMMAND_FIELDS = ("command", "team_id", "channel_id", "user_id")


class MalformedSlackRequest(ValueError):
    """The body is not a Slack request this app can answer; `str()` says why."""


def decode_body(body: bytes) -> str:
    """The body as text, as Slack sends it (and as slack_sdk's signature check needs it)."""
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise MalformedSlackRequest("the body is not UTF-8 text") from None


def check_body(text: str, content_type: str | None) -> None:
    """Raise MalformedSlackRequest unless bolt can parse `text` into an event, command or action."""
    if content_type == "application/json" or text.startswith("{"):  # as bolt decides
        _check_event(_json_object(text, "the events body"))
        return
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        _check_interaction(_json_object(form["payload"], "the interactive payload"))
    elif "command" in form:
        missing = [field for field in COMMAND_FIELDS if not form.get(field)]
        if missing:
            raise MalformedSlackRequest(f"the command has no {', '.join(missing)}")
    elif "ssl_check" not in form:  # Slack's check of the URL, which bolt answers
        raise MalformedSlackRequest("the body is neither an event, a command nor an action")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        raise MalformedSlackRequest(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedSlackRequest(f"{what} is not a JSON object")
    return value


def _check_interaction(payload: dict[str, Any]) -> None:
    """Every interaction names its user and team; a button press its actions, a form its view."""
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise MalformedSlackRequest("the interactive payload has no type")
    for holder in ("user", "team"):
        if not isinstance(payload.get(holder), dict) or not isinstance(payload[holder].get("id"), str):
            raise MalformedSlackRequest(f"the interactive payload has no {holder} id")
    actions = payload.get("actions")
    if kind == "block_actions" and not (
        isinstance(actions, list) and actions and all(isinstance(a, dict) for a in actions)
    ):
        raise MalformedSlackRequest("the button press has no actions")
    if kind == "view_submission" and not isinstance(payload.get("view"), dict):
        raise MalformedSlackRequest("the form submission has no view")


def _check_event(body: dict[str, Any]) -> None:
    kind = body.get("type")
    if not isinstance(kind, str):
        raise MalformedSlackRequest("the events body has no type")
    if kind == "event_callback" and not isinstance(body.get("event"), dict):
        raise MalformedSlackRequest("the event callback has no event")
