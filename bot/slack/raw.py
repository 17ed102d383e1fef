"""A raw request to POST /slack/events checked before bolt parses it: the one layer between Slack's
payloads and our listeners.

bolt decodes and parses the body before its own middleware runs, and a body it cannot read (not UTF-8,
not JSON, a `payload` that is not JSON) raises there, which aiohttp answers with its 500 page. So the
body is read here the way bolt reads it, and the fields our listeners read are required in the shapes
declared below (one model per kind of payload): anything else is answered 400 with the reason, so a
listener never meets a payload it cannot read.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from bot.slack.ui import REFINE_MODAL

# What Slack sends with every slash command.
COMMAND_FIELDS = ("command", "team_id", "channel_id", "user_id")
MAX_FILES = 20  # a message carries at most 10 files, a file input at most 10


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
    _validated(INTERACTIONS.get(payload.get("type"), Interaction), payload, "the interactive payload")
    view = payload.get("view") or {}
    if payload.get("type") == "view_submission" and view.get("callback_id") == REFINE_MODAL:
        _validated(
            RefineMetadata,
            _json_object(view.get("private_metadata") or "", "the form's metadata"),
            "the form's metadata",
        )


def _check_event(body: dict[str, Any]) -> None:
    kind = body.get("type")
    if not isinstance(kind, str):
        raise MalformedSlackRequest("the events body has no type")
    if kind == "event_callback":
        _validated(EventCallback, body, "the event callback")


def _validated(model: type[BaseModel], value: dict[str, Any], what: str) -> None:
    """`value` read as `model`, or MalformedSlackRequest naming the first field that is wrong."""
    try:
        model.model_validate(value)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "it"
        raise MalformedSlackRequest(f"{what}: {where}: {error['msg'].lower()}") from None


# The shapes our listeners read, declared once: a listener that reads a new field declares it here.
# Slack sends far more; `extra="allow"` keeps what is not named.
_OPEN = ConfigDict(extra="allow")
Text = Annotated[str, StringConstraints(max_length=40_000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Named(BaseModel):
    model_config = _OPEN
    id: Id


class Interaction(BaseModel):
    """Every interaction names its user and team."""

    model_config = _OPEN
    type: str
    user: Named
    team: Named
    channel: Named | None = None


class Action(BaseModel):
    model_config = _OPEN
    action_id: Text
    value: Text | None = None


class MessageOf(BaseModel):
    """A message as an interaction carries it."""

    model_config = _OPEN
    ts: Id
    thread_ts: Id | None = None
    files: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_FILES)


class BlockActions(Interaction):
    actions: list[Action] = Field(min_length=1, max_length=25)
    message: MessageOf | None = None


class ViewState(BaseModel):
    model_config = _OPEN
    # block id -> action id -> the element's state (a value, a selected option, files)
    values: dict[Id, dict[Id, dict[str, Any]]] = Field(default_factory=dict, max_length=100)


class View(BaseModel):
    model_config = _OPEN
    id: Id
    callback_id: Text = ""
    private_metadata: Text = ""
    state: ViewState = Field(default_factory=ViewState)

    @field_validator("state")
    @classmethod
    def _few_files(cls, state: ViewState) -> ViewState:
        for actions in state.values.values():
            for element in actions.values():
                files = element.get("files")
                if files is not None and not (isinstance(files, list) and len(files) <= MAX_FILES):
                    raise ValueError(f"a file input carries more than {MAX_FILES} files")
        return state


class ViewSubmission(Interaction):
    view: View


class MessageAction(Interaction):
    """A message shortcut: run on a message, in a channel."""

    callback_id: Text
    channel: Named
    message: MessageOf


class RefineMetadata(BaseModel):
    """What the refine form carries from the thread it was opened in."""

    model_config = _OPEN
    channel: Id
    thread: Id
    job: Id


class Event(BaseModel):
    model_config = _OPEN
    type: Id
    user: Id | None = None
    channel: Id | None = None
    text: Text | None = None
    ts: Id | None = None
    thread_ts: Id | None = None
    files: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_FILES)


class EventCallback(BaseModel):
    model_config = _OPEN
    event: Event
    team_id: Id | None = None


INTERACTIONS: dict[object, type[Interaction]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "message_action": MessageAction,
}
