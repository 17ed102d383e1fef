"""Discord's message text, shared by the frontend's answers and the result poster: status lines,
thread names, limits. Prompts are escaped everywhere they are shown."""

from __future__ import annotations

import re

import discord

from bot import describing, settings_form
from shared.chat_text import KIND_LABELS, shorten
from shared.request import ImageRequest

THREAD_NAME_MAX = 100  # Discord's limit on channel and thread names
MESSAGE_MAX = 2000
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # per message, unless the guild allows more
MAX_FILES_PER_MESSAGE = 10

_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")
_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{15,21})")
_ANGLE_MENTION = re.compile(r"<(@[!&]?|#|/)")


def escape(text: str) -> str:
    """Show user text literally: no markdown, no mentions, no pings, no channel links."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _ANGLE_MENTION.sub(lambda m: "<\u200b" + m[1], text)
    return _MENTION.sub("@\u200b\\1", text)


def thread_name(prompt: str) -> str:
    """A thread named after the prompt, on one line and within Discord's limit."""
    return shorten(" ".join(prompt.split()), THREAD_NAME_MAX) or "imagine"


def status_line(request: ImageRequest, state_text: str, icon: str = "") -> str:
    """The job's status message: what was asked (escaped), then where it stands."""
    label = KIND_LABELS.get(request.kind, "🎨")
    subject = request.instruction if request.kind == "refine" and request.instruction else request.prompt
    state = state_text[:1].lower() + state_text[1:] if state_text else ""
    tail = f" — {icon} {state}" if icon else f" — {state}"
    room = MESSAGE_MAX - len(label) - len(tail) - 4
    return f"{label} *{shorten(escape(' '.join(subject.split())), room)}*{tail}"


CHANNEL_MESSAGE = 4  # an interaction response that is a message
EPHEMERAL = 64


def ephemeral_response(text: str) -> dict[str, object]:
    """An interaction response only the member sees: a message, mentions off."""
    return {
        "type": CHANNEL_MESSAGE,
        "data": {"content": text, "flags": EPHEMERAL, "allowed_mentions": {"parse": []}},
    }


ASPECT_CHOICES = settings_form.ASPECTS  # offered as choices; ratios are typed


def gallery_line(number: int, prompt: str, at: float, link: str, *, kept: bool) -> str:
    """One entry of /gallery: its prompt (a link to its thread), when, and whether its image is kept."""
    shown = shorten(escape(prompt), 120)
    if link:
        shown = f"[{shown}]({link})"
    expired = "" if kept else " (image expired)"
    return f"{number}. {shown} — <t:{int(at)}:R>{expired}"


EMBED_FIELD_MAX = 1024


def suggestions_embed(prompts: list[str]) -> discord.Embed:
    """/describe's prompts, numbered like their buttons."""
    embed = discord.Embed()
    for number, prompt in enumerate(prompts, 1):
        embed.add_field(name=f"{number}", value=escape(prompt)[:EMBED_FIELD_MAX], inline=False)
    return embed


def suggestion_buttons(describe_id: str, count: int) -> discord.ui.View:
    """ "Imagine 1".."Imagine 4": stateless, answered by custom id (an old message keeps working)."""
    view = discord.ui.View(timeout=None)
    for index in range(count):
        view.add_item(
            discord.ui.Button(
                label=f"Imagine {index + 1}",
                emoji="🎨",
                custom_id=describing.button_id(describe_id, index),
                style=discord.ButtonStyle.primary,
            )
        )
    view.stop()
    return view
