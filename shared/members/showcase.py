"""Stars on results: when a workspace has a showcase channel, a result that enough distinct members
star (⭐) is reposted there — once, whichever frontend process counts the deciding star."""

from __future__ import annotations

import json

from redis import Redis

from shared import keys
from shared.configuration.config import ShowcaseConfig

KEPT_SECONDS = 30 * 86400


class Showcase:
    def __init__(self, redis: Redis, showcases: dict[str, ShowcaseConfig]) -> None:
        self._redis = redis
        self._showcases = showcases

    def star(self, workspace_key: str, message_id: str, member: str) -> ShowcaseConfig | None:
        """Count `member`'s star on a result; the showcase to repost it to when this star is the one
        that reaches the number (at most once per result), else None."""
        showcase = self._showcases.get(workspace_key)
        if showcase is None:
            return None
        stars = keys.stars(message_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(stars, member)
        pipe.scard(stars)
        pipe.expire(stars, KEPT_SECONDS)
        _, count, _ = pipe.execute()
        if count < showcase.stars:
            return None
        if not self._redis.set(keys.showcased(message_id), "1", nx=True, ex=KEPT_SECONDS):
            return None  # reposted already
        return showcase

    def remember(self, platform: str, message_ids: list[str], job_id: str, prompt: str, images: int) -> None:
        """The job behind messages that show a result, so a ⭐ on any of them finds its images."""
        entry = json.dumps({"job": job_id, "prompt": prompt, "images": images})
        pipe = self._redis.pipeline(transaction=False)
        for message_id in message_ids:
            pipe.set(keys.result_message(platform, message_id), entry, ex=KEPT_SECONDS)
        pipe.execute()

    def shown_by(self, platform: str, message_id: str) -> dict | None:
        raw = self._redis.get(keys.result_message(platform, message_id))
        return json.loads(raw) if raw else None

    def unstar(self, message_id: str, member: str) -> None:
        self._redis.srem(keys.stars(message_id), member)
