"""A member's last images, newest first: recorded by the worker in the round trip that publishes the
result, read by each platform (Discord's /gallery pages, Slack's App Home). The entries name the
images' keys; the bytes stay in the image store, so an entry outlives its pixels only as a line."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from shared import keys
from shared.delivery.results import JobResult
from shared.drawing.request import ImageRequest

KEPT = 50
KEPT_DAYS = 90


@dataclass(frozen=True)
class GalleryEntry:
    job_id: str
    prompt: str
    image_keys: list[str]
    at: float
    workspace: str
    channel: str
    thread: str | None


def record(pipe: Pipeline, request: ImageRequest, result: JobResult) -> None:
    """Add a finished job to its member's gallery (in the publishing pipeline)."""
    who = request.requester
    entry = {
        "job": result.job_id,
        "prompt": result.idea or request.prompt,
        "images": [image.key for image in result.images],
        "at": time.time(),
        "workspace": who.workspace,
        "channel": who.channel,
        "thread": who.thread,
    }
    key = keys.gallery(who.user_key)
    pipe.lpush(key, json.dumps(entry))
    pipe.ltrim(key, 0, KEPT - 1)
    pipe.expire(key, KEPT_DAYS * 86400)


def page(redis: Redis, user_key: str, number: int, size: int) -> tuple[list[GalleryEntry], int]:
    """Page `number` (from 0) of the member's gallery, and how many entries it holds."""
    key = keys.gallery(user_key)
    pipe = redis.pipeline(transaction=False)
    pipe.lrange(key, number * size, number * size + size - 1)
    pipe.llen(key)
    raw, total = pipe.execute()
    entries = []
    for item in raw:
        data = json.loads(item)
        entries.append(
            GalleryEntry(
                data["job"],
                data["prompt"],
                data["images"],
                data["at"],
                data.get("workspace", ""),
                data["channel"],
                data["thread"],
            )
        )
    return entries, int(total)
