"""What the Slack app and the Slack deliverer must agree on: action ids, message text and blocks.

Slack's mrkdwn treats `<…>` as links and mentions (`<!channel>`, `<@U123>`), so user text is escaped
(`&`, `<`, `>`) everywhere it is shown, and formatting characters are defused, so nobody is pinged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot import followups, settings_form
from bot.flags import flags_help_line, picture_help_line
from bot.interactions.commands import COMMANDS
from bot.interactions.ids import REFINE_FORM, REGION_FORM, REVEAL
from bot.interactions.queue import QueueView
from bot.interactions.region import REGION_LABELS
from shared.configuration.config import AppConfig
from shared.drawing import chat_text
from shared.drawing.backends import BACKENDS
from shared.drawing.chat_text import KIND_LABELS, shorten
from shared.drawing.choices import offered_loras, offered_models
from shared.drawing.request import ImageRequest
from shared.members.member_defaults import ChannelDefaults, MemberDefaults

REFINE_MODAL = REFINE_FORM.prefix  # the form names its job in private_metadata
REGION_MODAL = REGION_FORM.prefix  # and this one its job and image
EDITOR_LINK = "imagine-editor-link"  # a link button: Slack still sends its press, which is only acked
TEXT_MAX = 3000  # a section block's text
# What a press can do here (bot/followups.py: PressEffect): no Info or Delete under a result.
PRESS_EFFECTS: frozenset[followups.PressEffect] = frozenset({"job", "form", "region", "cancel"})
_FORMATTING = re.compile(r"([*_~`])")


def escape(text: str) -> str:
    """User text shown literally in mrkdwn: no links, mentions, broadcasts or formatting."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub("\u200b\\1\u200b", text)


def status_line(request: ImageRequest, state_text: str, icon: str = "") -> str:
    """The parent (or status) message: who asked, what (escaped), where it stands."""
    label = KIND_LABELS.get(request.kind, "🎨")
    subject = chat_text.subject(request)
    state = state_text[:1].lower() + state_text[1:] if state_text else ""
    tail = f" — {icon} {state}" if icon else f" — {state}"
    who = f"<@{request.requester.user}>"
    return f"{label} {who}: *{shorten(escape(' '.join(subject.split())), TEXT_MAX - 200)}*{tail}"


def result_buttons(request: ImageRequest, job_id: str, count: int) -> list[dict]:
    """Block Kit `actions` blocks from bot/followups.py: the per-image actions, the canvas edits
    (under a single image), then the rest."""
    can, size = BACKENDS[request.backend].capabilities, (request.width, request.height)
    rows = followups.result_buttons(job_id, count, "", can=can, effects=PRESS_EFFECTS, size=size)
    per_image_rows = [row for row in rows[:-1] if row[0].action.per_image]
    per_image = [_press_button(row[k], count) for k in range(count) for row in per_image_rows]  # by image
    edits = [_press_button(press, count) for row in rows[:-1] if not row[0].action.per_image for press in row]
    general = [_press_button(press, count) for press in rows[-1]]
    return [
        {"type": "actions", "block_id": f"imagine-images-{job_id}", "elements": per_image},
        *([{"type": "actions", "block_id": f"imagine-edits-{job_id}", "elements": edits}] if edits else []),
        {"type": "actions", "block_id": f"imagine-more-{job_id}", "elements": general},
    ]


def reveal_buttons(job_id: str, hidden: list[int]) -> list[dict]:
    """One button per image the content policy hid (`flagged_images = "spoiler"`): Slack has no
    spoilers, so the image is posted only when a member asks for it."""
    if not hidden:
        return []
    elements = [
        _button(f"🙈 Show hidden image {index + 1}", REVEAL.make(job_id, index), job_id) for index in hidden
    ]
    return [{"type": "actions", "block_id": f"imagine-hidden-{job_id}", "elements": elements}]


def _press_button(press: followups.Press, count: int) -> dict:
    action = press.action
    suffix = f" {press.index + 1}" if action.per_image and count > 1 else ""
    return _button(f"{action.text}{suffix}", press.custom_id, press.job_id, primary=action.primary)


def _button(text: str, action_id: str, value: str, *, primary: bool = False) -> dict:
    button = {"type": "button", "text": {"type": "plain_text", "text": text, "emoji": True}}
    button.update({"action_id": action_id, "value": value})
    if primary:
        button["style"] = "primary"
    return button


def queue_blocks(view: QueueView) -> list[dict]:
    """`/imagine queue`: a section per job with its Cancel button, or the one line saying there are none."""
    if not view.cancels:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": escape(view.text)}}]
    blocks = []
    for line, (label, custom_id) in zip(view.lines, view.cancels, strict=False):
        button = _button(label, custom_id, custom_id.rsplit(":", 1)[-1])
        button["style"] = "danger"
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": escape(line)}, "accessory": button}
        )
    rest = [*view.lines[len(view.cancels) :], *view.totals]  # "… and N more", an admin's totals
    if rest:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape("\n".join(rest))}})
    return blocks


SETTINGS_MODAL = "imagine-settings"  # the modal's callback id, and the App Home's Edit button
UNSET = "-"


def settings_modal(
    defaults: MemberDefaults,
    config: AppConfig,
    backend: str,
    *,
    channel: str | None = None,
    channel_defaults: ChannelDefaults | None = None,
) -> dict:
    """`/imagine settings`: the member's defaults (bot/settings_form.py: selects where the choices are
    known); for a workspace admin in a channel, that channel's defaults below them."""
    blocks = [_form_input(field) for field in settings_form.fields(defaults, config, backend)]
    models = BACKENDS[backend].models(config)
    if channel is not None and channel_defaults is not None:
        refine_by = channel_defaults.refine_by or config.threads.refine_by
        blocks += [
            {"type": "header", "text": {"type": "plain_text", "text": "This channel (for everyone here)"}},
            _select_input("ch_style", "Channel style", channel_defaults.style, sorted(config.presets)),
            *([_select_input("ch_model", "Channel model", channel_defaults.model, models)] if models else []),
            _select_input("ch_refine_by", "Whose replies refine", refine_by, ["owner", "anyone"]),
        ]
    return {
        "type": "modal",
        "callback_id": SETTINGS_MODAL,
        "private_metadata": json.dumps({"channel": channel} if channel else {}),
        "title": {"type": "plain_text", "text": "Your defaults"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "For a new /imagine; flags you type still win."}],
            },
            *blocks,
        ],
    }


def submitted_channel_defaults(values: dict) -> ChannelDefaults | None:
    """The channel part of the modal, when it had one."""
    if "ch_refine_by" not in values:
        return None
    chosen = _state(values)
    refine_by = chosen.get("ch_refine_by")
    return ChannelDefaults(
        style=chosen.get("ch_style"),
        model=chosen.get("ch_model"),
        refine_by=refine_by if refine_by in ("owner", "anyone") else None,
    )


def submitted_defaults(values: dict, config: AppConfig, backend: str) -> MemberDefaults:
    """The modal's state back as defaults (raises InvalidRequest for a value not offered)."""
    return settings_form.read(_state(values), config, backend)


def _state(values: dict) -> dict[str, str | None]:
    """Slack's `view.state.values` as block id -> the chosen or typed value (None: default, empty)."""
    chosen: dict[str, str | None] = {}
    for block, actions in values.items():
        action = actions.get(block) or {}
        option = action.get("selected_option")
        value = option.get("value") if option else action.get("value")
        chosen[block] = None if value in (None, "", UNSET) else value
    return chosen


def _form_input(field: settings_form.Field) -> dict:
    if field.choices:
        return _select_input(field.name, field.label, field.current, list(field.choices))
    element: dict = {
        "type": "plain_text_input",
        "action_id": field.name,
        "max_length": settings_form.NEGATIVE_MAX,
    }
    if field.current:
        element["initial_value"] = field.current
    return {
        "type": "input",
        "block_id": field.name,
        "optional": True,
        "element": element,
        "label": {"type": "plain_text", "text": field.label},
    }


def _select_input(block: str, label: str, current: str | None, choices: list[str]) -> dict:
    options = [_option("default", UNSET)] + [_option(choice, choice) for choice in choices[:99]]
    element: dict = {"type": "static_select", "action_id": block, "options": options}
    element["initial_option"] = _option(current, current) if current in choices else options[0]
    return {
        "type": "input",
        "block_id": block,
        "optional": True,
        "element": element,
        "label": {"type": "plain_text", "text": label},
    }


def _option(text: str, value: str) -> dict:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value[:150]}


def refine_modal(job_id: str, channel: str, thread_ts: str, *, max_chars: int) -> dict[str, Any]:
    """✏️ Refine's form: one text field, the same as a reply in the thread."""
    metadata = {"job": job_id, "channel": channel, "thread": thread_ts}
    words = _words("What should change?", "make it night-time --ar 16:9", max_chars, multiline=True)
    return _thread_form(REFINE_MODAL, metadata, "Refine the image", "Refine", [words])


def region_modal(job_id: str, index: int, channel: str, thread_ts: str, *, max_chars: int) -> dict[str, Any]:
    """🖌️ Vary (Region)'s form where the page's editor is not linked: the grid's ninths and the words."""
    choices = [
        {"text": {"type": "plain_text", "text": label}, "value": name}
        for name, label in REGION_LABELS.items()
    ]
    where = {
        "type": "input",
        "block_id": "regions",
        "label": {"type": "plain_text", "text": "Where to draw anew"},
        "element": {"type": "multi_static_select", "action_id": "regions", "options": choices},
    }
    words = _words("What goes there (else the prompt again)", "a red umbrella", max_chars, optional=True)
    metadata = {"job": job_id, "index": index, "channel": channel, "thread": thread_ts}
    return _thread_form(REGION_MODAL, metadata, "Vary (Region)", "Draw", [where, words])


def _thread_form(
    callback_id: str, metadata: dict[str, Any], title: str, submit: str, blocks: list[dict]
) -> dict[str, Any]:
    """A modal acting in a thread, which its metadata names (bot/slack/forms.py reads it back)."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _words(
    label: str, placeholder: str, max_chars: int, *, multiline: bool = False, optional: bool = False
) -> dict:
    """The form's text field, `instruction`: what a reply in the thread would say."""
    element = {
        "type": "plain_text_input",
        "action_id": "instruction",
        "max_length": max_chars,
        "placeholder": {"type": "plain_text", "text": placeholder},
        **({"multiline": True} if multiline else {}),
    }
    block = {"type": "input", "block_id": "instruction", "label": {"type": "plain_text", "text": label}}
    return {**block, **({"optional": True} if optional else {}), "element": element}


def editor_link_blocks(text: str, url: str) -> list[dict[str, Any]]:
    """The private answer to 🖌️ Vary (Region) where the page's editor is linked."""
    button = {
        "type": "button",
        "action_id": EDITOR_LINK,
        "text": {"type": "plain_text", "text": "🖌️ Open the editor"},
        "url": url,
        "style": "primary",
    }
    return [
        {"type": "section", "text": {"type": "plain_text", "text": text}},
        {"type": "actions", "elements": [button]},
    ]


def help_text(config: AppConfig, backend: str) -> str:
    styles = ", ".join(sorted(config.presets))
    models = "; ".join(label for _, label in offered_models(config, backend, nsfw=False))
    loras = "; ".join(label for _, label in offered_loras(config, nsfw=False))
    return (
        "*/imagine PROMPT [flags]* makes images from a prompt; they arrive in a thread, where replies "
        "refine them.\n"
        f"{flags_help_line()}\n{picture_help_line()}\n"
        "`--ar` takes square, portrait, landscape, wide, tall or a ratio like 16:9; `--n` 1–4; "
        f"`--no` what the image should not contain.\nStyles: {styles}.\n"
        + (f"Models (`--model`): {models}.\n" if models else "")
        + (f"LoRAs (`--lora NAME:WEIGHT`, up to {config.diffusers.max_loras}): {loras}.\n" if loras else "")
        + "Example: `/imagine a lighthouse at dawn --ar 16:9 --style watercolor --no people`\n"
        + "Also: `/imagine settings` (your defaults), `/imagine queue` (your jobs, to cancel), "
        + ", ".join(f"`/imagine {c.name}` ({c.description.lower()})" for c in COMMANDS.values())
        + "."
    )
