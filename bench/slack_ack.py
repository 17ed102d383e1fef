"""Time from a signed /imagine request to Slack's 200 ack, with many arriving at once.

    .venv/bin/python bench/slack_ack.py [--requests 200] [--rounds 3]

`imagine slack --http` runs as its own process against a private Redis and the fake Slack Web API
from the tests; N signed slash commands from N different members are posted at once to
POST /slack/events, and each one's time from sending to the HTTP answer is recorded. The parent
messages the app posts after acking run on the same event loop meanwhile; each round starts once
the last one's jobs are all enqueued. The fake runs in a process of its own, so its work does not
slow the client that times the answers. No worker runs: the queue only fills.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import aiohttp  # noqa: E402
import redis as redis_lib  # noqa: E402
from rq import Queue  # noqa: E402

from bench._common import ACK_HEADERS, ack_row, background, private_redis, python, table  # noqa: E402
from shared.jobs.queue import queue_name  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack  # noqa: E402
from tests.helpers import answers_ok, free_port, wait_until  # noqa: E402

CONFIG = "[quota]\nimages_per_hour = 100000\nconcurrent = 100\nworkspace_images_per_day = 1000000\n"


async def post_all(url: str, bodies: list[bytes]) -> list[float]:
    async def one(session: aiohttp.ClientSession, body: bytes) -> float:
        headers = {"content-type": "application/x-www-form-urlencoded", **FakeSlack.signed(body)}
        started = time.perf_counter()
        async with session.post(f"{url}/slack/events", data=body, headers=headers) as response:
            await response.read()
        assert response.status == 200, response.status
        return time.perf_counter() - started

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        return list(await asyncio.gather(*(one(session, body) for body in bodies)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    fake_port = free_port()
    payloads = FakeSlack()  # builds request bodies only; the serving fake is the process below
    serve_fake = python("-c", f"from tests.fakes.slack_api import serve; serve({fake_port})")
    with private_redis() as redis_url, background(serve_fake, {}), tempfile.TemporaryDirectory() as folder:
        waiting = Queue(queue_name("placeholder"), connection=redis_lib.Redis.from_url(redis_url))
        config = Path(folder) / "imagine.toml"
        config.write_text(CONFIG)
        port = free_port()
        env = {
            "REDIS_URL": redis_url,
            "IMAGINE_CONFIG": str(config),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"http://127.0.0.1:{fake_port}/api/",
        }
        command = python("-m", "bot.cli", "slack", "--http", "--host", "127.0.0.1", "--port", str(port))
        with background([*command, "--log-level", "WARNING"], env):
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: answers_ok(f"{url}/healthz"), timeout=30, what="the Slack app")
            for round_number in range(1, args.rounds + 1):
                bodies = [
                    urllib.parse.urlencode(
                        payloads.slash_command(f"a fox {i}", user=f"U{round_number}x{i}")
                    ).encode()
                    for i in range(args.requests)
                ]
                times = asyncio.run(post_all(url, bodies))
                queued = round_number * args.requests
                wait_until(lambda n=queued: waiting.count >= n, timeout=120, what="the jobs to be enqueued")
                rows.append(ack_row(round_number, args.requests, times))
    print(table(ACK_HEADERS, rows))


if __name__ == "__main__":
    main()
