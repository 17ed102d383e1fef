"""Image-server backends (a1111): per-image overhead against calling the server directly, and a pool.

    .venv/bin/python bench/engines.py [--repeats 20] [--seconds-per-image 0.2] [--pool-jobs 20]

Overhead: the fake web UI takes --seconds-per-image per image; `direct` posts the same txt2img payload
with the same HTTP client and decodes the images, `backend` is A1111Backend.generate as a worker calls
it (server lease in Redis, payload, decoding, seeds). Median of --repeats.
Pool: two fake servers taking 1 s per image, two `imagine worker --backend a1111` processes, N jobs
from N members submitted at once; seconds from the first submit to the last image published.
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx2  # noqa: E402
import redis as redis_lib  # noqa: E402
from PIL import Image  # noqa: E402

from bench._common import background, private_redis, python, table  # noqa: E402
from bot.core import ImagineCore  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.queue import queue_name  # noqa: E402
from shared.recovery import count_live_workers  # noqa: E402
from shared.request import ImageRequest, Requester  # noqa: E402
from shared.results import read_job_events  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.fakes.a1111_api import FakeA1111  # noqa: E402
from tests.helpers import wait_until  # noqa: E402
from workers.backends.a1111 import A1111Backend  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402

UNLIMITED = "[quota]\nimages_per_hour = 100000\nconcurrent = 100\nworkspace_images_per_day = 1000000\n"


def settings_for(url: str, folder: Path, servers: list[str]) -> Settings:
    config = folder / "imagine.toml"
    config.write_text(f"{UNLIMITED}[a1111]\nservers = {servers!r}\n".replace("'", '"'))
    settings = Settings(_env_file=None, redis_url=url, config_path=config, backend="a1111")
    return settings.model_copy(update={"config": load_config(config)})


def overhead(url: str, folder: Path, repeats: int, seconds: float) -> tuple[float, float]:
    with FakeA1111(seconds_per_image=seconds) as fake:
        backend = A1111Backend(settings_for(url, folder, [fake.url]))
        task = GenerationTask(prompt="a lighthouse", width=512, height=512, seed=1)
        payload = backend._payload(task)[1]  # the very payload the backend sends
        client = httpx2.Client(timeout=60)

        def direct() -> None:
            answer = client.post(f"{fake.url}/sdapi/v1/txt2img", json=payload).json()
            [Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB") for data in answer["images"]]

        def ours() -> None:
            backend.generate(task)

        return timed(direct, repeats), timed(ours, repeats)


def timed(call, repeats: int) -> float:
    call()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def pool(url: str, folder: Path, jobs: int) -> float:
    with FakeA1111(seconds_per_image=1.0) as one, FakeA1111(seconds_per_image=1.0) as two:
        settings = settings_for(url, folder, [one.url, two.url])
        client = redis_lib.Redis.from_url(url)
        env = {"REDIS_URL": url, "IMAGINE_CONFIG": str(settings.config_path)}
        worker = python("-m", "bot.cli", "worker", "--backend", "a1111", "--log-level", "WARNING")
        with background(worker, env), background(worker, env):
            wait_until(
                lambda: count_live_workers(client, queue_name("a1111")) == 2, timeout=60, what="workers"
            )
            core = ImagineCore(settings, client)
            started = time.perf_counter()
            ids = [core.submit(request(i)).job_id for i in range(jobs)]
            for job_id in ids:
                wait_until(lambda j=job_id: finished(client, j), timeout=120, what=f"job {job_id}")
            return time.perf_counter() - started


def request(index: int) -> ImageRequest:
    who = Requester(platform="cli", workspace="bench", channel="bench", user=f"member{index}")
    return ImageRequest(
        event_id=f"pool-{index}", requester=who, prompt="a fox", backend="a1111", width=64, height=64
    )


def finished(client: redis_lib.Redis, job_id: str) -> bool:
    return any(event["type"] in ("done", "failed") for _, event in read_job_events(client, job_id, "0", 100))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seconds-per-image", type=float, default=0.2)
    parser.add_argument("--pool-jobs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, private_redis() as url:
        direct, ours = overhead(url, Path(folder), args.repeats, args.seconds_per_image)
        seconds = pool(url, Path(folder), args.pool_jobs)
    print(f"a1111 fake: {args.seconds_per_image} s per image, 512x512, median of {args.repeats}")
    print(
        table(
            ["measure", "seconds per image", "ratio"],
            [
                ["server called directly (same payload, same client)", f"{direct:.3f}", "1.000"],
                ["A1111Backend.generate", f"{ours:.3f}", f"{ours / direct:.3f}"],
            ],
        )
    )
    print()
    print(
        table(
            ["pool: 2 servers x 1 s per image, 2 workers", "jobs", "seconds", "jobs/s"],
            [
                [
                    "submitted at once, last image published",
                    str(args.pool_jobs),
                    f"{seconds:.1f}",
                    f"{args.pool_jobs / seconds:.2f}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
