"""A member's picture as a request names it: where the worker finds it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SourceImage(BaseModel):
    """A member's own picture to start from: a file on the platform's own host (`url`, fetched by the
    worker, which holds no chat token) or bytes a frontend already fetched and checked and put in the
    image store (`key`: Slack's files need the bot token, the command line reads a path)."""

    model_config = ConfigDict(frozen=True)

    url: str | None = None
    key: str | None = None
    hosts: tuple[str, ...] = ()  # where `url` may be fetched from: its platform's own file hosts
