"""Fair shares: one worker, two communities. Community A queues a backlog, then community B a few jobs;
how long does each wait for its images?

    .venv/bin/python bench/fairness.py [--a-jobs 20] [--b-jobs 2] [--seconds 0.5] [--b-share 1]

One placeholder worker draws each image in --seconds (IMAGINE_PLACEHOLDER_DELAY). A's jobs are all
queued first, then B's (as command-line jobs of workspaces club-a and club-b). Per community: its
jobs' waits from submission to the done event (median, last). B's goal: its last job done within
3× its own work plus one of A's images, where first come, first served would make it wait behind
all of A's backlog (shown beside it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._common import background, python, table  # noqa: E402
from bot.core import ImagineCore  # noqa: E402
from shared import keys  # noqa: E402
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.drawing.request import ImageRequest  # noqa: E402
from shared.drawing.requester import Requester  # noqa: E402
from shared.ops.redis_conn import connect  # noqa: E402
from tests.helpers import RedisServer, wait_until  # noqa: E402

CONFIG = """
[quota]
images_per_hour = 100000
concurrent = 100000
workspace_images_per_day = 1000000
"""


def job(workspace: str, number: int) -> ImageRequest:
    member = Requester(platform="cli", workspace=workspace, channel="cli", user=f"{workspace}-{number}")
    return ImageRequest(event_id=f"{workspace}-{number}", requester=member, prompt=f"{workspace} {number}")


def done_at(redis, job_id: str) -> float | None:
    for entry_id, fields in redis.xrange(keys.events(job_id)):
        if json.loads(fields[b"event"])["type"] == "done":
            return int(entry_id.decode().split("-")[0]) / 1000
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a-jobs", type=int, default=20)
    parser.add_argument("--b-jobs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--b-share", type=float, default=1.0)
    args = parser.parse_args()
    server = RedisServer()
    url = server.start()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "imagine.toml"
        config.write_text(CONFIG + f'[quota.workspaces."cli:club-b"]\nshare = {args.b_share}\n')
        env = {
            "REDIS_URL": url,
            "IMAGINE_CONFIG": str(config),
            "IMAGINE_PLACEHOLDER_DELAY": str(args.seconds),
        }
        settings = Settings(_env_file=None, redis_url=url).model_copy(update={"config": load_config(config)})
        redis = connect(url)
        core = ImagineCore(settings, redis)
        try:
            with background(python("-m", "bot.cli", "worker", "--backend", "placeholder"), env):
                wait_until(lambda: redis.keys(keys.worker_alive("*")), timeout=30, what="the worker")
                submitted: dict[str, tuple[str, float]] = {}
                for workspace, count in (("club-a", args.a_jobs), ("club-b", args.b_jobs)):
                    for number in range(count):
                        submitted[core.submit(job(workspace, number)).job_id] = (workspace, time.time())
                wait_until(
                    lambda: all(done_at(redis, job_id) for job_id in submitted),
                    timeout=args.seconds * (args.a_jobs + args.b_jobs) * 3 + 30,
                    what="every job",
                )
                waits: dict[str, list[float]] = {"club-a": [], "club-b": []}
                for job_id, (workspace, at) in submitted.items():
                    waits[workspace].append((done_at(redis, job_id) or at) - at)
        finally:
            server.stop()
    goal = 3 * args.b_jobs * args.seconds + args.seconds
    first_come = (args.a_jobs + args.b_jobs) * args.seconds
    rows = [
        [
            workspace,
            str(len(waits[workspace])),
            f"{statistics.median(waits[workspace]):.2f}",
            f"{max(waits[workspace]):.2f}",
        ]
        for workspace in ("club-a", "club-b")
    ]
    print(
        f"one worker, {args.seconds} s an image; A queued {args.a_jobs}, "
        f"then B {args.b_jobs} (share {args.b_share})"
    )
    print(table(["community", "jobs", "median wait s", "last done s"], rows))
    last_b = max(waits["club-b"])
    print(
        f"B's last job: {last_b:.2f} s (goal ≤ {goal:.2f} s: 3× B's work plus one of A's images; "
        f"first come, first served: about {first_come:.2f} s)"
    )


if __name__ == "__main__":
    main()
