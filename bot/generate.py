"""`imagine generate`: the command-line adapter. Submits like a chat command, waits, writes the files."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.checking import check_request
from bot.core import ImagineCore
from bot.embedded import is_local
from shared import messages
from shared.configuration.settings import Settings
from shared.delivery.results import TERMINAL, read_job_events
from shared.drawing.references import Control, Reference
from shared.drawing.request import ImageRequest, RequestOptions
from shared.drawing.requester import Requester
from shared.errors import BackendUnavailable, ImagineError, failure_error
from shared.imaging import member_images
from shared.imaging.image_store import ImageStore
from shared.jobs.queue import lane_of, queue_name
from shared.ops.redis_conn import connect


class GenerationFailed(ImagineError):
    """The job ended without images (backend failure, worker lost, no worker, timeout)."""


@dataclass(frozen=True)
class GenerateCommand:
    options: RequestOptions
    user: str
    out: Path
    timeout: float
    images: tuple[Path, ...] = ()  # pictures to start from; several are a blend
    mask: Path | None = None  # where to repaint the picture (white), the rest kept
    references: tuple[tuple[str, Path], ...] = ()  # ("style" | "character", a picture)
    control: tuple[str, Path] | None = None  # ("canny" | "depth" | "pose", a picture)
    workspace: str = "local"  # the community it is submitted as (--workspace)


def cli_requester(user: str, workspace: str = "local") -> Requester:
    """The command line counts as its own platform, in workspace `workspace` ("local" unless an
    operator submits as a community: `--workspace club-a`, quotas and fair share "cli:club-a")."""
    return Requester(platform="cli", workspace=workspace, channel="cli", user=user, user_name=user)


def generate(settings: Settings, command: GenerateCommand, progress: Callable[[str], None]) -> list[Path]:
    """Run one request to the end; returns the written files or raises an ImagineError. `settings`
    name the Redis to use (bot.embedded.resolve_redis); on this machine's own Redis with no worker
    serving the job, a worker process drains the queue for it."""
    cap = settings.config.limits.source_image_bytes
    pictures = [member_images.checked(path.read_bytes(), cap) for path in command.images]
    event_id = f"cli-{uuid.uuid4()}"
    extra = [
        *([command.mask] if command.mask is not None else []),
        *(path for _, path in command.references),
        *([command.control[1]] if command.control is not None else []),
    ]
    stored = member_images.picture_sources(event_id, len(pictures) + len(extra))
    pictures.extend(member_images.checked(path.read_bytes(), cap) for path in extra)  # kept beside them
    kept = list(stored[len(command.images) :])
    mask = kept.pop(0) if command.mask is not None else None
    control = None
    if command.control is not None:
        control = Control(kind=command.control[0], image=kept.pop())  # type: ignore[arg-type]
    references = tuple(
        Reference(kind=kind, image=source)  # type: ignore[arg-type]
        for (kind, _), source in zip(command.references, kept, strict=True)
    )
    sources = stored[: len(command.images)]
    options = dataclasses.replace(
        command.options, sources=sources, mask=mask, references=references, control=control
    )
    requester = cli_requester(command.user, command.workspace)
    request = check_request(settings, options, requester=requester, event_id=event_id)
    client = connect(settings.redis_url)
    core = ImagineCore(settings, client)
    if pictures:  # the worker reads them from the store: it may be on another machine
        member_images.keep(core.images, pictures, stored, workspace="local")
    outlook = core.queue.outlook(lane_of(request))
    helper: _BurstWorker | None = None
    if not outlook.live_workers:
        core.check_served(request, core.served_models(request.backend))
        if not is_local(settings):
            raise GenerationFailed(messages.no_worker(request.backend, outlook.waiting))
    submission = core.submit(request)
    progress(messages.queued(submission.position, submission.eta_seconds))
    if not outlook.live_workers:
        helper = _BurstWorker(settings, request)
    try:
        outcome = _wait_for_outcome(core, submission.job_id, command.timeout, progress, helper)
    finally:
        if helper is not None:
            helper.leave()
    return _write_images(core.images, outcome, command.out)


class _BurstWorker:
    """`imagine worker --burst` for this job's lane, in a process of its own: the command's deadline
    holds whatever the backend does, and a job still drawing at the deadline is finished by it (or,
    were it killed, run again by the next worker) — never lost."""

    def __init__(self, settings: Settings, request: ImageRequest) -> None:
        lane = lane_of(request)
        models = ["--models", request.model] if lane != request.backend and request.model else []
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", "--backend", request.backend, "--burst",
             "--queues", queue_name(lane), "--log-level", "ERROR", *models],
            env={**os.environ, "REDIS_URL": settings.redis_url},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )  # fmt: skip

    def check(self) -> None:
        """Raise with the worker's own words when it stopped without serving the job."""
        code = self._process.poll()
        if code not in (None, 0):
            self._log.seek(0)
            said = [line for line in self._log.read().decode(errors="replace").splitlines() if line.strip()]
            last = said[-1].removeprefix("imagine: ") if said else f"the worker exited {code}"
            raise GenerationFailed(last)

    def leave(self) -> None:
        """Done waiting: a worker still busy finishes its job and exits (burst) on its own."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)


def _wait_for_outcome(
    core: ImagineCore,
    job_id: str,
    timeout: float,
    progress: Callable[[str], None],
    helper: _BurstWorker | None,
) -> dict:
    """Read the job's events until it is done or failed. Only the worker decides that a job failed."""
    deadline = time.monotonic() + timeout
    last = "0"
    while time.monotonic() < deadline:
        block_ms = max(1, int(min(1.0, deadline - time.monotonic()) * 1000))
        for entry_id, event in read_job_events(core.redis, job_id, last, block_ms):
            last = entry_id
            if event["type"] in TERMINAL:
                return event
            progress(event.get("text") or "")
        if helper is not None:
            helper.check()
    raise GenerationFailed(messages.still_running(job_id, timeout))


def _write_images(store: ImageStore, outcome: dict, out: Path) -> list[Path]:
    if outcome["type"] == "failed":
        text = outcome["text"]
        if outcome.get("detail"):  # the operator at the command line gets the cause too
            text = f"{text} ({outcome['detail']})"
        raise failure_error(outcome.get("kind", "fault"), text) or GenerationFailed(text)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in outcome["images"]:
        data = store.get(image["key"])
        if data is None:
            raise BackendUnavailable("the finished image expired from storage before it could be saved")
        path = out / image["filename"]
        path.write_bytes(data)
        paths.append(path)
    return paths
