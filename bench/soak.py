"""Soak: many jobs through real workers while one worker is SIGKILLed every few seconds and Redis is
SIGKILLed and restarted (from its append-only file) once. Nothing may be lost or posted twice.

    .venv/bin/python bench/soak.py [--jobs 2000] [--workers 3] [--kill-every 3] [--delay 0.02]
    .venv/bin/python bench/soak.py --platform discord [--frontends 2] [--frontend-kill-every 4]
    .venv/bin/python bench/soak.py --sentinel [--jobs 500]

Jobs run on the placeholder backend at 64x64, `--delay` seconds each. With `--platform cli` they are
command-line requests: each job's events land in its own Redis stream, as `imagine generate` reads
them; a job counts as delivered with exactly one `done` event, duplicated with more than one final
event, failed with one `failed` event, and lost with none once the run has settled. With `--platform
discord` they are Discord requests: results flow through the Discord result stream to `imagine
discord --http` frontends, one of which is SIGKILLed every `--frontend-kill-every` seconds, and
posted into a fake Discord; a job counts as delivered with exactly one image post, duplicated with
more, failed when RQ failed it, lost otherwise. Latency is from submission to the result.

With `--sentinel`, Redis is a master, a replica and three sentinels (tests/sentinel_harness.py, as
compose's `ha` profile: failover 2 s after the master stops answering) and every process connects
through REDIS_URL=redis+sentinel://…; at half the submissions the master is SIGKILLed for good
instead of restarted, and the report adds how long the sentinels took to name the replica and the
time from the kill to the next job done.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import redis as redis_lib  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

from bench._common import background, percentile, python, small_request, table  # noqa: E402
from bot.core import ImagineCore  # noqa: E402
from shared import keys  # noqa: E402
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.ops.redis_conn import connect  # noqa: E402
from tests.fakes.discord_api import CHANNEL_ID, TOKEN, FakeDiscord  # noqa: E402
from tests.helpers import RedisServer, free_port, wait_until  # noqa: E402
from tests.sentinel_harness import SentinelTopology  # noqa: E402

CONFIG = """
[quota]
images_per_hour = 1000000
concurrent = 1000000
workspace_images_per_day = 100000000
[jobs]
retries = 5
retry_intervals = [1, 2, 4]
position_update_ms = 1000
"""
SETTLE_SECONDS = 90


WORKER = ("worker", "--backend", "placeholder", "--log-level", "ERROR")


class Fleet:
    """Processes of one `imagine` command; one is killed and replaced every `every` seconds until stopped."""

    def __init__(
        self, env: dict[str, str], count: int, every: float, command: tuple[str, ...] = WORKER
    ) -> None:
        self._env, self._every, self._command = env, every, command
        self._stack = [self._start() for _ in range(count)]
        self.kills = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._chaos, daemon=True)

    def _start(self):
        context = background(python("-m", "bot.cli", *self._command), self._env)
        process = context.__enter__()
        return context, process

    def _chaos(self) -> None:
        while not self._stop.wait(self._every):
            for index, (context, process) in enumerate(self._stack):
                if process.poll() is not None:  # it stopped by itself: restarted, as compose does
                    context.__exit__(None, None, None)
                    self._stack[index] = self._start()
            index = random.randrange(len(self._stack))
            context, process = self._stack[index]
            process.kill()
            context.__exit__(None, None, None)
            self.kills += 1
            self._stack[index] = self._start()

    def run_chaos(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for context, _ in self._stack:
            context.__exit__(None, None, None)


def submit_all(core_for, platform: str, jobs: int, submitted: dict[str, float], rate: float = 0) -> None:
    """Submit `jobs` requests (`rate` a second; 0: at once), riding out the Redis restart (a refused
    connection is retried)."""
    core = core_for()
    started = time.monotonic()
    for number in range(jobs):
        if rate:
            time.sleep(max(0.0, started + number / rate - time.monotonic()))
        request = small_request(platform, number, "soak")
        while True:
            try:
                submitted[core.submit(request).job_id] = request.submitted_at
                break
            except redis_lib.RedisError:
                time.sleep(0.2)
                core = core_for()


def posted_outcomes(
    client: redis_lib.Redis, fake: FakeDiscord, submitted: dict[str, float]
) -> dict[str, list]:
    """Per job: its image posts in the fake Discord (the embed's footer names the job)."""
    posts: dict[str, list[float]] = {}
    for message in fake.image_posts_in(CHANNEL_ID):
        job_id = message.data["embeds"][0]["footer"]["text"].rsplit(" ", 1)[-1]
        posts.setdefault(job_id, []).append(message.at)
    result: dict[str, list] = {"delivered": [], "duplicated": [], "failed": [], "lost": []}
    for job_id, at in submitted.items():
        found = posts.get(job_id, [])
        if len(found) > 1:
            result["duplicated"].append(job_id)
        elif found:
            result["delivered"].append(found[0] - at)
        elif client.hget(f"rq:job:{job_id}", "status") == b"failed":
            result["failed"].append(job_id)
        else:
            result["lost"].append(job_id)
    return result


def outcomes(client: redis_lib.Redis, submitted: dict[str, float]) -> dict[str, list]:
    result: dict[str, list] = {"delivered": [], "duplicated": [], "failed": [], "lost": []}
    for job_id, at in submitted.items():
        finals = [
            (int(entry_id.decode().split("-")[0]) / 1000, json.loads(fields[b"event"]))
            for entry_id, fields in client.xrange(keys.events(job_id))
        ]
        finals = [(t, e) for t, e in finals if e["type"] in ("done", "failed")]
        if len(finals) > 1:
            result["duplicated"].append(job_id)
        elif not finals:
            result["lost"].append(job_id)
        elif finals[0][1]["type"] == "failed":
            result["failed"].append(job_id)
        else:
            result["delivered"].append(finals[0][0] - at)
    return result


def _where(client: redis_lib.Redis, job_id: str) -> str:
    """Where a lost job is stuck, for the report."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from shared.jobs.queue import SERIALIZER

    try:
        job = Job.fetch(job_id, connection=client, serializer=SERIALIZER)
    except NoSuchJobError:
        return "no such job"
    started = client.zscore("rq:wip:imagine-placeholder", job_id)
    status, worker = job.get_status(), job.worker_name
    return f"status={status} worker={worker} retries_left={job.retries_left} in_started={started}"


def _next_done_after(client, submitted: dict[str, float], killed: float) -> float | None:
    """Seconds from `killed` to the first `done` event written after it (a command-line job's stream)."""
    times = [
        int(entry_id.decode().split("-")[0]) / 1000
        for job_id in submitted
        for entry_id, fields in client.xrange(keys.events(job_id))
        if json.loads(fields[b"event"])["type"] == "done"
    ]
    after = [t - killed for t in times if t > killed]
    return min(after) if after else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=3.0)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--platform", choices=("cli", "discord"), default="cli")
    parser.add_argument("--frontends", type=int, default=2, help="with --platform discord")
    parser.add_argument("--frontend-kill-every", type=float, default=4.0, help="with --platform discord")
    parser.add_argument("--sentinel", action="store_true", help="Redis behind sentinels; the master dies")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="submissions a second (default: all at once)",
    )
    args = parser.parse_args()
    with FakeDiscord() as fake:
        soak(args, fake)


def soak(args: argparse.Namespace, fake: FakeDiscord) -> None:
    topology = SentinelTopology().start() if args.sentinel else None
    redis_server = topology.master if topology is not None else RedisServer(aof=True)
    if topology is None:
        redis_server.start()
    url = topology.url if topology is not None else redis_server.url
    failover = {"killed": 0.0, "named": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "imagine.toml"
        config.write_text(CONFIG)
        env = {
            "REDIS_URL": url,
            "IMAGINE_CONFIG": str(config),
            "IMAGINE_PLACEHOLDER_DELAY": str(args.delay),
        }
        settings = Settings(_env_file=None, redis_url=url).model_copy(update={"config": load_config(config)})

        def core_for() -> ImagineCore:
            return ImagineCore(settings, connect(url, check=False))

        fleet = Fleet(env, args.workers, args.kill_every)
        frontends = None
        if args.platform == "discord":
            key = SigningKey.generate().verify_key.encode().hex()
            frontend_env = {
                **env,
                "DISCORD_TOKEN": TOKEN,
                "DISCORD_API_BASE": fake.api_base,
                "DISCORD_PUBLIC_KEY": key,
            }
            command = ("discord", "--http", "--host", "127.0.0.1", "--port", str(free_port()), "--no-sync")
            frontends = Fleet(
                frontend_env, args.frontends, args.frontend_kill_every, (*command, "--log-level", "ERROR")
            )
        submitted: dict[str, float] = {}
        rate = args.rate or 0.0
        started = time.time()
        submitter = threading.Thread(
            target=submit_all, args=(core_for, args.platform, args.jobs, submitted, rate), daemon=True
        )
        judge = (
            (lambda client: posted_outcomes(client, fake, submitted))
            if args.platform == "discord"
            else (lambda client: outcomes(client, submitted))
        )
        try:
            fleet.run_chaos()
            if frontends is not None:
                frontends.run_chaos()
            submitter.start()
            wait_until(lambda: len(submitted) >= args.jobs // 2, timeout=600, what="half the jobs submitted")
            if topology is not None:  # the master's host dies: the sentinels promote the replica
                failover["killed"] = time.time()
                topology.kill_master()
                failover["named"] = topology.wait_for_failover()
            else:
                redis_server.kill()  # mid-run: every acknowledged write is in the append-only file
                redis_server.start()
            submitter.join()
            client = connect(url)
            settled = lambda: not judge(client)["lost"]  # noqa: E731
            try:
                wait_until(settled, timeout=SETTLE_SECONDS, what="every job to end")
            except AssertionError:
                pass  # report what is lost rather than fail the benchmark
            result = judge(client)
            took = time.time() - started
            lost_states = [_where(client, job_id) for job_id in result["lost"]]
            next_done = None
            if topology is not None and args.platform == "discord":  # the first image posted after it
                after = [m.at - failover["killed"] for m in fake.image_posts_in(CHANNEL_ID)]
                next_done = min((t for t in after if t > 0), default=None)
            elif topology is not None:
                next_done = _next_done_after(client, submitted, failover["killed"])
        finally:
            fleet.close()
            if frontends is not None:
                frontends.close()
            if topology is not None:
                topology.stop()
            else:
                redis_server.stop()
    latencies = [t * 1000 for t in result["delivered"]]
    rows = [
        [
            str(args.jobs),
            str(len(submitted)),
            str(len(result["delivered"])),
            str(len(result["duplicated"])),
            str(len(result["failed"])),
            str(len(result["lost"])),
            f"{percentile(latencies, 50):.0f}" if latencies else "-",
            f"{percentile(latencies, 99):.0f}" if latencies else "-",
            str(fleet.kills),
            str(frontends.kills if frontends is not None else "-"),
            f"{took:.0f}",
        ]
    ]
    headers = [
        "jobs",
        "submitted",
        "delivered",
        "duplicated",
        "failed",
        "lost",
        "p50 ms",
        "p99 ms",
        "worker kills",
        "frontend kills",
        "s",
    ]
    print(table(headers, rows))
    if topology is not None:
        print(
            f"The Redis master SIGKILLed at half the submissions: the sentinels named the replica "
            f"{failover['named']:.1f} s later; the next job was done {next_done:.1f} s after the kill."
            if next_done is not None
            else "The Redis master SIGKILLed at half the submissions: no job was done after it."
        )
    else:
        print("Redis SIGKILLed and restarted from its AOF once, at half the submissions.")
    for job_id, state in zip(result["lost"], lost_states, strict=True):
        print(f"lost {job_id}: {state}")


if __name__ == "__main__":
    main()
