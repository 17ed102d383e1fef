"""The RQ job function and its failure callback: thin entries into the worker's JobRunner."""

from __future__ import annotations

import logging
from types import TracebackType

from redis import Redis
from rq import get_current_job
from rq.job import Job

from shared import messages
from shared.delivery.results import StatusUpdate
from shared.drawing.request import ImageRequest
from shared.errors import BackendUnavailable
from workers.runner import JobRunner
from workers.runtime import CURRENT_RUNTIME

log = logging.getLogger(__name__)


def run_job(request: dict) -> dict:
    """Entry point RQ calls (by name) inside an `imagine worker` process."""
    runtime = CURRENT_RUNTIME.get(None)
    if runtime is None:
        raise RuntimeError("imagine jobs run only inside `imagine worker`, which loads the backend once")
    job = get_current_job()
    assert job is not None
    return JobRunner(runtime).run(job.id, ImageRequest.model_validate(request))


def on_job_failure(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """Called by RQ when an attempt raised or its worker died. Ends the job only after the last attempt."""
    runtime = CURRENT_RUNTIME.get(None)
    request = ImageRequest.model_validate(job.kwargs["request"])
    if runtime is None:
        log.error("job %s failed outside an imagine worker; its quota slot expires on its own", job.id)
        return
    if job.should_retry:
        log.warning("job %s: attempt failed (%s); %s retries left", job.id, exc_type, job.retries_left)
        text = messages.retrying(job.retries_left or 0)
        runtime.publisher.status(job.id, request, StatusUpdate("retrying", text))
        return
    log.error("job %s failed after its last attempt: %s", job.id, exc_type.__name__ if exc_type else "?")
    message = (
        messages.backend_unavailable()
        if isinstance(exc_value, BackendUnavailable)
        else messages.worker_lost()
    )
    detail = str(exc_value) if isinstance(exc_value, BackendUnavailable) else None
    JobRunner(runtime).finish_failed(job.id, request, message, refund=True, detail=detail)
