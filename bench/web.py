"""Does the page feel as fast as chat? Time from a prompt's submit to its first status event on the
member's feed, for many members at once, against the Slack ack in the same run.

    .venv/bin/python bench/web.py [--clients 50] [--rounds 3]

One private Redis serves `imagine web --host 0.0.0.0` (each client a named user of its own, logged in
with its own cookie and CSRF token, following its feed as server-sent events), `imagine slack --http`
against the fake Slack Web API from the tests, and two placeholder workers. Each round, N Slack
members post `/imagine` at once and each one's ack is timed; once their jobs are drawn and posted,
N page members submit a prompt at once, and each one's time is taken to the answer of its POST, to
the first status event of the new job on its feed, and to its images. Each burst thus meets a quiet
machine (2 cores here, shared by every process and this client).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import aiohttp  # noqa: E402
import redis as redis_lib  # noqa: E402
from rq import Queue  # noqa: E402

from bench._common import background, percentile, private_redis, python, table  # noqa: E402
from bench.slack_ack import post_all  # noqa: E402
from bot.results import GROUP  # noqa: E402
from bot.web.access import hash_password  # noqa: E402
from shared import keys  # noqa: E402
from shared.jobs.queue import queue_name  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack  # noqa: E402
from tests.helpers import answers_ok, free_port, wait_until  # noqa: E402

# The members log in at once from this machine: as if through a trusted proxy, each from an address
# of its own, so the login throttle (10 attempts per address) sees 50 people, not one.
CONFIG = (
    "[quota]\nimages_per_hour = 100000\nconcurrent = 100\nworkspace_images_per_day = 1000000\n"
    '[web]\ntrusted_proxies = ["127.0.0.1"]\n'
)
PASSWORD = "bench-password"
HEADERS = [
    "round",
    "members",
    "Slack ack p50/p99 ms",
    "web POST p50/p99 ms",
    "web first status p50/p99 ms",
    "status p99 / ack p99",
    "web images p50/p99 ms",
]


@dataclass
class Member:
    """One browser-less page: its session, its feed's messages as they arrive, and when each came."""

    name: str
    session: aiohttp.ClientSession
    csrf: str = ""
    arrivals: asyncio.Queue[tuple[float, dict]] = field(default_factory=asyncio.Queue)
    jobs_seen: set[str] = field(default_factory=set)
    following: asyncio.Event = field(default_factory=asyncio.Event)

    async def log_in(self, url: str) -> None:
        body = {"name": self.name, "password": PASSWORD}
        address = f"127.0.1.{int(self.name.removeprefix('m')) % 250 + 1}"
        headers = {"X-Imagine": "1", "X-Forwarded-For": address}
        async with self.session.post(f"{url}/api/login", json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            self.csrf = (await response.json())["csrf"]

    async def follow(self, url: str) -> None:
        async with self.session.get(f"{url}/api/events", timeout=aiohttp.ClientTimeout()) as response:
            assert response.status == 200, response.status
            self.following.set()
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    self.arrivals.put_nowait((time.perf_counter(), json.loads(line[6:])))

    async def imagine(self, url: str, prompt: str) -> tuple[float, float, float]:
        """Seconds from submitting to: the POST's answer, the new job's first status, its images."""
        headers = {"X-Imagine": "1", "X-CSRF-Token": self.csrf}
        started = time.perf_counter()
        async with self.session.post(f"{url}/api/say", json={"text": prompt}, headers=headers) as response:
            answer = await response.json()
        answered = time.perf_counter()
        assert answer.get("taken"), answer
        status_at = None
        while True:
            arrived, message = await self.arrivals.get()
            job = message.get("job")
            if message["kind"] == "status" and job not in self.jobs_seen and status_at is None:
                self.jobs_seen.add(job)
                status_at = arrived
            elif message["kind"] == "result" and status_at is not None:
                return answered - started, status_at - started, arrived - started


def pair(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{percentile(ms, 50):.1f} / {percentile(ms, 99):.1f}"


async def web_round(members: list[Member], url: str, round_number: int) -> list[tuple[float, float, float]]:
    return list(await asyncio.gather(*(m.imagine(url, f"a fox {round_number}-{m.name}") for m in members)))


def slack_settled(redis: redis_lib.Redis, jobs: int) -> bool:
    """Whether `jobs` Slack jobs have been drawn and their answers posted: the next round starts on a
    quiet machine, as the Slack round did."""
    finished = Queue(queue_name("placeholder"), connection=redis).finished_job_registry.count
    stream = keys.results("slack")
    groups = redis.xinfo_groups(stream) if redis.exists(stream) else []
    [frontends] = [g for g in groups if g["name"].decode() == GROUP] or [None]
    return finished >= jobs and frontends is not None and frontends["pending"] == frontends["lag"] == 0


async def run_rounds(
    web_url: str, slack_url: str, clients: int, rounds: int, payloads: FakeSlack, redis: redis_lib.Redis
) -> list[list[str]]:
    rows = []
    connector = aiohttp.TCPConnector(limit=0)
    sessions = [  # a cookie jar each (unsafe=True: it keeps cookies of a bare IP like 127.0.0.1)
        aiohttp.ClientSession(
            connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        for _ in range(clients)
    ]
    members = [Member(f"m{i}", session) for i, session in enumerate(sessions)]
    following: list[asyncio.Task] = []
    try:
        await asyncio.gather(*(m.log_in(web_url) for m in members))
        following = [asyncio.create_task(m.follow(web_url)) for m in members]
        await asyncio.gather(*(m.following.wait() for m in members))
        for round_number in range(1, rounds + 1):
            bodies = [
                urllib.parse.urlencode(
                    payloads.slash_command(f"a fox {i}", user=f"U{round_number}x{i}")
                ).encode()
                for i in range(clients)
            ]
            acks = await post_all(slack_url, bodies)
            done = 2 * clients * (round_number - 1) + clients
            await asyncio.to_thread(
                wait_until, lambda n=done: slack_settled(redis, n), timeout=120, what="Slack's answers"
            )
            timings = await web_round(members, web_url, round_number)
            posts, statuses, images = (list(column) for column in zip(*timings, strict=True))
            ratio = percentile(statuses, 99) / percentile(acks, 99)
            rows.append(
                [
                    str(round_number),
                    str(clients),
                    pair(acks),
                    pair(posts),
                    pair(statuses),
                    f"{ratio:.2f}×",
                    pair(images),
                ]
            )
    finally:
        for task in following:
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)
        for session in sessions:
            await session.close()
        await connector.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fake_port, slack_port, web_port = free_port(), free_port(), free_port()
    payloads = FakeSlack()  # builds request bodies only; the serving fake is a process of its own
    serve_fake = python("-c", f"from tests.fakes.slack_api import serve; serve({fake_port})")
    users = "".join(f'm{i} = "{hash_password(PASSWORD)}"\n' for i in range(args.clients))
    with private_redis() as redis_url, background(serve_fake, {}), tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "imagine.toml"
        config.write_text(CONFIG + "[web.users]\n" + users)
        env = {
            "REDIS_URL": redis_url,
            "IMAGINE_CONFIG": str(config),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"http://127.0.0.1:{fake_port}/api/",
        }
        quiet = ["--log-level", "WARNING"]
        slack = python("-m", "bot.cli", "slack", "--http", "--host", "127.0.0.1", "--port", str(slack_port))
        page = python("-m", "bot.cli", "web", "--host", "0.0.0.0", "--port", str(web_port))
        worker = python("-m", "bot.cli", "worker", "--backend", "placeholder", *quiet)
        with (
            background([*slack, *quiet], env),
            background([*page, *quiet], env),
            background(worker, env),
            background(worker, env),
        ):
            slack_url, web_url = f"http://127.0.0.1:{slack_port}", f"http://127.0.0.1:{web_port}"
            wait_until(lambda: answers_ok(f"{slack_url}/healthz"), timeout=30, what="the Slack app")
            wait_until(lambda: answers_ok(f"{web_url}/healthz"), timeout=30, what="imagine web")
            redis = redis_lib.Redis.from_url(redis_url)
            rows = asyncio.run(run_rounds(web_url, slack_url, args.clients, args.rounds, payloads, redis))
    print(table(HEADERS, rows))


if __name__ == "__main__":
    main()
