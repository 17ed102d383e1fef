"""What each image store costs a job: storing a result's images and reading one back.

    .venv/bin/python bench/stores.py [--images 200] [--kib 1024]

A private Redis; the directory store in a temporary folder; the S3 store against moto's standalone
server (a real S3-protocol endpoint on this machine, so the numbers show the store's own overhead, not
a network's). Each round stores one job of 4 images of `--kib` KiB (as a worker does, with the
index in one Redis transaction) and reads one back (as a refinement or a frontend does).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import boto3  # noqa: E402
import redis as redis_lib  # noqa: E402

from bench._common import background, percentile, private_redis, python, table  # noqa: E402
from shared import keys  # noqa: E402
from shared.configuration.config import S3Config  # noqa: E402
from shared.imaging.blobs import DirectoryBlobs, S3Blobs  # noqa: E402
from shared.imaging.image_store import BlobImageStore, ImageStore, RedisImageStore  # noqa: E402
from tests.helpers import answers_ok, free_port, wait_until  # noqa: E402

PER_JOB = 4
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def measure(store: ImageStore, jobs: int, size: int) -> list[str]:
    payload = os.urandom(size)
    puts, gets = [], []
    for job in range(jobs):
        images = {keys.image(f"img-{job:032x}", i): payload for i in range(PER_JOB)}
        started = time.perf_counter()
        store.put_many(images, workspace="bench:1")
        puts.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert store.get(keys.image(f"img-{job:032x}", 0)) == payload
        gets.append(time.perf_counter() - started)
    ms = lambda values, q: f"{percentile(values, q) * 1000:.1f}"  # noqa: E731
    return [ms(puts, 50), ms(puts, 99), ms(gets, 50), ms(gets, 99)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200, help="jobs stored (4 images each)")
    parser.add_argument("--kib", type=int, default=1024, help="size of each image")
    args = parser.parse_args()
    size, ttl, cap = args.kib * 1024, 86400, 64 * 1024 * 1024
    os.environ.update(CREDENTIALS)
    port = free_port()
    rows = []
    with (
        private_redis() as redis_url,
        tempfile.TemporaryDirectory() as folder,
        background(python("-m", "moto.server", "-p", str(port)), CREDENTIALS),
    ):
        redis = redis_lib.Redis.from_url(redis_url)
        endpoint = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers_ok(f"{endpoint}/moto-api/"), timeout=30, what="moto's S3 server")
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        stores: list[tuple[str, ImageStore]] = [
            ("redis", RedisImageStore(redis, ttl_seconds=ttl, max_bytes=cap)),
            (
                "directory",
                BlobImageStore(redis, DirectoryBlobs(Path(folder)), ttl_seconds=ttl, max_bytes=cap),
            ),
            (
                "s3 (moto, local)",
                BlobImageStore(
                    redis,
                    S3Blobs.from_config(S3Config(bucket=bucket, endpoint_url=endpoint)),
                    ttl_seconds=ttl,
                    max_bytes=cap,
                ),
            ),
        ]
        for name, store in stores:
            rows.append([name, f"{PER_JOB} × {args.kib} KiB", *measure(store, args.images, size)])
    headers = ["store", "job", "store p50 ms", "store p99 ms", "read p50 ms", "read p99 ms"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
