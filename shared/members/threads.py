"""Thread memory: the turns of one chat thread, so a reply can refine the last image."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field
from redis import Redis

from shared import keys
from shared.drawing.request import Drawing, ImageRequest
from shared.drawing.requester import AskedIn, Requester

# Append unless the last turn already is this job's (a retried job records once); trim; refresh TTL.
_RECORD = """
local last = redis.call('LINDEX', KEYS[1], -1)
if last and cjson.decode(last)['job_id'] == ARGV[2] then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


class Turn(Drawing):
    """One image-making step in a thread: its drawing settings, and what came out, to refine or reproduce it.

    `model` is the model that drew it, `seeds` the seed of each image; the inherited `seed` is what the
    member asked for.
    """

    job_id: str
    owner: str
    prompt: str  # the whole idea so far, before any style preset: what the next reply refines
    kind: str = "imagine"
    instruction: str | None = None
    revised_prompt: str | None = None
    seeds: list[int | None] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list)
    seconds: float | None = None
    created_at: float = Field(default_factory=time.time)

    @classmethod
    def from_request(
        cls,
        job_id: str,
        request: ImageRequest,
        *,
        seeds: list[int | None],
        images: list[str],
        model: str | None,
        revised_prompt: str | None,
        prompt: str | None = None,
        seconds: float | None = None,
    ) -> Turn:
        drawing = request.drawing().model_copy(update={"model": model})
        return cls(
            **drawing.model_dump(),
            job_id=job_id,
            owner=request.requester.user_key,
            prompt=prompt or request.prompt,
            kind=request.kind,
            instruction=request.instruction,
            revised_prompt=revised_prompt,
            seeds=seeds,
            images=images,
            seconds=seconds,
        )


def thread_key(requester: Requester) -> str | None:
    """The memory key of the requester's thread, or None where the platform has no thread."""
    if requester.thread is None:
        return None
    return keys.thread(requester.platform, requester.workspace, requester.channel, requester.thread)


class ThreadMemory:
    """Turns per thread in a Redis list with a TTL (default 7 days) and a length cap."""

    def __init__(self, redis: Redis, *, ttl_seconds: int, max_turns: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_turns = max_turns
        self._record = redis.register_script(_RECORD)

    def record(self, key: str, turn: Turn) -> bool:
        """Append a turn; False if this job's turn is already the last one."""
        return bool(
            self._record(keys=[key], args=[turn.model_dump_json(), turn.job_id, self._max_turns, self._ttl])
        )

    def turns(self, key: str) -> list[Turn]:
        return [Turn.model_validate_json(raw) for raw in self._redis.lrange(key, 0, -1)]

    def last(self, key: str) -> Turn | None:
        raw = self._redis.lindex(key, -1)
        return Turn.model_validate_json(raw) if raw else None

    def find(self, key: str, job_id: str) -> Turn | None:
        """The turn a job made in this thread (newest first), e.g. for a button under its images."""
        for turn in reversed(self.turns(key)):
            if turn.job_id == job_id:
                return turn
        return None


class ThreadOrigin(BaseModel):
    """A thread the bot opened: the channel it hangs off and the member who started it."""

    model_config = ConfigDict(frozen=True)

    channel: str
    owner: str  # the platform's user id
    nsfw: bool = False  # the channel's age restriction, which its threads share
    asked_in: AskedIn | None = None  # a conversation moved from where it was asked (private results)


class ThreadOrigins:
    """Which threads are ours. Replies in any other thread are none of the bot's business."""

    def __init__(self, redis: Redis, *, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    def record(self, platform: str, workspace: str, thread_id: str, origin: ThreadOrigin) -> None:
        """Remember a thread's origin; the first record wins (a thread started in another's keeps it)."""
        key = keys.thread_origin(platform, workspace, thread_id)
        self._redis.set(key, origin.model_dump_json(), ex=self._ttl, nx=True)

    def get(self, platform: str, workspace: str, thread_id: str) -> ThreadOrigin | None:
        raw = self._redis.get(keys.thread_origin(platform, workspace, thread_id))
        return ThreadOrigin.model_validate_json(raw) if raw else None
