"""Running the Discord frontend for tests: the HTTP-interactions process, signed requests, a worker."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

from tests.fakes.discord_api import TOKEN, FakeDiscord
from tests.helpers import Processes


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def type(self) -> int:
        return self.body.get("type", 0)

    @property
    def content(self) -> str:
        return (self.body.get("data") or {}).get("content", "")

    @property
    def ephemeral(self) -> bool:
        return bool((self.body.get("data") or {}).get("flags", 0) & 64)


class SignedClient:
    """Posts interactions to `imagine discord --http` the way Discord does: Ed25519-signed."""

    def __init__(self, url: str, key: SigningKey, fake: FakeDiscord) -> None:
        self.url = url
        self.key = key
        self.fake = fake

    def post(
        self, payload: dict[str, Any], *, timestamp: int | None = None, key: SigningKey | None = None
    ) -> Answer:
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = (key or self.key).sign(stamp.encode() + body).signature.hex()
        request = urllib.request.Request(
            f"{self.url}/interactions",
            data=body,
            method="POST",
            headers={
                "content-type": "application/json",
                "X-Signature-Ed25519": signature,
                "X-Signature-Timestamp": stamp,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = Answer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, json.loads(error.read() or b"{}"))
        self.fake.answered_over_http(payload, answer.body)
        return answer


def discord_env(fake: FakeDiscord, key: SigningKey, config_path=None) -> dict[str, str]:
    env = {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
    }
    if config_path is not None:
        env["IMAGINE_CONFIG"] = str(config_path)
    return env


def start_http_frontend(
    processes: Processes, env: dict[str, str], key: SigningKey, fake: FakeDiscord
) -> SignedClient:
    url = processes.serving("discord", "--http", env=env, what="the Discord frontend to serve /healthz")
    return SignedClient(url, key, fake)
