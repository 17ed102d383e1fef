"""Does the image worker wait on the chat platform? One worker, the placeholder backend taking G
seconds an image, the fake Discord API taking L seconds to answer each upload, N jobs from N members.

    .venv/bin/python bench/overlap.py [--jobs 20] [--generate 1.0] [--upload 0.5]

A worker that posted its own results (before result streams) held each job for G + L: at best
1/(G+L) jobs/s. A worker that only makes images and publishes result events reaches 1/G, while an
`imagine discord --http` frontend uploads in parallel. The `cli` row is that bound measured (its
results are Redis writes); the `discord` row is the path members use, with its frontend; "posted s"
is until the last image was in the fake Discord.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import redis as redis_lib  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402
from rq.job import Job  # noqa: E402

from bench._common import background, private_redis, python, small_request, table  # noqa: E402
from bot.core import ImagineCore  # noqa: E402
from shared import keys  # noqa: E402
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.jobs.queue import SERIALIZER  # noqa: E402
from tests.fakes.discord_api import CHANNEL_ID, TOKEN, FakeDiscord  # noqa: E402
from tests.helpers import free_port, wait_until  # noqa: E402

CONFIG = "[quota]\nconcurrent = 1000\nimages_per_hour = 100000\n[jobs]\nposition_update_ms = 0\n"


def run(platform: str, jobs: int, generate: float, upload: float, config: Path) -> list[str]:
    """Submit `jobs` at once to one worker; jobs/s from the first start to the last finish."""
    with private_redis() as url, FakeDiscord() as fake:
        fake.upload_seconds = upload
        env = {
            "REDIS_URL": url,
            "IMAGINE_CONFIG": str(config),
            "IMAGINE_PLACEHOLDER_DELAY": str(generate),
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": fake.api_base,
        }
        client = redis_lib.Redis.from_url(url)
        worker = python("-m", "bot.cli", "worker", "--backend", "placeholder", "--log-level", "ERROR")
        frontend = python(
            "-m",
            "bot.cli",
            "discord",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--no-sync",
        )
        key = SigningKey.generate().verify_key.encode().hex()
        with background(worker, env), background(frontend, {**env, "DISCORD_PUBLIC_KEY": key}):
            wait_until(lambda: client.keys(keys.worker_alive("*")), timeout=30, what="the worker")
            settings = Settings(_env_file=None, redis_url=url).model_copy(
                update={"config": load_config(config)}
            )
            core = ImagineCore(settings, client)
            ids = [
                core.submit(small_request(platform, n, "overlap", members=jobs)).job_id for n in range(jobs)
            ]

            def finished() -> list[Job] | None:
                found = Job.fetch_many(ids, connection=client, serializer=SERIALIZER)
                return found if all(j is not None and j.is_finished for j in found) else None

            done = wait_until(finished, timeout=jobs * (generate + upload) * 3 + 60, what="every job")
            last = time.time()  # to the 20 ms the wait polls at: RQ 3 keeps no end time on the job
            if platform == "discord":
                wait_until(
                    lambda: len(fake.image_posts_in(CHANNEL_ID)) >= jobs, timeout=60, what="every post"
                )
            posted = time.time()
            posts = len(fake.image_posts_in(CHANNEL_ID)) if platform == "discord" else jobs
        first = min(_timestamp(j.started_at) for j in done)
        seconds = last - first
    rate = jobs / seconds
    return [
        platform,
        str(jobs),
        f"{generate:.2f}",
        f"{upload if platform == 'discord' else 0:.2f}",
        f"{seconds:.1f}",
        f"{posted - first:.1f}",
        f"{rate:.3f}",
        f"{rate * generate:.0%}",
        str(posts),
    ]


def _timestamp(moment: datetime) -> float:
    """RQ stores UTC without a zone."""
    return moment.replace(tzinfo=UTC).timestamp() if moment.tzinfo is None else moment.timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--generate", type=float, default=1.0, help="G: seconds per image")
    parser.add_argument("--upload", type=float, default=0.5, help="L: seconds the fake takes per upload")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "imagine.toml"
        config.write_text(CONFIG)
        rows = [
            run(platform, args.jobs, args.generate, args.upload, config) for platform in ("cli", "discord")
        ]
    headers = [
        "results to",
        "jobs",
        "G s",
        "L s",
        "worker s",
        "posted s",
        "jobs/s",
        "generator busy",
        "posts",
    ]
    print(table(headers, rows))
    bound = 1 / args.generate
    both = 1 / (args.generate + args.upload)
    print(f"\n1/(G+L) = {both:.3f} jobs/s; 1/G = {bound:.3f}; the target 0.9/G = {0.9 * bound:.3f}")


if __name__ == "__main__":
    main()
