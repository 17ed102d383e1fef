"""The platform-neutral core every frontend calls.

`ImagineCore.intake` is the one intake sequence of a chat event: claim -> check -> admit -> ack ->
moderate -> post the status -> enqueue, with the admission given back on every exit that does not
enqueue. A platform implements `IntakePort` (bot/interactions/surface.py: tell privately, acknowledge, open
the status and thread); it does not re-implement the sequence.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from PIL import Image
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline
from redis.exceptions import RedisError

from bot import followups, picture_roles
from bot.checking import check_request
from bot.decoding import Decoding
from bot.describing import Describing
from bot.interactions.surface import IntakePort, InThread, PictureFetch
from shared import keys, messages
from shared.configuration.settings import Settings
from shared.drawing.backends import BACKENDS
from shared.drawing.request import MAX_SOURCES, ImageRequest, RequestOptions
from shared.drawing.requester import Requester
from shared.errors import InvalidRequest, Refused
from shared.imaging import member_images
from shared.imaging.image_store import build_store
from shared.jobs.member_jobs import MemberJobs
from shared.jobs.queue import (
    JobQueue,
    QueueOutlook,
    Submission,
    job_id_for,
    lane,
    lane_of,
    model_failures,
    queue_name,
)
from shared.jobs.recovery import count_live_workers
from shared.jobs.round_trips import SharedRoundTrips
from shared.members.member_defaults import DefaultsStore, applied
from shared.members.showcase import Showcase
from shared.members.threads import ThreadMemory, ThreadOrigin, ThreadOrigins, Turn, thread_key
from shared.ops.metrics import Metrics
from shared.quotas.quota import Quota, UsageReport
from shared.quotas.refusals import RefusalCounter
from shared.textmodels.moderation import Moderator

log = logging.getLogger(__name__)
EVENT_CLAIM_SECONDS = 86400  # longer than any platform redelivers an event
PENDING_SECONDS = 60  # a frontend has this long from admission to enqueue before its slot counts as lost
SECRET_SECONDS = 15 * 60  # a Discord interaction token's own life


class ImagineCore:
    """What a frontend holds: the settings, one Redis client, quotas, the job queue and thread memory."""

    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        metrics: Metrics | None = None,
        *,
        aredis: AsyncRedis | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        # An event loop's client, in frontends: admissions share its round trips.
        self.round_trips = SharedRoundTrips(aredis) if aredis is not None else None
        self.metrics = metrics or Metrics(redis)
        self.quota = Quota(redis, settings.config.quota)
        self.queue = JobQueue(redis, settings.config.jobs, settings.config.quota)
        self.moderator = Moderator(settings)
        self.refusals = RefusalCounter(redis)
        ttl = int(settings.config.threads.ttl_days * 86400)
        self.threads = ThreadMemory(redis, ttl_seconds=ttl, max_turns=settings.config.threads.max_turns)
        self.origins = ThreadOrigins(redis, ttl_seconds=ttl)
        self.images = build_store(redis, settings.config.storage)
        self.jobs = MemberJobs(redis, self.queue, self.quota)
        self.defaults = DefaultsStore(redis)
        self.showcase = Showcase(redis, settings.config.showcase)
        self.decoding = Decoding(settings.config.limits.source_image_bytes)
        self.describing = Describing(settings, redis, self.decoding)

    async def intake(
        self,
        port: IntakePort,
        build: Callable[[], ImageRequest | Awaitable[ImageRequest]],
        *,
        claim: bool = True,
        later: Callable[[Coroutine[Any, Any, None]], None] | None = None,
        pictures: PictureFetch | None = None,
    ) -> bool:
        """Run the intake sequence for one chat event; True once the request is taken (acknowledged).
        `build` validates (raising InvalidRequest or Refused); with `claim`, the event is claimed in
        the admission's round trip and a redelivery stops there. `pictures` fetches the member's
        pictures the request starts from: only once it is admitted (nobody's work before their
        charge), given back when one is refused. `later` runs the steps after the ack elsewhere
        (Slack answers when its listener returns); by default they run here."""
        try:
            built = build()
            request = await built if inspect.isawaitable(built) else built
            first_delivery = await self.admit_soon(request, claim=claim)
        except (InvalidRequest, Refused) as exc:
            await port.tell(str(exc))
            return False
        except RedisError as exc:  # no master known through a failover's retries: nothing was charged
            log.warning("Redis unreachable at a request's admission: %s", type(exc).__name__)
            await port.tell(messages.bot_restarting())
            return False
        if not first_delivery:
            await port.duplicate()
            return False
        if pictures is not None:
            try:
                request = await self.attach_pictures(request, pictures)
            except (InvalidRequest, Refused) as exc:
                self.give_back(request)
                await port.tell(str(exc))
                return False
            except BaseException:
                self.give_back(request)
                raise
        await port.acknowledge(request)
        rest = self._after_ack(port, request)
        if later is not None:
            later(rest)
        else:
            await rest
        return True

    async def _after_ack(self, port: IntakePort, request: ImageRequest) -> None:
        try:
            await self.moderate_soon(request)  # a network call, so after the ack
        except Refused as exc:
            self.give_back(request)
            await port.tell(str(exc))
            return
        try:
            status = await self.queued_text_soon(request)
        except InvalidRequest as exc:  # its model is served by no worker, while others are
            self.give_back(request)
            await port.tell(str(exc))
            return
        try:
            opened = await port.open(request, status)
        except BaseException:
            self.give_back(request)
            raise
        if opened is None:
            self.give_back(request)
            return
        await self.enqueue_soon(opened.request, thread_origin=opened.thread_origin, secrets=opened.secrets)

    async def attach_pictures(self, request: ImageRequest, fetch: PictureFetch) -> ImageRequest:
        """The admitted request starting from the pictures `fetch` brings, decoded a few at a time per
        process (`Decoding`) and kept in the image store; raises InvalidRequest for a bad picture."""
        data = await fetch()
        if len(data) > MAX_SOURCES:
            raise InvalidRequest(messages.too_many_pictures(len(data), MAX_SOURCES))
        return await self.with_pictures(request, await self.decoding.all_checked(data))

    async def with_pictures(self, request: ImageRequest, pictures: list[Image.Image]) -> ImageRequest:
        """The request starting from the member's pictures, which the frontend fetched and checked
        (a Slack file needs the bot token, a web upload or a path has no URL): kept in the image
        store, where the worker reads them."""
        if not pictures:
            return request
        if len(pictures) > MAX_SOURCES:
            raise InvalidRequest(messages.too_many_pictures(len(pictures), MAX_SOURCES))
        sources = member_images.picture_sources(request.event_id, len(pictures))
        workspace = request.requester.workspace_key
        await asyncio.to_thread(member_images.keep, self.images, pictures, sources, workspace=workspace)
        return request.model_copy(update={"sources": picture_roles.drawn_from(request, sources)})

    def submit(self, request: ImageRequest) -> Submission:
        """Moderate, admit against the quota and enqueue, once per platform event (the command line)."""
        self.moderate(request)
        self.admit(request)
        return self.queue.enqueue(request)

    def claim_event(
        self, platform: str, workspace: str, event_id: str, *, seconds: int = EVENT_CLAIM_SECONDS
    ) -> bool:
        """True for the first delivery of a platform event; a redelivery or a double click gets False."""
        key = keys.event_claim(platform, workspace, event_id)
        return bool(self.redis.set(key, "1", nx=True, ex=seconds))

    def check_follow_up(
        self, requester: Requester, follow_up: followups.FollowUp, *, event_id: str
    ) -> ImageRequest:
        """A button press or a refinement, validated like a fresh request."""
        return check_request(
            self.settings,
            follow_up.options,
            requester=requester,
            event_id=event_id,
            base=follow_up.base,
            kind=follow_up.kind,
            instruction=follow_up.instruction,
            parent_job_id=follow_up.parent_job_id,
            parent_image_index=follow_up.parent_image_index,
        )

    async def check_new(
        self, requester: Requester, options: RequestOptions, *, event_id: str
    ) -> ImageRequest:
        """A new /imagine: what was typed over the member's and the channel's defaults (one shared
        round trip to read them), then checked like any request."""
        if self.round_trips is not None:
            channel, member = await self.defaults.both(self.round_trips, requester)
        else:
            channel, member = await asyncio.to_thread(
                lambda: (self.defaults.channel(requester), self.defaults.member(requester))
            )
        backend = options.backend or self.settings.backend
        merged = applied(options, channel, member, self.settings.config, backend)
        request = check_request(self.settings, merged, requester=requester, event_id=event_id)
        return request.model_copy(update={"private": True}) if member.private else request

    def thread_member(self, where: InThread) -> tuple[Requester, ThreadOrigin | None]:
        """The member acting in one of the bot's threads under the rules of where it was asked (the
        thread's channel and age restriction, and for a moved conversation the server's rules),
        with the thread's origin; (the member as given, None) for a thread not, or no longer, ours."""
        member = where.member
        origin = self.origins.get(member.platform, member.workspace, where.origin_key)
        if origin is None:
            return member, None
        update = {"channel": origin.channel, "channel_nsfw": origin.nsfw, "asked_in": origin.asked_in}
        return member.model_copy(update=update), origin

    def refine_by(self, requester: Requester) -> str:
        """Whose replies refine in this channel's threads: the channel's setting, else the config's."""
        return self.defaults.channel(requester).refine_by or self.settings.config.threads.refine_by

    def may_continue(self, requester: Requester, origin: ThreadOrigin) -> bool:
        """Whether `requester` may make new images in the thread `origin` describes: with
        `refine_by = "owner"` (the channel's, else the config's) only its owner may, by reply, mention,
        form or button alike. The one place the rule lives; a plain reply by anyone else is talk,
        which platforms ignore, and every other way in is refused (`check_continues`)."""
        return requester.user == origin.owner or self.refine_by(requester) != "owner"

    def check_continues(self, requester: Requester, origin: ThreadOrigin) -> None:
        """Raise Refused (counted for operators) unless `may_continue`."""
        if not self.may_continue(requester, origin):
            refusal = Refused(messages.thread_not_yours(), rule="thread_owner")
            self._refused_as(requester, refusal)
            raise refusal

    def admit(self, request: ImageRequest, *, claim: bool = False) -> bool:
        """Charge the quota before answering publicly; raises Refused. `enqueue` or `give_back` follows.

        With `claim`, the request's platform event is claimed in the same round trip (the first
        thing a chat command does, so it must be quick): False means it was delivered before, and
        nothing was charged again.
        """
        claim_event = self._claim_with(request, claim)
        try:
            admission = self.queue.admit(
                request, self.quota, pending_seconds=PENDING_SECONDS, before=claim_event
            )
        except Refused as refusal:
            self._refused(request, refusal)
            raise
        return bool(admission.before[0]) if claim else True

    async def admit_soon(self, request: ImageRequest, *, claim: bool = False) -> bool:
        """`admit` from an event loop: over redis.asyncio where the frontend has a client, the admissions
        of a burst sharing round trips (`SharedRoundTrips`) instead of holding the loop one by one."""
        if self.round_trips is None:
            return await asyncio.to_thread(self.admit, request, claim=claim)
        claim_event = self._claim_with(request, claim)
        try:
            admission = await self.queue.admit_async(
                self.round_trips, request, self.quota, pending_seconds=PENDING_SECONDS, before=claim_event
            )
        except Refused as refusal:
            self._refused(request, refusal)
            raise
        return bool(admission.before[0]) if claim else True

    @staticmethod
    def _claim_with(request: ImageRequest, claim: bool) -> Callable[[Pipeline], None]:
        """The claim of the request's platform event, for the admission's round trip (or nothing)."""
        who = request.requester
        claim_key = keys.event_claim(who.platform, who.workspace, request.event_id)

        def claim_event(pipe: Pipeline) -> None:
            if claim:
                pipe.set(claim_key, "1", nx=True, ex=EVENT_CLAIM_SECONDS)

        return claim_event

    def moderate(self, request: ImageRequest) -> None:
        """Raise Refused when the workspace's content policy refuses the request (counted for operators)."""
        try:
            self.moderator.check(request)
        except Refused as refusal:
            self._refused(request, refusal)
            raise

    def _refused(self, request: ImageRequest, refusal: Refused) -> None:
        self._refused_as(request.requester, refusal)

    def _refused_as(self, requester: Requester, refusal: Refused) -> None:
        self.refusals.count(requester, refusal.rule)
        self.metrics.refusals.labels(refusal.rule, requester.platform).inc()

    async def moderate_soon(self, request: ImageRequest) -> None:
        """`moderate` from an event loop, after the ack: the moderation service is a network call (on a
        thread); the block-list alone is a few string searches (here)."""
        if self.moderator.uses_service:
            await asyncio.to_thread(self.moderate, request)
        else:
            self.moderate(request)

    def enqueue(
        self,
        request: ImageRequest,
        *,
        thread_origin: tuple[str, ThreadOrigin] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> Submission:
        """Enqueue an admitted request, now that it knows where its answer goes.

        `thread_origin` (thread id, origin) records the thread as the bot's, unless it already is.
        """
        if thread_origin is not None:
            who = request.requester
            self.origins.record(who.platform, who.workspace, *thread_origin)
        if secrets:
            key = keys.reply_secrets(job_id_for(request))
            self.redis.pipeline().hset(key, mapping=secrets).expire(key, SECRET_SECONDS).execute()
        return self.queue.enqueue(request)

    async def enqueue_soon(
        self,
        request: ImageRequest,
        *,
        thread_origin: tuple[str, ThreadOrigin] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> Submission:
        """`enqueue` from an event loop: RQ's round trips run on a thread, so answers are not held up."""
        return await asyncio.to_thread(self.enqueue, request, thread_origin=thread_origin, secrets=secrets)

    def reply_secrets(self, job_id: str) -> dict[str, str]:
        """The job's reply secrets (see `Opened`); empty once they expired, as the platform's did."""
        return {k.decode(): v.decode() for k, v in self.redis.hgetall(keys.reply_secrets(job_id)).items()}

    def give_back(self, request: ImageRequest) -> None:
        """Undo an admission whose job could not be started (e.g. the thread could not be opened)."""
        self.quota.refund(request.requester, job_id_for(request))

    def queued_text(self, request: ImageRequest) -> str:
        """The first status of a job about to be enqueued: its place, and, when no live worker serves
        its backend, that it waits for one (the operator hears it too: a log line and a metric).
        Raises InvalidRequest when no worker serves its model while workers serve others."""
        outlook = self.queue.outlook(lane_of(request))
        if not outlook.live_workers:
            self.check_served(request, self.served_models(request.backend))
        return self._queued_text(request, outlook)

    async def queued_text_soon(self, request: ImageRequest) -> str:
        """`queued_text` from an event loop, in its shared round trips where the frontend has them."""
        if self.round_trips is None:
            return await asyncio.to_thread(self.queued_text, request)
        outlook = await self.queue.outlook_async(self.round_trips, lane_of(request))
        if not outlook.live_workers and lane_of(request) != request.backend:
            await asyncio.to_thread(lambda: self.check_served(request, self.served_models(request.backend)))
        return self._queued_text(request, outlook)

    def served_models(self, backend: str) -> list[str]:
        """The models of a backend with a queue per model that a live worker serves now."""
        spec = BACKENDS[backend]
        if not spec.queue_per_model:
            return []
        models = spec.models(self.settings.config)
        return [m for m in models if count_live_workers(self.redis, queue_name(lane(backend, m)))]

    def check_served(self, request: ImageRequest, served: list[str]) -> None:
        """A model no worker serves, while workers serve others, is refused at once with what is
        served (it would wait forever), and so is one a worker could not load; with no worker at
        all, the job waits for them as any job does."""
        if lane_of(request) == request.backend or request.model in served:
            return
        if model_failures(self.redis, [lane_of(request)]):
            raise InvalidRequest(messages.model_did_not_load(request.model or "", served))
        if served:
            raise InvalidRequest(messages.model_not_served(request.model or "", served))

    def _queued_text(self, request: ImageRequest, outlook: QueueOutlook) -> str:
        if outlook.live_workers:
            return messages.queued_short(outlook.position, None)
        self.metrics.without_worker.labels(request.backend).inc()
        log.warning(
            "a %s job was queued with no live worker for it: start `imagine worker --backend %s`",
            request.backend,
            request.backend,
        )
        return messages.queued_without_worker(outlook.position)

    def usage(self, requester: Requester) -> UsageReport:
        return self.quota.report(requester)

    def turn(self, requester: Requester, job_id: str | None = None) -> Turn | None:
        """The thread's turn made by `job_id`, or its last turn."""
        key = thread_key(requester)
        if key is None:
            return None
        return self.threads.find(key, job_id) if job_id else self.threads.last(key)
