"""From an admitted request to an RQ job: idempotent ids, unique enqueue, retries, positions, ETA."""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry, Worker
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from shared import keys
from shared.configuration.config import JobsConfig, QuotaConfig
from shared.drawing.backends import BACKENDS
from shared.drawing.request import ImageRequest
from shared.jobs import fair
from shared.jobs.recovery import count_live_workers
from shared.jobs.round_trips import SharedRoundTrips
from shared.quotas.quota import Admission, Quota

# A queue's length and its live workers (RQ's set of the queue's workers holds rq:worker:<name>; each
# live one keeps our liveness key) in one round trip. It reads liveness keys it cannot declare up
# front, which standalone Redis (all RQ supports) allows.
_OUTLOOK = """
local live = 0
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[2] .. string.sub(worker, #ARGV[1] + 1)) == 1 then live = live + 1 end
end
return {redis.call('LLEN', KEYS[1]), live}
"""

QUEUE_PREFIX = "imagine-"
JOB_FUNCTION = "workers.job.run_job"
FAILURE_CALLBACK = "workers.job.on_job_failure"
SERIALIZER = JSONSerializer
DURATION_SAMPLES = 50
_FINISHED_STATES = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}


def lane(backend: str, model: str | None = None) -> str:
    """Which queue a job waits in: its backend's, or, for a backend with a queue per model (diffusers
    with [diffusers.models]), that model's ("diffusers.sdxl"), so a worker only takes jobs for
    the models it has loaded. The queue functions below take a lane wherever they say `backend`."""
    spec = BACKENDS.get(backend)
    return f"{backend}.{model}" if spec is not None and spec.queue_per_model and model else backend


def lane_of(request: ImageRequest) -> str:
    return lane(request.backend, request.model)


def queue_name(backend: str) -> str:
    return f"{QUEUE_PREFIX}{backend}"


def queue_key(backend: str) -> str:
    """The Redis list RQ keeps the backend's waiting job ids in."""
    return f"{Queue.redis_queue_namespace_prefix}{queue_name(backend)}"


def known_lanes(redis: Redis) -> list[str]:
    """Every backend's lane, and each model's lane RQ has seen a job on (its registry of queues) or a
    registered worker serves (a worker started with --models a,b serves them before any job)."""
    names = {
        key.decode().removeprefix(Queue.redis_queue_namespace_prefix)
        for key in redis.smembers(Queue.redis_queues_keys)
    }
    pipe = redis.pipeline(transaction=False)
    for worker_key in redis.smembers(Worker.redis_workers_keys):
        pipe.hget(worker_key, "queues")
    names |= {name for queues in pipe.execute() if queues for name in queues.decode().split(",")}
    lanes = {name.removeprefix(QUEUE_PREFIX) for name in names if name.startswith(QUEUE_PREFIX)}
    return [*BACKENDS, *sorted(lanes - set(BACKENDS))]


MODEL_FAILURE_SECONDS = 7 * 86400  # a failure is told this long, unless a worker loads the model


def record_model_loads(redis: Redis, backend: str, served: list[str], failed: dict[str, str]) -> None:
    """What a worker with a queue per model loaded at its start: each failure (with why) is kept for
    health, doctor and members; a model it serves clears an earlier failure."""
    pipe = redis.pipeline(transaction=False)
    for model in served:
        pipe.delete(keys.model_failed(lane(backend, model)))
    for model, reason in failed.items():
        pipe.set(keys.model_failed(lane(backend, model)), reason, ex=MODEL_FAILURE_SECONDS)
    pipe.execute()


def model_failures(redis: Redis, lanes: list[str]) -> dict[str, str]:
    """lane -> why its model did not load, for the lanes whose model failed on a worker."""
    reasons = redis.mget([keys.model_failed(name) for name in lanes]) if lanes else []
    return {name: reason.decode() for name, reason in zip(lanes, reasons, strict=True) if reason}


def job_id_for(request: ImageRequest) -> str:
    """The same platform event always maps to the same job id: that is what makes submit idempotent."""
    who = request.requester
    # The rules' workspace: a request whose conversation moves (private results) keeps its id.
    digest = hashlib.sha256(f"{who.platform}\0{who.rules_workspace}\0{request.event_id}".encode()).hexdigest()
    return f"img-{digest[:32]}"


@dataclass(frozen=True)
class QueueOutlook:
    """What a job about to be enqueued can expect: how many wait before it, how many workers serve it."""

    waiting: int
    live_workers: int

    @property
    def position(self) -> int:
        return self.waiting + 1


@dataclass(frozen=True)
class Submission:
    job_id: str
    duplicate: bool
    position: int | None
    eta_seconds: float | None


class JobQueue:
    """Submits requests as RQ jobs and answers where a job stands."""

    def __init__(self, redis: Redis, jobs: JobsConfig, quota: QuotaConfig | None = None) -> None:
        self._redis = redis
        self._jobs = jobs
        self._shares = quota or QuotaConfig()  # each community's share of the lane (shared/jobs/fair.py)

    def queue(self, backend: str) -> Queue:
        return Queue(queue_name(backend), connection=self._redis, serializer=SERIALIZER)

    def admit(
        self,
        request: ImageRequest,
        quota: Quota,
        *,
        pending_seconds: int = 0,
        before: Callable[[Pipeline], None] | None = None,
    ) -> Admission:
        """Charge the quota for `request` (once per event) without enqueueing it yet.

        A chat frontend admits before it answers publicly (a refusal must stay private), then opens
        the thread and enqueues. `pending_seconds` keeps the concurrency slot counted as alive that
        long, so a second request meanwhile cannot heal it away as a leak. `before` joins the same
        round trip (see Quota.admit).
        """
        job_id = job_id_for(request)
        first = self._before_admission(job_id, pending_seconds, before)
        return quota.admit(
            request.requester, job_id, request.count, is_job_alive=self.is_active, before=first
        )

    async def admit_async(
        self,
        round_trips: SharedRoundTrips,
        request: ImageRequest,
        quota: Quota,
        *,
        pending_seconds: int = 0,
        before: Callable[[Pipeline], None] | None = None,
    ) -> Admission:
        """`admit` over redis.asyncio, for event loops (see Quota.admit_async)."""
        job_id = job_id_for(request)
        first = self._before_admission(job_id, pending_seconds, before)
        return await quota.admit_async(
            round_trips, request.requester, job_id, request.count, is_job_alive=self.is_active, before=first
        )

    @staticmethod
    def _before_admission(
        job_id: str, pending_seconds: int, before: Callable[[Pipeline], None] | None
    ) -> Callable[[Pipeline], None]:
        def first(pipe: Pipeline) -> None:
            if before is not None:
                before(pipe)
            if pending_seconds:
                pipe.set(keys.pending(job_id), "1", ex=pending_seconds)

        return first

    def enqueue(self, request: ImageRequest) -> Submission:
        """Enqueue an admitted request; whoever enqueues first owns the job."""
        job_id = job_id_for(request)
        # A duplicate whose first submitter died between admission and enqueue enqueues it now.
        duplicate = not self._enqueue(job_id, request)
        position, eta = self.standing(job_id, lane_of(request))
        return Submission(job_id, duplicate, position, eta)

    def length(self, backend: str) -> int:
        """How many jobs wait in the backend's queue."""
        return int(self._redis.llen(queue_key(backend)))

    def outlook(self, backend: str) -> QueueOutlook:
        """The queue's length and its live workers, for the first status of a new job."""
        return QueueOutlook(self.length(backend), count_live_workers(self._redis, queue_name(backend)))

    async def outlook_async(self, round_trips: SharedRoundTrips, backend: str) -> QueueOutlook:
        """`outlook` from an event loop: one script in the loop's shared round trips."""
        script_keys = [queue_key(backend), WORKERS_BY_QUEUE_KEY % queue_name(backend)]
        script_args = [Worker.redis_worker_namespace_prefix, keys.worker_alive("")]
        [reply] = _replies(
            await round_trips.run(
                lambda pipe: pipe.eval(_OUTLOOK, len(script_keys), *script_keys, *script_args)
            )
        )
        length, live = reply
        return QueueOutlook(int(length), int(live))

    def _enqueue(self, job_id: str, request: ImageRequest) -> bool:
        queue = self.queue(lane_of(request))
        try:
            queue.enqueue_call(
                JOB_FUNCTION,
                kwargs={"request": request.model_dump(mode="json")},
                job_id=job_id,
                unique=True,
                timeout=self._jobs.timeout_seconds.get(
                    request.backend, BACKENDS[request.backend].timeout_seconds
                ),
                result_ttl=self._jobs.result_ttl_seconds,
                failure_ttl=self._jobs.result_ttl_seconds,
                retry=Retry(max=self._jobs.retries, interval=self._jobs.retry_intervals)
                if self._jobs.retries
                else None,
                on_failure=Callback(FAILURE_CALLBACK),
                description=f"{request.kind} for {request.requester.user_key}",
            )
        except DuplicateJobError:
            return False
        # in fair order among the communities waiting on the lane, not behind all of them
        requester = request.requester
        fair.place(
            self._redis,
            queue.key,
            lane_of(request),
            job_id,
            requester.workspace_key,
            self._shares.share_of(requester.workspace_key),
        )
        return True

    def fetch(self, job_id: str) -> Job | None:
        try:
            return Job.fetch(job_id, connection=self._redis, serializer=SERIALIZER)
        except NoSuchJobError:
            return None

    def is_active(self, job_id: str) -> bool:
        """Queued, scheduled for a retry or running: it still holds its concurrency slot."""
        job = self.fetch(job_id)
        if job is None:
            return bool(self._redis.exists(keys.pending(job_id)))  # admitted, being enqueued
        return job.get_status(refresh=False) not in _FINISHED_STATES

    def standing(self, job_id: str, backend: str) -> tuple[int | None, float | None]:
        """The job's place in its queue and the seconds until it is done, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.lpos(self.queue(backend).key, job_id)
        self._queue_eta_inputs(pipe, backend)
        index, samples, workers = pipe.execute()
        position = None if index is None else index + 1
        return position, _eta(position, samples, workers)

    def waiting(self, backend: str, limit: int) -> list[str]:
        """The ids of the first `limit` jobs still waiting, front first."""
        return [i.decode() for i in self._redis.lrange(self.queue(backend).key, 0, limit - 1)]

    def record_duration(self, backend: str, seconds: float, pipe: Pipeline | None = None) -> None:
        """Remember a generation time for ETAs; with `pipe`, as part of it."""
        target = pipe if pipe is not None else self._redis.pipeline(transaction=False)
        target.lpush(keys.durations(backend), f"{seconds:.3f}")
        target.ltrim(keys.durations(backend), 0, DURATION_SAMPLES - 1)
        if pipe is None:
            target.execute()

    def etas(self, backend: str, positions: int) -> list[float | None]:
        """The ETAs of places 1..`positions`, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        self._queue_eta_inputs(pipe, backend)
        samples, workers = pipe.execute()
        return [_eta(position, samples, workers) for position in range(1, positions + 1)]

    def _queue_eta_inputs(self, pipe, backend: str) -> None:
        pipe.lrange(keys.durations(backend), 0, DURATION_SAMPLES - 1)
        pipe.scard(WORKERS_BY_QUEUE_KEY % queue_name(backend))


def _eta(position: int | None, samples: list[bytes], workers: int) -> float | None:
    if position is None or not samples:
        return None
    per_job = statistics.median(float(x) for x in samples)
    return per_job * (1 + (position - 1) / max(1, workers))


def _replies(replies: list) -> list:
    """Shared round trips return errors as values: raise the first."""
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies
