"""One job from request to delivered images: pipeline -> backend -> store -> thread memory -> deliver."""

from __future__ import annotations

import json
import logging
import time

from rq.job import Job

from shared import keys, messages
from shared.errors import BackendRefused, BackendUnavailable, DeliveryImpossible, InvalidRequest
from shared.images import encode_png
from shared.queue import SERIALIZER
from shared.request import ImageRequest
from shared.threads import Turn, thread_key
from workers import prompts
from workers.delivery import DeliveredImage, Deliverer, JobResult, StatusUpdate
from workers.runtime import Runtime

log = logging.getLogger(__name__)
POSITIONS_ANNOUNCED = 5  # how many waiting jobs hear that the queue moved when a job starts


class JobRunner:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    def run(self, job_id: str, request: ImageRequest) -> dict:
        """Make and deliver the images; errors that retrying cannot fix end the job here, once."""
        rt = self._rt
        if rt.ledger.is_delivered(job_id):  # a retry after the answer went out: nothing left to do
            return {"status": "delivered", "job_id": job_id}
        try:
            deliverer = rt.deliverers.for_platform(request.requester.platform)
        except DeliveryImpossible:
            return self.finish_failed(job_id, request, messages.delivery_impossible(), refund=True, notify=False)
        self._announce_queue_moved(request.backend)
        deliverer.status(job_id, request, StatusUpdate("generating", messages.generating()))
        started = time.monotonic()
        try:
            result = self._make_images(job_id, request, started)
            self._remember_turn(job_id, request, result)
            rt.ledger.once(job_id, lambda: deliverer.result(request, result))
        except BackendRefused:
            return self.finish_failed(job_id, request, messages.backend_refused(), refund=False)
        except BackendUnavailable as exc:
            if exc.transient:
                raise  # RQ retries with backoff; on_job_failure ends it after the last attempt
            log.error("job %s: backend unavailable: %s", job_id, exc)
            return self.finish_failed(job_id, request, messages.backend_unavailable(), refund=True)
        except InvalidRequest as exc:
            return self.finish_failed(job_id, request, str(exc), refund=True)
        except DeliveryImpossible as exc:
            log.warning("job %s: cannot deliver: %s", job_id, exc)
            return self.finish_failed(job_id, request, messages.delivery_impossible(), refund=True, notify=False)
        rt.queue.record_duration(request.backend, result.seconds)
        rt.quota.release(request.requester, job_id)
        return {"status": "done", "job_id": job_id, "images": [i.key for i in result.images]}

    def finish_failed(
        self, job_id: str, request: ImageRequest, message: str, *, refund: bool, notify: bool = True
    ) -> dict:
        """The one way a job ends without images: quota back (or just the slot), the user told once."""
        rt = self._rt
        if refund:
            rt.quota.refund(request.requester, job_id)
        else:
            rt.quota.release(request.requester, job_id)
        if notify:
            try:
                deliverer = rt.deliverers.for_platform(request.requester.platform)
                rt.ledger.once(job_id, lambda: deliverer.failure(job_id, request, message))
            except DeliveryImpossible:
                log.warning("job %s: failed and the user could not be told: %s", job_id, message)
        return {"status": "failed", "job_id": job_id, "message": message}

    def _make_images(self, job_id: str, request: ImageRequest, started: float) -> JobResult:
        """Generate, or reuse what an earlier attempt of this job already generated and stored."""
        rt = self._rt
        earlier = self._generated_earlier(job_id)
        if earlier is not None:
            return earlier
        task = prompts.prepare(request, rt.settings.config.presets)
        generation = rt.backend.generate(task)
        seconds = time.monotonic() - started
        images = []
        for index, generated in enumerate(generation.images):
            metadata = {
                "prompt": task.prompt,
                "negative": task.negative,
                "seed": generated.seed,
                "model": generation.model,
                "size": f"{generated.image.width}x{generated.image.height}",
                "job_id": job_id,
                "revised_prompt": generation.revised_prompt,
            }
            data = encode_png(generated.image, metadata)
            key = keys.image(job_id, index)
            rt.store.put(key, data)
            images.append(DeliveredImage(key, data, f"{job_id}-{index + 1}.png", "image/png", generated.seed))
        result = JobResult(
            job_id=job_id,
            prompt=task.prompt,
            model=generation.model,
            seconds=seconds,
            images=images,
            revised_prompt=generation.revised_prompt,
        )
        summary = {
            "prompt": result.prompt,
            "model": result.model,
            "seconds": seconds,
            "revised_prompt": result.revised_prompt,
            "images": [{"key": i.key, "filename": i.filename, "seed": i.seed} for i in images],
        }
        rt.redis.set(
            keys.generated(job_id), json.dumps(summary), ex=rt.settings.config.storage.image_ttl_seconds
        )
        return result

    def _generated_earlier(self, job_id: str) -> JobResult | None:
        raw = self._rt.redis.get(keys.generated(job_id))
        if raw is None:
            return None
        summary = json.loads(raw)
        images = []
        for item in summary["images"]:
            data = self._rt.store.get(item["key"])
            if data is None:
                return None
            images.append(DeliveredImage(item["key"], data, item["filename"], "image/png", item["seed"]))
        return JobResult(
            job_id=job_id,
            prompt=summary["prompt"],
            model=summary["model"],
            seconds=summary["seconds"],
            images=images,
            revised_prompt=summary["revised_prompt"],
        )

    def _remember_turn(self, job_id: str, request: ImageRequest, result: JobResult) -> None:
        key = thread_key(request.requester)
        if key is None:
            return
        turn = Turn.from_request(
            job_id,
            request,
            seeds=[i.seed for i in result.images],
            images=[i.key for i in result.images],
            model=result.model,
            revised_prompt=result.revised_prompt,
        )
        self._rt.threads.record(key, turn)

    def _announce_queue_moved(self, backend: str) -> None:
        """Tell the first few waiting jobs their new place, so no queued job sits silent."""
        rt = self._rt
        waiting = rt.queue.waiting(backend, POSITIONS_ANNOUNCED)
        if not waiting:
            return
        for position, job in enumerate(Job.fetch_many(waiting, connection=rt.redis, serializer=SERIALIZER), 1):
            if job is None:
                continue
            request = ImageRequest.model_validate(job.kwargs["request"])
            text = messages.queued(position, rt.queue.eta(backend, position))
            try:
                deliverer: Deliverer = rt.deliverers.for_platform(request.requester.platform)
                deliverer.status(job.id, request, StatusUpdate("queued", text, position=position))
            except Exception:  # a courtesy update must never fail the job that is starting
                log.exception("could not update the queue position of job %s", job.id)
