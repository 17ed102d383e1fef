"""What the Slack app and the Slack deliverer must agree on: action ids, message text and blocks.

Slack's mrkdwn treats `<…>` as links and mentions (`<!channel>`, `<@U123>`), so user text is escaped
(`&`, `<`, `>`) everywhere it is shown, and formatting characters are defused, so nobody is pinged.
"""

from __future__ import annotations

import re

from bot import followups
from bot.queue_view import QueueView
from shared.chat_text import KIND_LABELS, shorten
from shared.request import ImageRequest

REFINE_MODAL = "imagine:refine-modal"
TEXT_MAX = 3000  # a section block's text
_FORMATTING = re.compile(r"([*_~`])")


def escape(text: str) -> str:
    """User text shown literally in mrkdwn: no links, mentions, broadcasts or formatting."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub("\u200b\\1\u200b", text)


def status_line(request: ImageRequest, state_text: str, icon: str = "") -> str:
    """The parent (or status) message: who asked, what (escaped), where it stands."""
    label = KIND_LABELS.get(request.kind, "🎨")
    subject = request.instruction if request.kind == "refine" and request.instruction else request.prompt
    state = state_text[:1].lower() + state_text[1:] if state_text else ""
    tail = f" — {icon} {state}" if icon else f" — {state}"
    who = f"<@{request.requester.user}>"
    return f"{label} {who}: *{shorten(escape(' '.join(subject.split())), TEXT_MAX - 200)}*{tail}"


def result_buttons(job_id: str, count: int) -> list[dict]:
    """Block Kit `actions` blocks from bot/followups.py: the per-image actions, then the rest."""
    rows = followups.result_buttons(job_id, count, "", everywhere_only=True)
    per_image = [_press_button(row[k], count) for k in range(count) for row in rows[:-1]]  # by image
    general = [_press_button(press, count) for press in rows[-1]]
    return [
        {"type": "actions", "block_id": f"imagine-images-{job_id}", "elements": per_image},
        {"type": "actions", "block_id": f"imagine-more-{job_id}", "elements": general},
    ]


def _press_button(press: followups.Press, count: int) -> dict:
    action = press.action
    suffix = f" {press.index + 1}" if action.per_image and count > 1 else ""
    return _button(
        f"{action.emoji} {action.label}{suffix}", press.custom_id, press.job_id, primary=action.primary
    )


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
    return blocks
