"""Result events: what a worker tells the platform a job came from (progress, images, or why it failed).

Workers append events to a Redis stream and hold no chat token; each platform's frontends read their
platform's stream `imagine:results:<platform>` with a consumer group and post (bot/results.py). The
command line reads its job's own stream `imagine:events:<job_id>`. An entry carries the request, so
the reader knows where to answer, and image keys, not image bytes: the images are in the image store.

Stream entry fields: `v` (format version), `job`, `event` (JSON: `type` and its fields), `request`
(JSON, platform streams only) and `preview` (PNG bytes, progress previews only).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from redis import Redis
from redis.client import Pipeline

from shared import keys, messages
from shared.drawing.request import ImageRequest
from shared.errors import FailureKind

FORMAT = "1"
StatusState = Literal["queued", "generating", "preview", "retrying"]
TERMINAL = ("done", "failed")
JOB_EVENTS_TTL = 86400
JOB_EVENTS_MAXLEN = 200
PLATFORM_MAXLEN = 100_000  # approximate; read entries are acknowledged long before this trims them
PLATFORM_MAX_AGE = 3 * 86400  # and entries older than this go, however few: a frontend down longer loses them


@dataclass(frozen=True)
class StatusUpdate:
    state: StatusState
    text: str
    position: int | None = None
    preview: bytes | None = None

    @property
    def short_text(self) -> str:
        """The state inside a chat status line ("queued, #3"), where the full sentence would repeat it."""
        return messages.queued_short(self.position, None) if self.state == "queued" else self.text


@dataclass(frozen=True)
class DeliveredImage:
    key: str  # where the image store keeps it
    data: bytes
    filename: str
    content_type: str
    seed: int | None
    spoiler: bool = False  # flagged by the content check, shown hidden where the platform can


@dataclass(frozen=True)
class JobResult:
    job_id: str
    prompt: str
    model: str
    seconds: float
    images: list[DeliveredImage]
    revised_prompt: str | None = None
    notes: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    idea: str | None = None  # the prompt before the style preset, as thread memory keeps it
    kudos: float = 0.0


@dataclass(frozen=True)
class Failure:
    text: str  # what the member is told
    kind: FailureKind
    detail: str | None = None  # the cause for the operator (which server, which key, what it said)


@dataclass(frozen=True)
class ResultEvent:
    """One entry read back: which job, its request, and exactly one of status, result or failure."""

    job_id: str
    request: ImageRequest
    status: StatusUpdate | None = None
    result: JobResult | None = None
    failure: Failure | None = None

    @property
    def terminal(self) -> bool:
        return self.status is None


class MalformedEntry(ValueError):
    """A stream entry this version cannot read (a bug, or another version's format)."""


class ImagesExpired(LookupError):
    """The result's images left the store before a frontend could post them (it was down that long)."""


def stream_for(request: ImageRequest, job_id: str) -> str:
    """The command line's own stream per job; a chat platform's one stream for all its results."""
    platform = request.requester.platform
    return keys.events(job_id) if platform == "cli" else keys.results(platform)


@dataclass(frozen=True)
class StreamEntry:
    """One event as it goes onto its stream: added in a pipeline (`add`), or by a script (`publish_once`
    in shared/publish.py) from the same parts."""

    stream: str
    fields: dict[str, Any]
    maxlen: int
    ttl: int | None = None  # the command line's per-job streams expire; platform streams are trimmed
    max_age: int | None = None  # seconds: older entries are trimmed too (a count alone keeps them)

    def min_id(self) -> str | None:
        """The oldest entry id the stream keeps after this add, for its time bound."""
        return None if self.max_age is None else str(int((time.time() - self.max_age) * 1000))

    def add(self, pipe: Pipeline) -> None:
        pipe.xadd(self.stream, self.fields, maxlen=self.maxlen, approximate=True)
        if self.ttl is not None:
            pipe.expire(self.stream, self.ttl)
        if self.max_age is not None:
            pipe.xtrim(self.stream, minid=self.min_id(), approximate=True)


def publish_status(pipe: Pipeline, job_id: str, request: ImageRequest, update: StatusUpdate) -> None:
    event = {"type": update.state, "text": update.text, "position": update.position}
    entry(job_id, request, event, preview=update.preview).add(pipe)


def result_entry(request: ImageRequest, result: JobResult) -> StreamEntry:
    images = [
        {
            "key": i.key,
            "filename": i.filename,
            "seed": i.seed,
            "content_type": i.content_type,
            **({"spoiler": True} if i.spoiler else {}),
        }
        for i in result.images
    ]
    event = {
        "type": "done",
        "prompt": result.prompt,
        "idea": result.idea,
        "seconds": result.seconds,
        "model": result.model,
        "images": images,
        "revised_prompt": result.revised_prompt,
        "notes": result.notes,
    }
    return entry(result.job_id, request, event)


def failure_entry(job_id: str, request: ImageRequest, failure: Failure) -> StreamEntry:
    event = {"type": "failed", "text": failure.text, "kind": failure.kind}
    if failure.detail:
        event["detail"] = failure.detail
    return entry(job_id, request, event)


def entry(
    job_id: str, request: ImageRequest, event: dict[str, Any], preview: bytes | None = None
) -> StreamEntry:
    stream = stream_for(request, job_id)
    fields: dict[str, Any] = {"v": FORMAT, "job": job_id, "event": json.dumps(event)}
    if request.requester.platform == "cli":
        return StreamEntry(stream, fields, JOB_EVENTS_MAXLEN, JOB_EVENTS_TTL)
    fields["request"] = request.model_dump_json()
    if preview is not None:
        fields["preview"] = preview
    return StreamEntry(stream, fields, PLATFORM_MAXLEN, max_age=PLATFORM_MAX_AGE)


def decode(fields: dict[bytes, bytes], images: Any) -> ResultEvent:
    """A platform stream entry as an event; `images.get(key)` gives image bytes. Raises MalformedEntry."""
    try:
        if fields[b"v"].decode() != FORMAT:
            raise MalformedEntry(f"format {fields[b'v'].decode()!r}")
        job_id = fields[b"job"].decode()
        event = json.loads(fields[b"event"])
        request = ImageRequest.model_validate_json(fields[b"request"])
        kind = event["type"]
        if kind == "done":
            return ResultEvent(job_id, request, result=_result(job_id, event, images))
        if kind == "failed":
            failure = Failure(event["text"], event["kind"], event.get("detail"))
            return ResultEvent(job_id, request, failure=failure)
        status = StatusUpdate(kind, event["text"], event.get("position"), fields.get(b"preview"))
        return ResultEvent(job_id, request, status=status)
    except ImagesExpired:
        return ResultEvent(job_id, request, failure=Failure(messages.images_expired(), "fault"))
    except MalformedEntry:
        raise
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:  # pydantic's errors are ValueErrors
        raise MalformedEntry(f"{type(exc).__name__}: {exc}"[:300]) from None


def _result(job_id: str, event: dict[str, Any], images: Any) -> JobResult:
    delivered = []
    for image in event["images"]:
        data = images.get(image["key"])
        if data is None:
            raise ImagesExpired(image["key"])
        delivered.append(
            DeliveredImage(
                image["key"],
                data,
                image["filename"],
                image["content_type"],
                image["seed"],
                bool(image.get("spoiler")),
            )
        )
    return JobResult(
        job_id,
        event["prompt"],
        event["model"],
        event["seconds"],
        delivered,
        event.get("revised_prompt"),
        notes=list(event.get("notes") or []),
        idea=event.get("idea"),
    )


def read_job_events(redis: Redis, job_id: str, after: str, block_ms: int) -> list[tuple[str, dict]]:
    """The command line's events for one job after stream id `after` ('0' for all), waiting up to
    `block_ms` for the first."""
    answer = redis.xread({keys.events(job_id): after}, block=block_ms, count=50)
    if not answer:
        return []
    return [(entry_id.decode(), json.loads(fields[b"event"])) for entry_id, fields in answer[0][1]]
