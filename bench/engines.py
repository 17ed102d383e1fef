"""Image-server backends: per-image overhead against calling each server directly, and an a1111 pool.

    .venv/bin/python bench/engines.py [--repeats 20] [--seconds-per-image 0.2] [--pool-jobs 20]

Overhead: each fake (a1111, ComfyUI, AI Horde) takes --seconds-per-image per image; `direct` speaks
the same protocol with the same HTTP client and payload (a1111: one txt2img call; ComfyUI: /prompt,
/history polled at the backend's interval, /view; Horde: submit, check polled at the backend's
interval, status) and decodes the images; `backend` is the backend's generate as a worker calls it
(server lease in Redis, payload, decoding, seeds). Median of --repeats.
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
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.delivery.results import read_job_events  # noqa: E402
from shared.drawing.request import ImageRequest, Requester  # noqa: E402
from shared.jobs.queue import queue_name  # noqa: E402
from shared.jobs.recovery import count_live_workers  # noqa: E402
from tests.fakes.a1111_api import FakeA1111  # noqa: E402
from tests.fakes.comfyui_api import FakeComfyUI  # noqa: E402
from tests.fakes.horde_api import FakeHorde  # noqa: E402
from tests.helpers import wait_until  # noqa: E402
from workers.backends.a1111.backend import A1111Backend  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.comfyui.backend import ComfyUIBackend  # noqa: E402
from workers.backends.horde.backend import HordeBackend  # noqa: E402

UNLIMITED = "[quota]\nimages_per_hour = 100000\nconcurrent = 100\nworkspace_images_per_day = 1000000\n"


def settings_for(url: str, folder: Path, section: str) -> Settings:
    config = folder / "imagine.toml"
    config.write_text(UNLIMITED + section)
    settings = Settings(_env_file=None, redis_url=url, config_path=config)
    return settings.model_copy(update={"config": load_config(config)})


def overhead(url: str, folder: Path, repeats: int, seconds: float) -> dict[str, tuple[float, float]]:
    task = GenerationTask(prompt="a lighthouse", width=512, height=512, seed=1)
    client = httpx2.Client(timeout=60)
    results = {}
    with FakeA1111(seconds_per_image=seconds) as fake:
        backend = A1111Backend(settings_for(url, folder, f'[a1111]\nservers = ["{fake.url}"]\n'))
        payload = backend._payload(task)[1]  # the very payload the backend sends

        def a1111_direct() -> None:
            answer = client.post(f"{fake.url}/sdapi/v1/txt2img", json=payload).json()
            [decode(data) for data in answer["images"]]

        results["a1111"] = timed(a1111_direct, repeats), timed(lambda: backend.generate(task), repeats)
    with FakeComfyUI(seconds_per_image=seconds) as fake:
        section = f'[comfyui]\nservers = ["{fake.url}"]\npoll_seconds = 0.05\n'
        comfy = ComfyUIBackend(settings_for(url, folder, section))
        graph = comfy._filled("txt2img", comfy._config.workflows["txt2img"], task, 1, 1, 512, 512, None)

        def comfy_direct() -> None:
            prompt_id = client.post(f"{fake.url}/prompt", json={"prompt": graph, "client_id": "x"}).json()[
                "prompt_id"
            ]
            while not (history := client.get(f"{fake.url}/history/{prompt_id}").json()):
                time.sleep(0.05)
            for ref in history[prompt_id]["outputs"]["9"]["images"]:
                Image.open(io.BytesIO(client.get(f"{fake.url}/view", params=ref).content)).convert("RGB")

        results["comfyui"] = timed(comfy_direct, repeats), timed(lambda: comfy.generate(task), repeats)
    with FakeHorde(queue_seconds=seconds) as fake:
        section = f'[horde]\napi_url = "{fake.base}"\npoll_seconds = 0.05\ncontact = "bench"\n'
        horde = HordeBackend(settings_for(url, folder, section))
        body = horde._payload(task)
        headers = {"apikey": "0000000000", "Client-Agent": "bench"}

        def horde_direct() -> None:
            request_id = client.post(f"{fake.base}/v2/generate/async", json=body, headers=headers).json()[
                "id"
            ]
            while not client.get(f"{fake.base}/v2/generate/check/{request_id}", headers=headers).json()[
                "done"
            ]:
                time.sleep(0.05)
            status = client.get(f"{fake.base}/v2/generate/status/{request_id}", headers=headers).json()
            [decode(g["img"]) for g in status["generations"]]

        results["horde"] = timed(horde_direct, repeats), timed(lambda: horde.generate(task), repeats)
    return results


def decode(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


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
        settings = settings_for(url, folder, f'[a1111]\nservers = ["{one.url}", "{two.url}"]\n')
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
        results = overhead(url, Path(folder), args.repeats, args.seconds_per_image)
        seconds = pool(url, Path(folder), args.pool_jobs)
    print(f"fakes: {args.seconds_per_image} s per image, 512x512, one image, median of {args.repeats}")
    print(
        table(
            ["backend", "direct s", "backend s", "ratio"],
            [[name, f"{d:.3f}", f"{o:.3f}", f"{o / d:.3f}"] for name, (d, o) in results.items()],
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
