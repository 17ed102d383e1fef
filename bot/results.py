"""A chat frontend's way out: read the platform's result stream with a consumer group and post each
event through the platform's poster — a job's answer exactly once, across replicas and crashes.

Every frontend process of a platform is a consumer in the group `frontends` of `imagine:results:<platform>`
(XREADGROUP); an entry is acknowledged (XACK) once it is posted, or once posting it is known to be
impossible. A consumer keeps a short-lived liveness key; entries pending on a consumer whose key has
expired (it was SIGKILLed mid-post) are claimed (XPENDING + XCLAIM) by a live one. Idle time alone
would not do: a slow upload is not a dead frontend, and taking it over would post twice.

A job's answer is posted under a claim named after the consumer (`imagine:posting:<job>`), and
`imagine:posted:<job>` records that it went out, so an entry read again is acknowledged, not posted
again. Progress events are posted at most once and never retried: a newer one follows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.core import ImagineCore
from shared import keys, messages
from shared.delivery.results import Failure, JobResult, MalformedEntry, ResultEvent, StatusUpdate, decode
from shared.drawing.request import ImageRequest
from shared.errors import DeliveryImpossible

log = logging.getLogger(__name__)
GROUP = "frontends"
BLOCK_MS = 1000
RESULTS_SOCKET_TIMEOUT = 30.0  # a consumer's client: its reads block for BLOCK_MS, and posts take a while
BATCH = 16
ALIVE_SECONDS = 10  # without a beat for this long, a consumer counts as dead
BEAT_SECONDS = 2.0
CLAIM_IDLE_MS = 2000  # entries of a dead consumer are claimed once pending this long
RETRY_SECONDS = 5.0  # this consumer's own unacknowledged entries are tried again this often
MAX_ATTEMPTS = 10  # then the answer counts as impossible to post: refunded, the member told if possible
POSTING_SECONDS = 600
POSTED_SECONDS = 8 * 86400

# Take over a posting claim only if it is still the dead holder's.
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


class Poster(Protocol):
    """What a platform implements to show result events where the request came from."""

    async def status(self, job_id: str, request: ImageRequest, update: StatusUpdate) -> None: ...

    async def result(self, request: ImageRequest, result: JobResult) -> None: ...

    async def failure(self, job_id: str, request: ImageRequest, failure: Failure) -> None: ...


class ResultConsumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        platform: str,
        poster: Poster,
        core: ImagineCore,
        *,
        name: str = "",
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._redis = redis
        self._platform = platform
        self._poster = poster
        self._core = core
        self._stream = keys.results(platform)
        self.name = name or f"{platform}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._retry_seconds = retry_seconds
        self._stopped = asyncio.Event()
        self._take_over = redis.register_script(_TAKE_OVER)

    def stop(self) -> None:
        self._stopped.set()

    async def run(self) -> None:
        """Post events until stopped; a Redis outage is waited out, never fatal."""
        beat = asyncio.create_task(self._beat())
        try:
            grouped, retried = False, 0.0
            while not self._stopped.is_set():
                try:
                    if not grouped:
                        await self._ensure_group()
                        grouped = True
                    await self._take_over_dead()
                    loop_time = asyncio.get_running_loop().time()
                    if loop_time - retried >= self._retry_seconds:
                        retried = loop_time
                        await self._read("0")  # this consumer's own entries that did not go out
                    await self._read(">")
                except ResponseError as exc:
                    if "NOGROUP" in str(exc):  # the stream was deleted (FLUSHALL, a restored backup)
                        grouped = False
                    else:
                        log.warning("%s results: Redis refused a command: %s", self._platform, exc)
                        await self._pause()
                except (OSError, aioredis.RedisError) as exc:
                    log.warning("%s results: Redis unavailable (%s); trying again", self._platform, exc)
                    await self._pause()
                except Exception:  # the edge of the loop: a bug must not stop every later result
                    log.exception("%s results: reading the stream failed", self._platform)
                    await self._pause()
        finally:
            beat.cancel()
            try:
                await self._redis.delete(keys.consumer_alive(self.name))
            except aioredis.RedisError:
                pass

    async def _pause(self) -> None:
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout=1)
        except TimeoutError:
            pass

    async def _ensure_group(self) -> None:
        try:  # from the stream's start: results published while no frontend ran are posted too
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _beat(self) -> None:
        while True:
            try:
                await self._redis.set(keys.consumer_alive(self.name), "1", ex=ALIVE_SECONDS)
            except aioredis.RedisError as exc:
                log.warning("%s results: could not beat: %s", self._platform, exc)
            await asyncio.sleep(BEAT_SECONDS)

    async def _read(self, start: str) -> None:
        block = BLOCK_MS if start == ">" else None
        answer = await self._redis.xreadgroup(
            GROUP, self.name, {self._stream: start}, count=BATCH, block=block
        )
        for _, entries in answer or []:
            for entry_id, fields in entries:
                if fields:  # an entry trimmed away while pending comes back empty
                    await self._handle(entry_id, fields)
                else:
                    await self._redis.xack(self._stream, GROUP, entry_id)

    async def _take_over_dead(self) -> None:
        pending = await self._redis.xpending_range(
            self._stream, GROUP, min="-", max="+", count=BATCH, idle=CLAIM_IDLE_MS
        )
        owners = {p["consumer"].decode() for p in pending} - {self.name}
        if not owners:
            return
        alive = dict(zip(owners, await self._alive(owners), strict=True))
        dead = [p["message_id"] for p in pending if not alive.get(p["consumer"].decode(), True)]
        if dead:
            log.warning("%s results: taking over %d entries of dead frontends", self._platform, len(dead))
            for entry_id, fields in await self._redis.xclaim(
                self._stream, GROUP, self.name, CLAIM_IDLE_MS, dead
            ):
                await self._handle(entry_id, fields)

    async def _alive(self, names: set[str]) -> list[bool]:
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.exists(keys.consumer_alive(name))
        return [bool(found) for found in await pipe.execute()]

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            event = await asyncio.to_thread(decode, fields, self._core.images)
        except MalformedEntry as exc:
            log.warning("%s results: dropped a malformed entry %s: %s", self._platform, entry_id, exc)
            self._core.metrics.malformed_results.labels(self._platform).inc()
            await self._redis.xack(self._stream, GROUP, entry_id)
            return
        if not event.terminal:
            await self._post_status(event)
            await self._redis.xack(self._stream, GROUP, entry_id)
            return
        if await self._post_answer_once(event, entry_id):
            await self._redis.xack(self._stream, GROUP, entry_id)

    async def _post_status(self, event: ResultEvent) -> None:
        assert event.status is not None
        try:
            await self._poster.status(event.job_id, event.request, event.status)
        except Exception:  # a progress update is a courtesy: log it, never block the stream
            log.exception("%s results: a progress update for job %s failed", self._platform, event.job_id)

    async def _post_answer_once(self, event: ResultEvent, entry_id: bytes) -> bool:
        """Post the job's images or failure unless they went out; True when the entry is settled."""
        job_id = event.job_id
        claim = keys.posting(job_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.exists(keys.posted(job_id))
        pipe.set(claim, self.name, nx=True, ex=POSTING_SECONDS)
        pipe.get(claim)
        posted, claimed, holder = await pipe.execute()
        if posted:
            return True
        holder = holder.decode() if holder else ""
        if not claimed and holder != self.name:
            if holder and (await self._alive({holder}))[0]:
                return False  # a live frontend is posting it; its mark settles this entry later
            if not await self._take_over(keys=[claim], args=[holder, self.name, POSTING_SECONDS]):
                return False
        try:
            await self._post(event)
        except DeliveryImpossible as exc:
            await self._impossible(event, str(exc))
        except Exception as exc:
            await self._redis.delete(claim)
            attempts = await self._attempts(entry_id)
            if attempts < MAX_ATTEMPTS:
                log.warning("%s results: posting job %s failed (%r); will retry", self._platform, job_id, exc)
                self._core.metrics.delivery_errors.labels(self._platform, type(exc).__name__).inc()
                return False
            await self._impossible(event, f"{attempts} attempts failed, the last with {exc!r}")
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(keys.posted(job_id), "1", ex=POSTED_SECONDS)
        pipe.delete(claim)
        await pipe.execute()
        return True

    async def _post(self, event: ResultEvent) -> None:
        if event.result is not None:
            await self._poster.result(event.request, event.result)
        else:
            assert event.failure is not None
            await self._poster.failure(event.job_id, event.request, event.failure)

    async def _impossible(self, event: ResultEvent, why: str) -> None:
        """The answer cannot reach the member: the images are refunded, and the member told where possible."""
        log.warning("%s results: cannot post job %s: %s", self._platform, event.job_id, why)
        self._core.metrics.delivery_errors.labels(self._platform, "impossible").inc()
        if event.result is not None:  # a failure was refunded (or not) by the worker already
            await asyncio.to_thread(self._core.quota.refund, event.request.requester, event.job_id)
        try:  # a deleted thread's channel may still show the status message
            failure = Failure(messages.delivery_impossible(), "fault")
            await self._poster.failure(event.job_id, event.request, failure)
        except Exception as exc:
            log.warning("%s results: and the member could not be told: %r", self._platform, exc)

    async def _attempts(self, entry_id: bytes) -> int:
        pending = await self._redis.xpending_range(self._stream, GROUP, entry_id, entry_id, 1)
        return int(pending[0]["times_delivered"]) if pending else MAX_ATTEMPTS
