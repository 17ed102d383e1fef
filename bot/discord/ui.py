"""Discord's message text, shared by the frontend's answers and the result poster: status lines,
thread names, limits. Prompts are escaped everywhere they are shown."""

from __future__ import annotations

import io
import re

import discord

from bot import describing, followups, settings_form
from bot.interactions.gallery import GalleryPage
from bot.interactions.ids import GALLERY_PAGE
from shared.drawing import chat_text
from shared.drawing.chat_text import KIND_LABELS, shorten
from shared.drawing.request import ImageRequest
from shared.durations import humanize_seconds
from shared.members.threads import Turn

THREAD_NAME_MAX = 100  # Discord's limit on channel and thread names
MESSAGE_MAX = 2000
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # per message, unless the guild allows more
MAX_FILES_PER_MESSAGE = 10
# What a press can do here (bot/followups.py: PressEffect): everything, so every result button shows.
PRESS_EFFECTS: frozenset[followups.PressEffect] = frozenset(
    {"job", "form", "region", "info", "delete", "cancel"}
)
DM_WORKSPACE = "dm"  # whose quota DMs count against: [quota.workspaces."discord:dm"] sets its limits

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
    subject = chat_text.subject(request)
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


def info_embed(turn: Turn) -> discord.Embed:
    embed = discord.Embed(title="ℹ️ Image info", description=shorten(escape(turn.prompt), 4096))
    if turn.instruction:
        embed.add_field(
            name="Refinement",
            value=shorten(escape(turn.instruction), 1024),
            inline=False,
        )
    if turn.revised_prompt:
        embed.add_field(
            name="Revised prompt",
            value=shorten(escape(turn.revised_prompt), 1024),
            inline=False,
        )
    if turn.negative:
        embed.add_field(name="Negative", value=shorten(escape(turn.negative), 1024), inline=False)
    seeds = ", ".join(str(seed) for seed in turn.seeds if seed is not None) or "random"
    embed.add_field(name="Seed" if len(turn.seeds) <= 1 else "Seeds", value=seeds)
    embed.add_field(name="Model", value=escape(turn.model or turn.backend))
    embed.add_field(name="Size", value=f"{turn.width}×{turn.height}")
    if turn.style:
        embed.add_field(name="Style", value=escape(turn.style))
    if turn.seconds is not None:
        embed.add_field(
            name="Time",
            value=humanize_seconds(turn.seconds) if turn.seconds >= 60 else f"{turn.seconds:.1f} s",
        )
    embed.set_footer(text=f"{turn.kind} · {turn.job_id}")
    return embed


def gallery_message(page: GalleryPage) -> tuple[str, list[discord.File], discord.ui.View]:
    """A /gallery page: its lines, the thumbnails as files, and ◀ ▶."""
    files, lines = [], [page.header]
    for item in page.items:
        if item.thumbnail is not None:
            files.append(discord.File(io.BytesIO(item.thumbnail), f"{item.number}.jpg"))
        entry = item.entry
        link = thread_link(entry.workspace, entry.thread) if entry.thread else ""
        lines.append(gallery_line(item.number, entry.prompt, entry.at, link, kept=item.thumbnail is not None))
    view = discord.ui.View(timeout=None)
    turns = (("◀", page.number - 1, page.has_previous), ("▶", page.number + 1, page.has_next))
    for label, target, enabled in turns:
        custom_id = GALLERY_PAGE.make(target if enabled else label)  # a disabled one is never pressed
        view.add_item(discord.ui.Button(label=label, custom_id=custom_id, disabled=not enabled))
    view.stop()
    return "\n".join(lines)[:MESSAGE_MAX], files, view


def thread_link(workspace: str, thread: str) -> str:
    guild = workspace if workspace and workspace != DM_WORKSPACE else "@me"
    return f"https://discord.com/channels/{guild}/{thread}"
