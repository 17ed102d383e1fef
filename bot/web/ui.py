"""The page's messages, built from the core's events: plain data (the page renders every string as text,
never as HTML) with the follow-up buttons from bot/followups.py."""

from __future__ import annotations

import base64
from typing import Any

from bot.followups import PressEffect, result_buttons
from shared.delivery.results import Failure, JobResult, StatusUpdate
from shared.drawing.backends import BACKENDS
from shared.drawing.chat_text import KIND_LABELS, failure_icon, subject
from shared.drawing.request import ImageRequest

IMAGE_ROUTE = "/images/"
# What a press can do here (bot/followups.py: PressEffect); "form" is the thread's own reply box,
# "region" the page's editor over the image.
PRESS_EFFECTS: frozenset[PressEffect] = frozenset({"job", "form", "region", "cancel"})


def status(job_id: str, request: ImageRequest, text: str, preview: bytes | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "kind": "status",
        "thread": request.requester.thread,
        "job": job_id,
        "label": KIND_LABELS.get(request.kind, "🎨"),
        "subject": subject(request),
        "text": text,
    }
    if preview is not None:  # a partial image: small, so it travels inline
        message["preview"] = "data:image/png;base64," + base64.b64encode(preview).decode()
    return message


def status_update(job_id: str, request: ImageRequest, update: StatusUpdate) -> dict[str, Any]:
    return status(job_id, request, update.short_text, update.preview)


def result(request: ImageRequest, done: JobResult) -> dict[str, Any]:
    owner, can = request.requester.user, BACKENDS[request.backend].capabilities
    size = (request.width, request.height)
    rows = result_buttons(done.job_id, len(done.images), owner, can=can, effects=PRESS_EFFECTS, size=size)
    return {
        "kind": "result",
        "thread": request.requester.thread,
        "job": done.job_id,
        "label": KIND_LABELS.get(request.kind, "🎨"),
        "subject": subject(request),
        "prompt": done.revised_prompt or done.prompt,
        "model": done.model,
        "seconds": round(done.seconds, 1),
        "notes": done.notes,
        "images": [
            {"url": IMAGE_ROUTE + image.key, "alt": done.prompt, "seed": image.seed, "hidden": image.spoiler}
            for image in done.images
        ],
        "buttons": [
            [
                {
                    "id": press.custom_id,
                    "label": press.action.text + (f" {press.index + 1}" if press.action.per_image else ""),
                    "effect": press.action.effect,
                }
                for press in row
            ]
            for row in rows
        ],
    }


def failure(job_id: str, request: ImageRequest, failed: Failure) -> dict[str, Any]:
    return {
        "kind": "failure",
        "thread": request.requester.thread,
        "job": job_id,
        "subject": subject(request),
        "text": f"{failure_icon(failed.kind)} {failed.text}",
    }


def private(text: str, thread: str | None) -> dict[str, Any]:
    """An answer only this member sees (a refusal, a bad flag): the page shows it where they typed."""
    return {"kind": "private", "thread": thread, "text": text}
