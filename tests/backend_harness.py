"""Running one request through a backend's worker in this process: submit, drain the queue, read back
the events the command line would see. Shared by the backend tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from redis import Redis

from bot.core import ImagineCore
from shared import keys
from shared.drawing.request import ImageRequest
from shared.jobs.queue import job_id_for, queue_name
from tests.helpers import wait_until
from workers.runtime import Runtime
from workers.worker import serve


def submit_and_drain(runtime: Runtime, request: ImageRequest) -> tuple[str, list[dict], ImagineCore]:
    """The job id, its events in order, and the core that submitted it (for quota checks)."""
    core = ImagineCore(runtime.settings, runtime.redis)
    submission = core.submit(request)
    serve(
        runtime,
        [queue_name(request.backend)],
        burst=True,
        name=f"{request.backend}-test",
        logging_level="ERROR",
    )
    entries = runtime.redis.xrange(keys.events(submission.job_id))
    return submission.job_id, [json.loads(fields[b"event"]) for _, fields in entries], core


def cancel_when(redis: Redis, request: ImageRequest, started: Callable[[], object]) -> threading.Thread:
    """The member who cancels `request`'s job once `started()` holds (the backend is drawing it)."""

    def cancel() -> None:
        wait_until(started, timeout=20, what="the backend to start drawing")
        redis.set(keys.stop_requested(job_id_for(request)), "1", ex=60)

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    return thread
