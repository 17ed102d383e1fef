"""The three image stores through one behaviour suite: Redis, a directory, and S3 (moto's standalone
server, a real S3-protocol endpoint, spoken to by boto3). Time moves by Redis TTL or by the store's
clock; eviction, the sweep and `check` are the store's own."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest
from PIL import Image

from bot.core import ImagineCore
from shared import keys
from shared.configuration.config import S3Config
from shared.errors import ConfigError
from shared.imaging.blobs import DirectoryBlobs, S3Blobs
from shared.imaging.image_store import BlobImageStore, ImageStore, RedisImageStore
from shared.imaging.images import read_metadata
from shared.jobs.queue import queue_name
from tests.factories import image_request
from tests.helpers import answers_ok, free_port, imagine_command, wait_until
from workers.backends.placeholder.backend import draw
from workers.runtime import build_runtime
from workers.worker import serve

DAY = 86400
WORKSPACE, OTHER = "discord:1", "discord:2"
S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, days: float) -> None:
        self.now += days * DAY


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port, for the session."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **S3_ENV},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers_ok(f"{url}/moto-api/"), timeout=30, what="moto's S3 server")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3_config(s3_endpoint, monkeypatch) -> S3Config:
    """A fresh bucket per test; credentials in the environment, where boto3 looks for them."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    bucket = f"images-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, **_credentials()).create_bucket(Bucket=bucket)
    return S3Config(bucket=bucket, endpoint_url=s3_endpoint, region="us-east-1")


@pytest.fixture(params=["redis", "directory", "s3"])
def make_store(request, redis, tmp_path) -> Callable[..., tuple[ImageStore, Clock]]:
    """A store of the given kind: `ttl_days`, `budget` bytes per workspace (durable stores)."""
    kind = request.param

    def make(*, ttl_days: float = 7, budget: int = 0) -> tuple[ImageStore, Clock]:
        clock, ttl = Clock(), int(ttl_days * DAY)
        if kind == "redis":
            return RedisImageStore(redis, ttl_seconds=ttl, max_bytes=10_000), clock
        if kind == "directory":
            blobs = DirectoryBlobs(tmp_path / "images")
        else:
            blobs = S3Blobs.from_config(request.getfixturevalue("s3_config"))
        store = BlobImageStore(
            redis, blobs, ttl_seconds=ttl, max_bytes=10_000, workspace_bytes=budget, clock=clock
        )
        return store, clock

    make.kind = kind  # type: ignore[attr-defined]
    return make


def image_key(job: int, index: int = 0) -> str:
    return keys.image(f"img-{job:032x}", index)


def later(store: ImageStore, clock: Clock, redis, key: str, days: float) -> None:
    """Move time on by `days` for `key`: the store's clock, or, in Redis, the key's remaining TTL."""
    clock.advance(days)
    if isinstance(store, RedisImageStore):
        left = redis.pttl(key) - int(days * DAY * 1000)
        redis.delete(key) if left <= 0 else redis.pexpire(key, left)


def test_an_image_reads_back_and_a_missing_one_is_none(make_store):
    store, _ = make_store()
    store.put_many({image_key(1): b"png-1", image_key(1, 1): b"png-2"}, workspace=WORKSPACE)
    assert store.get(image_key(1, 1)) == b"png-2"
    assert store.get(image_key(2)) is None


def test_after_two_days_an_image_is_there_within_its_ttl_and_gone_past_it(make_store, redis):
    week, day = make_store(ttl_days=7), make_store(ttl_days=1)
    for (store, clock), job in ((week, 1), (day, 2)):
        store.put_many({image_key(job): b"png"}, workspace=WORKSPACE)
        later(store, clock, redis, image_key(job), days=2)
    assert week[0].get(image_key(1)) == b"png"
    assert day[0].get(image_key(2)) is None


def test_a_durable_store_keeps_each_workspace_under_its_budget_oldest_first(make_store):
    if make_store.kind == "redis":
        pytest.skip("Redis keeps images for the TTL only: it has no budget")
    store, clock = make_store(budget=250)
    for job in range(1, 4):
        store.put_many({image_key(job): bytes(100)}, workspace=WORKSPACE)
        clock.advance(0.001)
    store.put_many({image_key(9): bytes(100)}, workspace=OTHER)
    assert [store.get(image_key(job)) is not None for job in (1, 2, 3)] == [False, True, True]
    assert store.get(image_key(9)) is not None  # another workspace's budget is its own
    use = store.use(WORKSPACE)
    assert (use.bytes, use.images, use.budget) == (200, 2, 250)


def test_the_sweep_removes_what_outlived_the_ttl_from_blobs_and_index(make_store):
    if make_store.kind == "redis":
        pytest.skip("Redis expires its own keys")
    store, clock = make_store(ttl_days=1)
    store.put_many({image_key(1): b"old"}, workspace=WORKSPACE)
    clock.advance(2)
    store.put_many({image_key(2): b"new"}, workspace=WORKSPACE)
    assert isinstance(store, BlobImageStore)
    assert store.sweep() == 1
    assert store.use(WORKSPACE).images == 1 and store.get(image_key(2)) == b"new"
    longer, _ = make_store(ttl_days=30)  # the same folder or bucket, read with a longer TTL
    assert longer.get(image_key(1)) is None and longer.get(image_key(2)) == b"new"


def test_check_writes_reads_and_deletes_or_says_what_is_wrong(
    make_store, redis, tmp_path, s3_endpoint, monkeypatch
):
    store, _ = make_store()
    assert store.check()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    broken = BlobImageStore(redis, DirectoryBlobs(blocked / "images"), ttl_seconds=DAY, max_bytes=1000)
    with pytest.raises(ConfigError, match=f"directory {blocked / 'images'}"):
        broken.check()
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    missing = S3Blobs.from_config(S3Config(bucket="no-such-bucket", endpoint_url=s3_endpoint))
    with pytest.raises(ConfigError, match="s3://no-such-bucket/imagine/.*NoSuchBucket"):
        BlobImageStore(redis, missing, ttl_seconds=DAY, max_bytes=1000).check()


# --- the store in a worker's hands ---------------------------------------------------------------


def drain(runtime) -> None:
    serve(runtime, [queue_name("placeholder")], burst=True, name="test-worker", logging_level="ERROR")


def test_a_week_old_image_is_refined_from_its_pixels_and_a_lost_one_is_redrawn_with_a_note(
    redis, make_settings, config_file, tmp_path
):
    folder = tmp_path / "images"
    config = f'[storage]\nstore = "directory"\ndirectory = "{folder}"\nimage_ttl_seconds = {30 * DAY}\n'
    runtime = build_runtime(make_settings(config_file(config)), redis, "placeholder")
    core = ImagineCore(runtime.settings, redis)
    parent = core.submit(image_request("evt-parent", prompt="a red fox"))
    drain(runtime)
    [stored] = list(folder.glob("*/*.png"))
    week_ago = time.time() - 7 * DAY
    os.utime(stored, (week_ago, week_ago))
    assert redis.keys("imagine:image:*") == []  # nothing of it in Redis to fall back on

    def refine(event: str) -> tuple[bytes, list[str]]:
        request = image_request(
            event,
            prompt="a red fox",
            kind="refine",
            instruction="at night",
            seed=7,
            parent_job_id=parent.job_id,
            parent_image_index=0,
        )
        job = core.submit(request)
        drain(runtime)
        done = result_of(redis, job.job_id)
        [image] = done["images"]
        return core.images.get(image["key"]), done["notes"]

    refined, notes = refine("evt-refine")
    fresh = draw(read_metadata(refined)["prompt"], 7, 64, 64).tobytes()
    assert notes == [] and _pixels(refined) != fresh  # drawn over the week-old image
    stored.unlink()  # lost (an operator cleaned the volume)
    redrawn, notes = refine("evt-refine-again")
    assert _pixels(redrawn) == fresh
    assert notes == ["The earlier image has expired, so this one was drawn afresh from the words."]
    assert core.images.use(image_request().requester.workspace_key).images == 3


def result_of(redis, job_id: str) -> dict:
    events = [json.loads(fields[b"event"]) for _, fields in redis.xrange(keys.events(job_id))]
    [done] = [event for event in events if event["type"] == "done"]
    return done


def _pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").tobytes()


def test_doctor_checks_the_configured_store_and_says_what_to_fix(
    process_env, config_file, tmp_path, s3_endpoint
):
    def doctor(config: str, **env: str) -> str:
        environment = {**process_env, **env, "IMAGINE_CONFIG": str(config_file(config))}
        run = subprocess.run(
            imagine_command("doctor"), env=environment, capture_output=True, text=True, timeout=60
        )
        return next(line for line in run.stdout.splitlines() if "image store" in line)

    folder = tmp_path / "images"
    assert doctor(f'[storage]\nstore = "directory"\ndirectory = "{folder}"\n') == (
        f"✓ image store: directory {folder}: write, read and delete work; images kept 1 day"
    )
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert doctor(f'[storage]\nstore = "directory"\ndirectory = "{blocked}/x"\n').startswith(
        f"✗ image store: directory {blocked}/x: "
    )
    bucket = f"images-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, **_credentials()).create_bucket(Bucket=bucket)
    s3 = f'[storage]\nstore = "s3"\n[storage.s3]\nbucket = "{bucket}"\nendpoint_url = "{s3_endpoint}"\n'
    assert doctor(s3, **S3_ENV).startswith(
        f"✓ image store: s3://{bucket}/imagine/ at {s3_endpoint}: write, read"
    )
    assert "✗ image store: s3://" in doctor(s3.replace(bucket, "no-such-bucket"), **S3_ENV)
    redis_only = doctor("[threads]\nttl_days = 7\n")
    assert redis_only.startswith("✓ image store: images kept 1 day in Redis, threads 7 days: refining")


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_ENV["AWS_DEFAULT_REGION"],
    }


def test_imagine_generate_with_a_directory_store_and_quota_show_counts_its_bytes(
    process_env, config_file, tmp_path, processes, redis
):
    folder = tmp_path / "images"
    config = f'[storage]\nstore = "directory"\ndirectory = "{folder}"\nworkspace_bytes = 10000000\n'
    env = {"IMAGINE_CONFIG": str(config_file(config))}
    processes.worker(env, redis)
    run = subprocess.run(
        imagine_command("generate", "a fox", "--count", "2", "--out", str(tmp_path / "out")),
        env={**process_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    written = sorted(path.read_bytes() for path in (tmp_path / "out").iterdir())
    assert written == sorted(path.read_bytes() for path in folder.glob("*/*.png"))  # the store's own bytes
    shown = subprocess.run(
        imagine_command("quota", "show", "alice"), env={**process_env, **env}, capture_output=True, text=True
    )
    size = sum(len(data) for data in written)
    assert f"workspace storage: {size:,} of 10,000,000 bytes in 2 images" in shown.stdout
