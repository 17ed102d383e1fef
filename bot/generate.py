"""`imagine generate`: the command-line adapter. Submits like a chat command, waits, writes the files."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import redis as redis_lib

from bot.core import ImagineCore, check_request
from bot.embedded import PrivateRedis
from shared import member_images, messages
from shared.errors import BackendUnavailable, ImagineError, failure_error
from shared.image_store import ImageStore
from shared.queue import lane_of, queue_name
from shared.redis_conn import connect
from shared.request import ImageRequest, Requester, RequestOptions
from shared.results import TERMINAL, read_job_events
from shared.settings import Settings


class GenerationFailed(ImagineError):
    """The job ended without images (backend failure, worker lost, no worker, timeout)."""


@dataclass(frozen=True)
class GenerateCommand:
    options: RequestOptions
    user: str
    out: Path
    timeout: float
    images: tuple[Path, ...] = ()  # pictures to start from; several are a blend


def cli_requester(user: str) -> Requester:
    """The command line counts as its own platform, workspace 'local', under the same quotas."""
    return Requester(platform="cli", workspace="local", channel="cli", user=user, user_name=user)


def generate(settings: Settings, command: GenerateCommand, progress: Callable[[str], None]) -> list[Path]:
    """Run one request to the end; returns the written files or raises an ImagineError."""
    cap = settings.config.limits.source_image_bytes
    pictures = [member_images.checked(path.read_bytes(), cap) for path in command.images]
    event_id = f"cli-{uuid.uuid4()}"
    options = dataclasses.replace(
        command.options, sources=member_images.picture_sources(event_id, len(pictures))
    )
    request = check_request(settings, options, requester=cli_requester(command.user), event_id=event_id)
    with ExitStack() as stack:
        client, embedded = _redis_for(settings, stack)
        core = ImagineCore(settings, client)
        if pictures:  # the worker reads them from the store: it may be on another machine
            member_images.keep(core.images, pictures, request.sources, workspace="local")
        outlook = core.queue.outlook(lane_of(request))
        if not embedded and not outlook.live_workers:
            core.check_served(request, core.served_models(request.backend))
            raise GenerationFailed(messages.no_worker(request.backend, outlook.waiting))
        submission = core.submit(request)
        progress(messages.queued(submission.position, submission.eta_seconds))
        wait = _run_embedded_worker(settings, client, request) if embedded else None
        outcome = _wait_for_outcome(core, submission.job_id, command.timeout, progress, wait)
        return _write_images(core.images, outcome, command.out)


def _redis_for(settings: Settings, stack: ExitStack) -> tuple[redis_lib.Redis, bool]:
    """The configured Redis; or, when none is configured and none answers, a private one."""
    try:
        return connect(settings.redis_url), False
    except ImagineError:
        if settings.redis_url_explicit:
            raise
    url = stack.enter_context(PrivateRedis())
    return connect(url), True


def _run_embedded_worker(
    settings: Settings, client: redis_lib.Redis, request: ImageRequest
) -> Callable[[], None]:
    """An in-process worker that drains the queue in this thread whenever the waiter asks."""
    from workers.runtime import build_runtime
    from workers.worker import serve

    served = lane_of(request)
    runtime = build_runtime(
        settings, client, request.backend, models=[request.model] if served != request.backend else None
    )
    queues = [queue_name(served)]
    name = f"embedded-{uuid.uuid4().hex[:8]}"
    return lambda: serve(runtime, queues, burst=True, name=name, logging_level="ERROR")


def _wait_for_outcome(
    core: ImagineCore,
    job_id: str,
    timeout: float,
    progress: Callable[[str], None],
    work: Callable[[], None] | None,
) -> dict:
    """Read the job's events until it is done or failed. Only the worker decides that a job failed."""
    deadline = time.monotonic() + timeout
    last = "0"
    while time.monotonic() < deadline:
        if work is not None:
            work()
        block_ms = max(1, int(min(1.0, deadline - time.monotonic()) * 1000))
        for entry_id, event in read_job_events(core.redis, job_id, last, block_ms):
            last = entry_id
            if event["type"] in TERMINAL:
                return event
            progress(event.get("text") or "")
    raise GenerationFailed(messages.still_running(job_id, timeout))


def _write_images(store: ImageStore, outcome: dict, out: Path) -> list[Path]:
    if outcome["type"] == "failed":
        text = outcome["text"]
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
