"""Submit -> delivered latency and throughput through our pipeline vs raw RQ no-op jobs; quota admissions/s.

    .venv/bin/python bench/queue.py [--jobs 1000] [--latency-samples 300] [--runs 3]
                                    [--admissions 20000] [--in-flight 200]

Both sides run one non-forking worker process against a private Redis. Ours uses the placeholder
backend at zero cost (64x64, one image), with quotas set high enough never to refuse.

Latency: one job at a time, from the submit call until the client sees it delivered (ours: the done
event; raw: RQ's result). Throughput: N jobs submitted first (the submit rate is shown apart), then
drained by the worker, timed from the first job's start to the last job's end as RQ records them, so
neither process start-up nor a client competing for the two cores is counted. Admissions: one by one
from one client (bound by the round trip, shown by PING alone), and as a frontend makes them: many at
once on one event loop, sharing round trips (shared/round_trips.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ would come first on sys.path and this file would shadow the stdlib `queue`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import redis as redis_lib  # noqa: E402
from rq import Queue  # noqa: E402
from rq.job import Job  # noqa: E402

from bench._common import background, percentile, private_redis, python, table  # noqa: E402
from bot.core import ImagineCore  # noqa: E402
from shared import keys  # noqa: E402
from shared.configuration.config import QuotaConfig, load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.delivery.results import read_job_events as read_events  # noqa: E402
from shared.drawing.request import ImageRequest, Requester  # noqa: E402
from shared.jobs.queue import SERIALIZER  # noqa: E402
from shared.jobs.round_trips import SharedRoundTrips  # noqa: E402
from shared.ops.redis_conn import connect_async  # noqa: E402
from shared.quotas.quota import Quota  # noqa: E402

RAW_WORKER = (
    "import sys, redis, rq; r = redis.Redis.from_url(sys.argv[1]);"
    "rq.SimpleWorker(['raw'], connection=r).work(logging_level='WARNING')"
)
UNLIMITED = (
    "[quota]\nimages_per_hour = 1000000000\nconcurrent = 1000000000\nworkspace_images_per_day = 1000000000\n"
)


def wait_for_worker(client: redis_lib.Redis, key_pattern: str) -> None:
    deadline = time.monotonic() + 30
    while not list(client.scan_iter(key_pattern)):
        if time.monotonic() > deadline:
            raise SystemExit("worker did not start")
        time.sleep(0.05)


@dataclass
class Run:
    latencies: list[float]
    submits_per_second: float
    drain_per_second: float


def median_run(runs: list[Run]) -> Run:
    """All latency samples together; the median submit and drain rates."""
    return Run(
        [value for run in runs for value in run.latencies],
        statistics.median(run.submits_per_second for run in runs),
        statistics.median(run.drain_per_second for run in runs),
    )


def drained(client: redis_lib.Redis, ids: list[str], serializer) -> float:
    """Jobs per second between the first job's start and the last job's end, as RQ recorded them."""
    first, last = Job.fetch_many([ids[0], ids[-1]], connection=client, serializer=serializer)
    finished = last.latest_result().created_at  # RQ 3 keeps the end time on the result, not the job
    return (len(ids) - 1) / (finished - first.started_at.replace(tzinfo=finished.tzinfo)).total_seconds()


def raw_rq(url: str, jobs: int, samples: int) -> Run:
    client = redis_lib.Redis.from_url(url, socket_timeout=None)  # result waits block on purpose
    queue = Queue("raw", connection=client)
    with background(python("-c", RAW_WORKER, url), {}):
        wait_for_worker(client, "rq:worker:*")
        latencies = []
        for _ in range(samples):
            start = time.perf_counter()
            job = queue.enqueue("os.getpid")
            job.latest_result(timeout=10)
            latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    ids = [queue.enqueue("os.getpid").id for _ in range(jobs)]
    submit_rate = jobs / (time.perf_counter() - start)
    with background(python("-c", RAW_WORKER, url), {}):
        Job.fetch(ids[-1], connection=client).latest_result(timeout=300)
    return Run(latencies, submit_rate, drained(client, ids, None))


def request(index: int) -> ImageRequest:
    who = Requester(platform="cli", workspace="bench", channel="bench", user=f"user{index % 50}")
    return ImageRequest(
        event_id=f"bench-{uuid.uuid4()}", requester=who, prompt="a benchmark", width=64, height=64, seed=index
    )


def wait_done(client: redis_lib.Redis, job_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "0"
    while time.monotonic() < deadline:
        for entry_id, event in read_events(client, job_id, last, 1000):
            last = entry_id
            if event["type"] in ("done", "failed"):
                return
    raise SystemExit(f"job {job_id} did not finish")


def ours(url: str, config_path: Path, jobs: int, samples: int) -> Run:
    client = redis_lib.Redis.from_url(url)
    settings = Settings(_env_file=None, redis_url=url, config_path=config_path)
    core = ImagineCore(settings.model_copy(update={"config": load_config(config_path)}), client)
    env = {"REDIS_URL": url, "IMAGINE_CONFIG": str(config_path)}
    with background(
        python("-m", "bot.cli", "worker", "--backend", "placeholder", "--log-level", "WARNING"), env
    ):
        wait_for_worker(client, keys.worker_alive("*"))
        latencies = []
        for i in range(samples):
            start = time.perf_counter()
            submission = core.submit(request(i))
            wait_done(client, submission.job_id, 10)
            latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    ids = [core.submit(request(i)).job_id for i in range(jobs)]
    submit_rate = jobs / (time.perf_counter() - start)
    with background(
        python("-m", "bot.cli", "worker", "--backend", "placeholder", "--log-level", "WARNING"), env
    ):
        wait_done(client, ids[-1], 300)
        Job.fetch(ids[-1], connection=client, serializer=SERIALIZER).latest_result(timeout=30)
    return Run(latencies, submit_rate, drained(client, ids, SERIALIZER))


@dataclass
class Admissions:
    ping_per_second: float  # the round-trip floor of this machine: no admission can beat it one by one
    sequential_per_second: float
    shared_per_second: float


def admissions(url: str, count: int, in_flight: int) -> Admissions:
    """One client admitting one request at a time, then a frontend's way: `in_flight` at once on an
    event loop, sharing round trips."""
    client = redis_lib.Redis.from_url(url)
    quota = Quota(
        client, QuotaConfig(images_per_hour=10**9, concurrent=10**9, workspace_images_per_day=10**9)
    )
    who = Requester(platform="cli", workspace="bench", channel="bench", user="admissions")
    quota.admit(who, "warm-up", 1)
    start = time.perf_counter()
    for _ in range(count):
        client.ping()
    pings = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(count):
        quota.admit(who, f"adm-{i}", 1)
    sequential = count / (time.perf_counter() - start)

    async def shared() -> float:
        trips = SharedRoundTrips(connect_async(url))
        started = time.perf_counter()
        for wave in range(0, count, in_flight):
            await asyncio.gather(
                *(quota.admit_async(trips, who, f"shared-{i}", 1) for i in range(wave, wave + in_flight))
            )
        return count / (time.perf_counter() - started)

    return Admissions(pings, sequential, asyncio.run(shared()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--admissions", type=int, default=20000)
    parser.add_argument("--in-flight", type=int, default=200, help="admissions at once on one event loop")
    parser.add_argument("--runs", type=int, default=3, help="alternate runs of each side; medians shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "bench.toml"
        config_path.write_text(UNLIMITED)
        raws, ourss = [], []
        for _ in range(args.runs):  # alternating, so a noisy minute on the machine hits both sides
            with private_redis() as url:
                raws.append(raw_rq(url, args.jobs, args.latency_samples))
            with private_redis() as url:
                ourss.append(ours(url, config_path, args.jobs, args.latency_samples))
        raw, our = median_run(raws), median_run(ourss)
        with private_redis() as url:
            adm = admissions(url, args.admissions, args.in_flight)

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.2f}"

    rows = [
        [
            "raw RQ no-op (SimpleWorker)",
            ms(raw.latencies, 50),
            ms(raw.latencies, 99),
            f"{raw.drain_per_second:.0f}",
            f"{raw.submits_per_second:.0f}",
        ],
        [
            "imagine pipeline (placeholder 64x64)",
            ms(our.latencies, 50),
            ms(our.latencies, 99),
            f"{our.drain_per_second:.0f}",
            f"{our.submits_per_second:.0f}",
        ],
        [
            "ours / raw",
            f"{percentile(our.latencies, 50) / percentile(raw.latencies, 50):.2f}x",
            "",
            f"{our.drain_per_second / raw.drain_per_second:.2f}x",
            "",
        ],
    ]
    print(
        f"jobs={args.jobs} latency samples={args.latency_samples} runs={args.runs} (medians;"
        f" drain jobs/s raw {', '.join(f'{r.drain_per_second:.0f}' for r in raws)},"
        f" ours {', '.join(f'{r.drain_per_second:.0f}' for r in ourss)})"
    )
    print(table(["path", "p50 ms", "p99 ms", "jobs/s (drain)", "submits/s"], rows))
    print()
    print(
        table(
            ["quota, one client", "admissions/s"],
            [
                ["PING one by one (the round-trip floor)", f"{adm.ping_per_second:.0f}"],
                ["admissions one by one", f"{adm.sequential_per_second:.0f}"],
                [f"{args.in_flight} at once, shared round trips", f"{adm.shared_per_second:.0f}"],
            ],
        )
    )


if __name__ == "__main__":
    main()
