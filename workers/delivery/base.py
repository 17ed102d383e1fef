"""The one interface every deliverer implements: status updates, final images, a failure reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from redis.client import Pipeline

from shared import messages
from shared.errors import FailureKind
from shared.request import ImageRequest

StatusState = Literal["queued", "generating", "preview", "retrying"]


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


class Deliverer(Protocol):
    """Posts to where a request came from; addressed by what the request carries, never by expiring tokens."""

    def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None: ...

    def result(self, request: ImageRequest, result: JobResult) -> None: ...

    def failure(self, job_id: str, request: ImageRequest, message: str, kind: FailureKind) -> None: ...


@runtime_checkable
class PipelinedDeliverer(Deliverer, Protocol):
    """A deliverer whose posts are Redis writes: they can join the job's own round trips."""

    def status_into(
        self, pipe: Pipeline, job_id: str, request: ImageRequest, update: StatusUpdate
    ) -> None: ...

    def result_into(self, pipe: Pipeline, request: ImageRequest, result: JobResult) -> None: ...

    def failure_into(
        self, pipe: Pipeline, job_id: str, request: ImageRequest, message: str, kind: FailureKind
    ) -> None: ...
