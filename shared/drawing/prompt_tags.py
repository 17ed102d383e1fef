"""AUTOMATIC1111 / Forge read tags in the prompt itself: `<lora:NAME:WEIGHT>`, `<lyco:…>` and
`<hypernet:…>` load that network from the server's disk at any weight. A member may use only those the
operator lists (`[a1111] prompt_tags = ["lora:papercut"]`); any other is refused where the request is
checked, and stripped again before the prompt leaves the worker (a prompt writer's text included)."""

from __future__ import annotations

import re

from shared import messages
from shared.configuration.config import AppConfig
from shared.errors import InvalidRequest

TAG = re.compile(r"<\s*(lora|lyco|hypernet)\s*:\s*([^:>]*?)\s*(?::[^>]*)?>", re.IGNORECASE)


def _name(match: re.Match[str]) -> str:
    return f"{match.group(1).lower()}:{match.group(2)}"


def refused(text: str, allowed: list[str]) -> list[str]:
    """The tags in `text` that are not in `allowed` ("lora:NAME"), as written."""
    return [match.group(0) for match in TAG.finditer(text) if _name(match) not in allowed]


def check_a1111(config: AppConfig, text: str) -> None:
    """Raise InvalidRequest naming the first tag the operator did not list."""
    tags = refused(text, config.a1111.prompt_tags)
    if tags:
        raise InvalidRequest(messages.prompt_tag_refused(tags[0], config.a1111.prompt_tags))


def strip(text: str, allowed: list[str]) -> str:
    """`text` without the tags not in `allowed` (spaces left by them folded)."""
    kept = TAG.sub(lambda match: match.group(0) if _name(match) in allowed else " ", text)
    return " ".join(kept.split())
