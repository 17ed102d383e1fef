"""Where finished images live: until they are delivered, and while a thread may refine them.

Three stores, one interface (`ImageStore`), chosen by `[storage] store`:

- `redis` (the default): images in Redis with a TTL, reachable from every host, gone after a day.
- `directory`: files under a folder every process mounts (a compose volume).
- `s3`: objects in S3-compatible storage (AWS S3, MinIO, Cloudflare R2, ... by endpoint URL).

The last two are *durable*: images outlive Redis's TTL, so an old thread refines from its real pixels.
They keep an index in Redis (when each image was stored; per workspace, which images and how large)
so each workspace stays under its byte budget, oldest first, and an hourly sweep removes what has
outlived the TTL. Without its index entry (a Redis restored from an old backup) an image's age is its
blob's own time. Blobs are
named after the image's key (`imagine:image:<job>:<n>`), which is unique and never rewritten, so a
retried write is the same write and eviction never touches another job's image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from redis import Redis
from redis.client import Pipeline

from shared import keys
from shared.configuration.config import StorageConfig
from shared.errors import ConfigError

SWEEP_EVERY_SECONDS = 3600


class ImageTooLarge(Exception):
    """An encoded image is over the store's size cap."""


@dataclass(frozen=True)
class StorageUse:
    """What one workspace keeps in a durable store, against its budget (0: none)."""

    bytes: int
    images: int
    budget: int


class ImageStore(Protocol):
    durable: bool  # whether images outlive the Redis TTL (refining an old thread uses its pixels)

    def put_many(
        self, images: dict[str, bytes], pipe: Pipeline | None = None, *, workspace: str = ""
    ) -> None:
        """Store all or none of them (the size cap is checked first); `pipe` carries the Redis part,
        so it commits with the job's result. `workspace` is whose budget they count against."""

    def get(self, key: str) -> bytes | None: ...

    def use(self, workspace: str) -> StorageUse | None:
        """What the workspace keeps (None: this store keeps no account)."""

    def check(self) -> str:
        """Write, read and delete a probe; what was checked, or raise ConfigError saying what to fix."""


def _check_sizes(images: dict[str, bytes], max_bytes: int) -> None:
    for data in images.values():
        if len(data) > max_bytes:
            raise ImageTooLarge(f"{len(data):,} bytes is over the store's cap of {max_bytes:,}")


class RedisImageStore:
    """The default store: images in Redis with a TTL and a size cap, reachable from every host."""

    durable = False

    def __init__(self, redis: Redis, *, ttl_seconds: int, max_bytes: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes

    def put_many(
        self, images: dict[str, bytes], pipe: Pipeline | None = None, *, workspace: str = ""
    ) -> None:
        _check_sizes(images, self._max_bytes)
        target = pipe if pipe is not None else self._redis.pipeline(transaction=False)
        for key, data in images.items():
            target.set(key, data, ex=self._ttl)
        if pipe is None:
            target.execute()

    def get(self, key: str) -> bytes | None:
        return self._redis.get(key)

    def use(self, workspace: str) -> StorageUse | None:
        return None  # bounded by its TTL

    def check(self) -> str:
        return "images in Redis, kept for the TTL"


class Blobs(Protocol):
    """Named bytes with the time they were written: a folder, or a bucket."""

    where: str

    def write(self, name: str, data: bytes) -> None: ...

    def read(self, name: str) -> tuple[bytes, float] | None: ...

    def delete(self, name: str) -> None: ...

    def older_than(self, cutoff: float) -> Iterator[str]: ...


class BlobImageStore:
    """A durable store: blobs for the bytes, Redis for the index that keeps each workspace in budget."""

    durable = True

    def __init__(
        self,
        redis: Redis,
        blobs: Blobs,
        *,
        ttl_seconds: int,
        max_bytes: int,
        workspace_bytes: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._blobs = blobs
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes
        self._budget = workspace_bytes
        self._clock = clock

    def put_many(
        self, images: dict[str, bytes], pipe: Pipeline | None = None, *, workspace: str = ""
    ) -> None:
        _check_sizes(images, self._max_bytes)
        self._make_room(workspace, sum(len(data) for data in images.values()))
        for key, data in images.items():
            self._blobs.write(_blob_name(key), data)
        target = pipe if pipe is not None else self._redis.pipeline(transaction=True)
        now = self._clock()
        for key, data in images.items():
            target.hset(keys.stored_at(), key, now)
            target.zadd(keys.stored_images(workspace), {key: now})
            target.hset(keys.stored_sizes(workspace), key, len(data))
            target.sadd(keys.storing_workspaces(), workspace)
        if pipe is None:
            target.execute()
        self.sweep_soon()

    def get(self, key: str) -> bytes | None:
        found = self._blobs.read(_blob_name(key))
        if found is None:
            return None
        data, written = found
        indexed = self._redis.hget(keys.stored_at(), key)
        if indexed is not None:
            written = float(indexed)
        return data if self._clock() - written <= self._ttl else None  # the sweep removes it later

    def use(self, workspace: str) -> StorageUse:
        sizes = self._redis.hvals(keys.stored_sizes(workspace))
        return StorageUse(sum(int(size) for size in sizes), len(sizes), self._budget)

    def check(self) -> str:
        probe = "imagine:image:doctor-probe:0"
        data = b"imagine doctor probe"
        try:
            self._blobs.write(_blob_name(probe), data)
            found = self._blobs.read(_blob_name(probe))
            self._blobs.delete(_blob_name(probe))
        except Exception as exc:  # any failure is a setup problem to report, with its cause
            raise ConfigError(f"{self._blobs.where}: {type(exc).__name__}: {exc}") from None
        if found is None or found[0] != data:
            raise ConfigError(f"{self._blobs.where}: a written probe did not read back")
        return f"{self._blobs.where}: write, read and delete work"

    def _make_room(self, workspace: str, incoming: int) -> None:
        """Evict the workspace's oldest images until `incoming` bytes fit its budget. ZPOPMIN hands each
        image to one evicting worker only."""
        if not self._budget:
            return
        while self.use(workspace).bytes + incoming > self._budget:
            popped = self._redis.zpopmin(keys.stored_images(workspace))
            if not popped:
                return  # nothing left to evict: one job's images alone may exceed a tiny budget
            self._forget(workspace, popped[0][0].decode())

    def _forget(self, workspace: str, key: str) -> None:
        self._blobs.delete(_blob_name(key))
        self._redis.zrem(keys.stored_images(workspace), key)
        self._redis.hdel(keys.stored_sizes(workspace), key)
        self._redis.hdel(keys.stored_at(), key)

    def sweep_soon(self) -> None:
        """Sweep at most hourly across all workers (whoever takes the lock)."""
        if self._redis.set(keys.store_sweep_lock(), "1", nx=True, ex=SWEEP_EVERY_SECONDS):
            self.sweep()

    def sweep(self) -> int:
        """Remove what has outlived the TTL, from the blobs and the index; how many blobs went."""
        cutoff = self._clock() - self._ttl
        removed = 0
        for raw in self._redis.smembers(keys.storing_workspaces()):
            workspace = raw.decode()
            for key in self._redis.zrangebyscore(keys.stored_images(workspace), "-inf", cutoff):
                self._forget(workspace, key.decode())
                removed += 1
        for name in self._blobs.older_than(cutoff):  # blobs the index does not know (or no longer)
            if not self._redis.hexists(keys.stored_at(), _key_of(name)):
                self._blobs.delete(name)
                removed += 1
        return removed


def _blob_name(key: str) -> str:
    """`imagine:image:img-<hex>:<n>` → `img-<2 hex>/img-<hex>-<n>.png`: a folder per 256th of the jobs."""
    job, index = key.removeprefix(f"{keys.PREFIX}:image:").rsplit(":", 1)
    return f"{job[:6]}/{job}-{index}.png"


def _key_of(blob_name: str) -> str:
    job, index = blob_name.rsplit("/", 1)[-1].removesuffix(".png").rsplit("-", 1)
    return keys.image(job, int(index))


def build_store(redis: Redis, storage: StorageConfig) -> ImageStore:
    """The store `[storage]` chooses: workers write to it, frontends and the CLI read it."""
    if storage.store == "redis":
        return RedisImageStore(
            redis, ttl_seconds=storage.image_ttl_seconds, max_bytes=storage.max_image_bytes
        )
    blobs: Blobs
    if storage.store == "directory":
        from shared.imaging.blobs import DirectoryBlobs

        assert storage.directory is not None  # the config requires it with store = "directory"
        blobs = DirectoryBlobs(storage.directory)
    else:
        from shared.imaging.blobs import S3Blobs

        assert storage.s3 is not None
        blobs = S3Blobs.from_config(storage.s3)
    return BlobImageStore(
        redis,
        blobs,
        ttl_seconds=storage.image_ttl_seconds,
        max_bytes=storage.max_image_bytes,
        workspace_bytes=storage.workspace_bytes,
    )
