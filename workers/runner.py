"""One job from request to published images: pipeline -> backend -> store -> thread memory -> publish.

The worker never posts to a chat platform: it publishes result events (shared/publish.py), and the
platform's own frontends post them.

Round trips to Redis are the cost that matters at zero generation cost, so the common path batches
its bookkeeping: one pipeline before generating and one after delivering.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time

from PIL import Image
from redis.client import Pipeline
from rq.job import Job

from shared import keys, messages
from shared.delivery.publish import PipelineStep
from shared.delivery.results import DeliveredImage, Failure, JobResult, StatusUpdate, publish_status
from shared.drawing.backends import BACKENDS
from shared.drawing.request import ImageRequest
from shared.drawing.sources import SourceImage
from shared.errors import BackendRefused, BackendUnavailable, Cancelled, FailureKind, InvalidRequest
from shared.imaging import member_images
from shared.imaging.image_store import ImageTooLarge
from shared.imaging.images import encode_png, read_metadata
from shared.jobs import fair
from shared.jobs.queue import SERIALIZER, lane_of
from shared.members import gallery
from shared.members.threads import Turn, thread_key
from shared.ops.logs import job_state
from shared.quotas.refusals import RefusalCounter
from workers import edits, upscaling
from workers.backends.base import Generation, GenerationTask
from workers.runtime import Runtime

log = logging.getLogger(__name__)
EDIT_KINDS = {"refine", "variation", "upscale", "zoom", "pan", "square", "region"}
POSITIONS_ANNOUNCED = 5  # how many waiting jobs hear that the queue moved when a job starts
PNG = "image/png"


class AllWithheld(Exception):
    """Every image of a job was withheld by the content check."""


class JobRunner:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    def run(self, job_id: str, request: ImageRequest) -> dict:
        """Make and publish the images; errors that retrying cannot fix end the job here, once."""
        rt = self._rt
        generating = StatusUpdate("generating", messages.generating())

        def tell_generating(pipe: Pipeline) -> None:
            publish_status(pipe, job_id, request, generating)
            fair.started(pipe, lane_of(request), job_id)  # the lane's fair clock moves to this job

        delivered, announce, generated_before = self._look_around(
            job_id, lane_of(request), also=tell_generating
        )
        if delivered:  # a retry after the answer went out: nothing left to do
            return {"status": "delivered", "job_id": job_id}
        platform, backend = request.requester.platform, request.backend
        waited = max(0.0, time.time() - request.submitted_at)
        rt.metrics.jobs.labels("started", platform, backend).inc()
        rt.metrics.queue_wait.labels(backend).observe(waited)
        job_state("started", job_id, request, waited_s=round(waited, 3))
        if announce:
            self._announce_queue_moved(lane_of(request))
        try:
            stored = self._stored_result(job_id, request) if generated_before else None
            result = stored or self._generate(job_id, request)
            self._remember_turn(job_id, request, result)

            def store(pipe: Pipeline) -> None:
                if stored is None:
                    rt.store.put_many(
                        {image.key: image.data for image in result.images},
                        pipe=pipe,
                        workspace=request.requester.workspace_key,
                    )

            def settle(pipe: Pipeline) -> None:
                rt.queue.record_duration(lane_of(request), result.seconds, pipe=pipe)
                gallery.record(pipe, request, result)
                rt.quota.release(request.requester, job_id, pipe=pipe)
                if stored is None and (result.cost_usd or result.kudos):
                    rt.costs.record(
                        request.requester, result.cost_usd, len(result.images), pipe=pipe, kudos=result.kudos
                    )

            rt.publisher.result_once(request, result, before=store, also=settle)
        except AllWithheld:
            return self.finish_failed(
                job_id, request, messages.all_withheld_by_policy(), refund=True, kind="refused"
            )
        except Cancelled:
            return self.finish_failed(job_id, request, messages.cancelled(), refund=True, kind="cancelled")
        except BackendRefused:
            rt.metrics.backend_errors.labels(backend, "refused").inc()
            return self.finish_failed(
                job_id, request, messages.backend_refused(), refund=False, kind="refused"
            )
        except BackendUnavailable as exc:
            rt.metrics.backend_errors.labels(backend, "transient" if exc.transient else "unavailable").inc()
            if exc.transient:
                job_state("retrying", job_id, request, reason=type(exc).__name__)
                raise  # RQ retries with backoff; on_job_failure ends it after the last attempt
            log.error("job %s: backend unavailable: %s", job_id, exc)
            return self.finish_failed(
                job_id, request, messages.backend_unavailable(), refund=True, detail=str(exc)
            )
        except InvalidRequest as exc:
            return self.finish_failed(job_id, request, str(exc), refund=True, kind="invalid")
        except ImageTooLarge as exc:
            log.error("job %s: %s", job_id, exc)
            return self.finish_failed(
                job_id, request, messages.image_too_large(), refund=True, kind="invalid"
            )
        except Exception as exc:  # a Redis blip or a bug: RQ retries the job
            job_state("retrying", job_id, request, reason=type(exc).__name__)
            raise
        rt.metrics.jobs.labels("done", platform, backend).inc()
        rt.metrics.generation.labels(backend).observe(result.seconds)
        if result.cost_usd and stored is None:
            rt.metrics.cost.labels(backend).inc(result.cost_usd)
        job_state("done", job_id, request, generation_s=round(result.seconds, 3), images=len(result.images))
        return {"status": "done", "job_id": job_id, "images": [i.key for i in result.images]}

    def finish_failed(
        self,
        job_id: str,
        request: ImageRequest,
        message: str,
        *,
        refund: bool,
        kind: FailureKind = "fault",
        detail: str | None = None,
    ) -> dict:
        """The one way a job ends without images: quota back (or just the slot), the user told once,
        with `kind` saying whether it was a refusal, bad input or a fault."""
        rt = self._rt
        rt.metrics.jobs.labels("failed", request.requester.platform, request.backend).inc()
        job_state("failed", job_id, request, refunded=refund)
        if refund:
            rt.quota.refund(request.requester, job_id)
        else:
            rt.quota.release(request.requester, job_id)
        rt.publisher.failure_once(job_id, request, Failure(message, kind, detail))
        return {"status": "failed", "job_id": job_id, "message": message, "kind": kind}

    def _look_around(self, job_id: str, backend: str, also: PipelineStep) -> tuple[bool, bool, bool]:
        """In one round trip: delivered already? our turn to announce queue positions? images stored?"""
        interval = self._rt.settings.config.jobs.position_update_ms
        pipe = self._rt.redis.pipeline(transaction=False)
        pipe.exists(keys.delivered(job_id))
        pipe.set(keys.announced(backend), "1", nx=True, px=max(1, interval))
        pipe.exists(keys.image(job_id, 0))
        also(pipe)
        delivered, announce, stored = pipe.execute()[:3]
        return bool(delivered), bool(announce) or interval == 0, bool(stored)

    def _generate(self, job_id: str, request: ImageRequest) -> JobResult:
        """Run the pipeline and the backend; the images carry their parameters in the files."""
        rt = self._rt
        started = time.monotonic()
        prepared = rt.prompts.prepare(request)
        task = prepared.task.model_copy(
            update={
                "on_preview": lambda data: self._preview(job_id, request, data),
                "on_progress": lambda text: self._progress(job_id, request, text),
                "nsfw_allowed": request.requester.channel_nsfw,
                "stop_requested": lambda: bool(rt.redis.exists(keys.stop_requested(job_id))),
            }
        )
        task.check_stop()  # cancelled between being taken from the queue and being drawn
        task, source_note = self._with_source_image(request, task)
        if request.references:  # read like the member's pictures: from the store
            pictures = [(r.kind, self._member_picture(request, r.image)) for r in request.references]
            task = task.model_copy(update={"reference_pictures": pictures})
        if request.control is not None:
            control = self._member_picture(request, request.control.image)
            task = task.model_copy(update={"control_picture": control})
        task, finish = edits.on_canvas(request, task, lambda: self._member_mask(request))
        if request.upscale is not None:
            generation = upscaling.upscale(rt.backend, request, task)
        else:
            generation = rt.backend.generate(task)
        if request.canvas is not None or request.mask is not None or request.region:
            kept = [dataclasses.replace(image, image=finish(image.image)) for image in generation.images]
            generation = dataclasses.replace(generation, images=kept)
        if generation.withheld:  # by the backend's own check (the Horde's censor, a safety checker)
            rt.metrics.withheld.labels(request.backend).inc(generation.withheld)
        generation, policy_note = self._checked(request, generation)
        seconds = time.monotonic() - started
        revised_prompt = generation.revised_prompt or prepared.revised_prompt
        images = []
        for index, generated in enumerate(generation.images):
            metadata = {
                "prompt": task.prompt,
                "idea": task.idea,
                "negative": task.negative,
                "seed": generated.seed,
                "model": generation.model,
                "size": f"{generated.image.width}x{generated.image.height}",
                "job_id": job_id,
                "revised_prompt": revised_prompt,
                "seconds": round(seconds, 3),
                **generation.parameters,
            }
            data = encode_png(generated.image, metadata)
            images.append(
                DeliveredImage(
                    keys.image(job_id, index),
                    data,
                    _filename(job_id, index),
                    PNG,
                    generated.seed,
                    generated.spoiler,
                )
            )
        return JobResult(
            job_id,
            task.prompt,
            generation.model,
            seconds,
            images,
            revised_prompt,
            notes=[*prepared.notes, *source_note, *generation.notes, *policy_note],
            cost_usd=generation.cost_usd,
            kudos=generation.kudos,
            idea=task.idea,
        )

    def _checked(self, request: ImageRequest, generation: Generation) -> tuple[Generation, list[str]]:
        """Each image through the content check before anything is stored or posted: a flagged one
        is withheld (counted by rule for operators), and when none is left the job is refused and
        refunded."""
        rt = self._rt
        if not generation.images and generation.withheld:  # the backend's own check took them all
            raise AllWithheld("backend")
        verdict = rt.image_check.check(request, [image.image for image in generation.images])
        if not verdict.count:
            return generation, []
        for rule in filter(None, verdict.withheld):
            RefusalCounter(rt.redis).count(request.requester, f"image:{rule}")
        total, judged = len(generation.images), list(zip(generation.images, verdict.withheld, strict=True))
        if rt.settings.config.moderation.flagged_images == "spoiler" and request.requester.hides_images:
            hidden = [dataclasses.replace(image, spoiler=rule is not None) for image, rule in judged]
            return dataclasses.replace(generation, images=hidden), [
                messages.hidden_by_policy(verdict.count, total)
            ]
        rt.metrics.withheld.labels(request.backend).inc(verdict.count)
        kept = [image for image, rule in judged if rule is None]
        if not kept:
            raise AllWithheld(verdict.withheld[0] or "")
        return dataclasses.replace(generation, images=kept), [
            messages.withheld_by_policy(verdict.count, total)
        ]

    def _with_source_image(
        self, request: ImageRequest, task: GenerationTask
    ) -> tuple[GenerationTask, list[str]]:
        """Refinements and variations start from the parent image where the backend can edit;
        otherwise they are drawn afresh from the prompt, and once the image is gone from the store the
        member is told so (with the store that would have kept it). A member's own pictures are
        fetched safely (shared/member_images.py); several are a blend, handed over as they are to a
        backend that takes several, else averaged into one starting image."""
        can = BACKENDS[request.backend].capabilities
        reads_picture = can.edit or request.upscale is not None  # a subtle upscale needs no editing
        if request.sources:
            if not reads_picture:
                raise InvalidRequest(messages.backend_draws_from_words(request.backend))
            pictures = [self._member_picture(request, source) for source in request.sources]
            if len(pictures) > 1 and can.several_images:
                return task.model_copy(update={"init_image": pictures[0], "more_images": pictures[1:]}), []
            if len(pictures) > 1:
                pictures = [member_images.composite(pictures, (task.width, task.height))]
            return task.model_copy(update={"init_image": pictures[0]}), []
        if request.parent_job_id is None or request.kind not in EDIT_KINDS or not reads_picture:
            return task, []
        data = self._rt.store.get(keys.image(request.parent_job_id, request.parent_image_index or 0))
        if data is None:
            return task, [messages.source_image_gone(durable=self._rt.store.durable)]
        return task.model_copy(update={"init_image": Image.open(io.BytesIO(data)).convert("RGB")}), []

    def _member_picture(self, request: ImageRequest, source: SourceImage) -> Image.Image:
        """One of the member's pictures: fetched from the platform's file host, or kept by a frontend."""
        settings = self._rt.settings
        if source.key is not None:
            data = self._rt.store.get(source.key)
            if data is None:
                raise InvalidRequest(messages.picture_gone())
        else:
            data = member_images.fetch_from(settings, source.hosts, source.url or "")
        return member_images.prepare(data)

    def _member_mask(self, request: ImageRequest) -> Image.Image:
        """The mask a region edit names (white: repaint), read like the member's pictures."""
        if request.mask is None:
            raise InvalidRequest(messages.mask_needs_one_picture(0))
        return self._member_picture(request, request.mask)

    def _preview(self, job_id: str, request: ImageRequest, data: bytes) -> None:
        """A backend's partial image, as a progress update; a failed preview never fails the job."""
        update = StatusUpdate("preview", messages.generating(), preview=data)
        try:
            self._rt.publisher.status(job_id, request, update)
        except Exception:
            log.exception("job %s: could not post a progress preview", job_id)

    def _progress(self, job_id: str, request: ImageRequest, text: str) -> None:
        """Where the job stands on a remote service (its queue, its wait); never fails the job."""
        try:
            self._rt.publisher.status(job_id, request, StatusUpdate("generating", text))
        except Exception:
            log.exception("job %s: could not post progress", job_id)

    def _stored_result(self, job_id: str, request: ImageRequest) -> JobResult | None:
        """What an earlier attempt generated and stored, rebuilt from the images' own metadata."""
        images, meta = [], {}
        for index in range(request.count):
            data = self._rt.store.get(keys.image(job_id, index))
            if data is None:
                return None  # partly expired: draw again
            meta = read_metadata(data)
            images.append(
                DeliveredImage(
                    keys.image(job_id, index), data, _filename(job_id, index), PNG, meta.get("seed")
                )
            )
        return JobResult(
            job_id,
            meta["prompt"],
            meta["model"],
            meta.get("seconds", 0.0),
            images,
            meta.get("revised_prompt"),
            idea=meta.get("idea"),
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
            prompt=result.idea,
            seconds=result.seconds,
        )
        if request.canvas is not None and result.images:  # the canvas set the size: keep the real one
            with Image.open(io.BytesIO(result.images[0].data)) as first:
                turn = turn.model_copy(update={"width": first.width, "height": first.height, "aspect": None})
        self._rt.threads.record(key, turn)

    def _announce_queue_moved(self, backend: str) -> None:
        """Tell the first few waiting jobs their new place, so no queued job sits silent."""
        rt = self._rt
        waiting = rt.queue.waiting(backend, POSITIONS_ANNOUNCED)
        if not waiting:
            return
        etas = rt.queue.etas(backend, len(waiting))
        jobs = Job.fetch_many(waiting, connection=rt.redis, serializer=SERIALIZER)
        updates = []
        for position, (job, eta) in enumerate(zip(jobs, etas, strict=True), 1):
            if job is not None:
                request = ImageRequest.model_validate(job.kwargs["request"])
                update = StatusUpdate("queued", messages.queued(position, eta), position=position)
                updates.append((job.id, request, update))
        try:
            rt.publisher.statuses(updates)
        except Exception:  # a courtesy update must never fail the job that is starting
            log.exception("could not update the queue positions of %d jobs", len(updates))


def _filename(job_id: str, index: int) -> str:
    return f"{job_id}-{index + 1}.png"
