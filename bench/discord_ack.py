"""Time from a /imagine interaction to its defer answer, with many arriving at once.

    .venv/bin/python bench/discord_ack.py [--requests 200] [--rounds 3]

`imagine discord --http` runs as its own process against a private Redis and the fake Discord REST
API from the tests; N signed /imagine interactions from N different members are posted at once, and
each one's time from sending to the HTTP answer (the defer Discord needs within 3 s) is recorded.
The frontend's follow-up REST calls (status message, thread) run on the same event loop meanwhile,
so they are part of what the answers compete with; each round starts once the last one's threads are
open. The timing client runs in a process of its own. No worker runs: the queue only fills.

The same rounds first go to a bare aiohttp server that checks the Ed25519 signature and answers the
defer and nothing else, in its own process: the floor this machine allows, for the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import aiohttp  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402
from redis import Redis  # noqa: E402

from bench._common import ACK_HEADERS, ack_row, background, private_redis, python, table  # noqa: E402
from shared.jobs.queue import queue_key  # noqa: E402
from tests.fakes.discord_api import TOKEN, FakeDiscord  # noqa: E402
from tests.helpers import answers_ok, free_port, wait_until  # noqa: E402

CONFIG = "[quota]\nimages_per_hour = 100000\nconcurrent = 100\nworkspace_images_per_day = 1000000\n"


async def post_all(url: str, fake_url: str, key: SigningKey, payloads: list[dict]) -> list[float]:
    async def one(session: aiohttp.ClientSession, payload: dict) -> float:
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
            "X-Signature-Timestamp": stamp,
        }
        started = time.perf_counter()
        async with session.post(f"{url}/interactions", data=body, headers=headers) as response:
            answer = await response.json()
        took = time.perf_counter() - started
        assert response.status == 200 and answer["type"] == 5, answer
        # As Discord does, the answer creates the message the frontend then edits.
        async with session.post(
            f"{fake_url}/_test/answered", json={"interaction": payload, "answer": answer}
        ):
            pass
        return took

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        return list(await asyncio.gather(*(one(session, p) for p in payloads)))


def burst_in_a_process_of_its_own(
    url: str, fake_url: str, key: SigningKey, payloads: list[dict]
) -> list[float]:
    """The timing client runs apart from the fake, whose threads would otherwise share its interpreter."""
    spec = {"url": url, "fake_url": fake_url, "key": key.encode().hex(), "payloads": payloads}
    result = subprocess.run(
        python(__file__, "--client"), input=json.dumps(spec), capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"the timing client failed:\n{result.stderr}")
    return json.loads(result.stdout)


def bare_server(port: int, public_key: str) -> None:
    """aiohttp + PyNaCl only: verify, answer type 5."""
    from aiohttp import web
    from nacl.signing import VerifyKey

    verify = VerifyKey(bytes.fromhex(public_key))

    async def interactions(request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers["X-Signature-Timestamp"]
        verify.verify(stamp.encode() + body, bytes.fromhex(request.headers["X-Signature-Ed25519"]))
        return web.json_response({"type": 5})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/interactions", interactions)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, backlog=1024, print=None)


def client() -> None:
    spec = json.loads(sys.stdin.read())
    key = SigningKey(bytes.fromhex(spec["key"]))
    print(json.dumps(asyncio.run(post_all(spec["url"], spec["fake_url"], key, spec["payloads"]))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frontends", type=int, default=1, help="processes sharing the port (reuse_port)")
    args = parser.parse_args()
    key = SigningKey.generate()
    rows: list[list[str]] = []
    bare_rows: list[list[str]] = []
    settings_backend = "placeholder"
    with private_redis() as redis_url, FakeDiscord() as fake, tempfile.TemporaryDirectory() as folder:
        redis = Redis.from_url(redis_url)
        config = Path(folder) / "imagine.toml"
        config.write_text(CONFIG)
        port = free_port()
        env = {
            "REDIS_URL": redis_url,
            "IMAGINE_CONFIG": str(config),
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": fake.api_base,
            "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
        }
        command = python("-m", "bot.cli", "discord", "--http", "--host", "127.0.0.1", "--port", str(port))
        command += ["--log-level", "WARNING"]
        bare_port = free_port()
        bare = python(__file__, "--bare-server", str(bare_port), key.verify_key.encode().hex())
        with background(bare, {}):
            bare_url = f"http://127.0.0.1:{bare_port}"
            wait_until(lambda: answers_ok(f"{bare_url}/healthz"), timeout=30, what="the bare server")
            for round_number in range(1, args.rounds + 1):
                payloads = [fake.slash_command(prompt=f"bare {i}") for i in range(args.requests)]
                times = burst_in_a_process_of_its_own(bare_url, fake.url, key, payloads)
                bare_rows.append(ack_row(round_number, args.requests, times))
        with ExitStack() as stack:
            for _ in range(args.frontends):
                stack.enter_context(background(command, env))
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: answers_ok(f"{url}/healthz"), timeout=30, what="the frontend")
            for round_number in range(1, args.rounds + 1):
                payloads = [
                    fake.slash_command(
                        prompt=f"a fox number {i}", member=fake.member(str(1700000000000000000 + i))
                    )
                    for i in range(args.requests)
                ]
                times = burst_in_a_process_of_its_own(url, fake.url, key, payloads)
                # Each round starts on an idle frontend: the last round's threads are all open and its
                # jobs all enqueued.
                opened = round_number * args.requests
                wait_until(lambda n=opened: len(fake.threads()) >= n, timeout=120, what="the follow-ups")
                wait_until(
                    lambda n=opened: redis.llen(queue_key(settings_backend)) >= n, timeout=60, what="the jobs"
                )
                rows.append(ack_row(round_number, args.requests, times))
    print("bare aiohttp + Ed25519 (answers type 5, nothing else)")
    print(table(ACK_HEADERS, bare_rows))
    print("\nimagine discord --http")
    print(table(ACK_HEADERS, rows))
    worst_bare = max(float(r[3]) for r in bare_rows)
    worst = max(float(r[3]) for r in rows)
    print(f"\nworst p99: ours {worst:.1f} ms, bare {worst_bare:.1f} ms, ratio {worst / worst_bare:.1f}x")


if __name__ == "__main__":
    if "--client" in sys.argv:
        client()
    elif "--bare-server" in sys.argv:
        bare_server(int(sys.argv[2]), sys.argv[3])
    else:
        main()
