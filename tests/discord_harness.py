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
        answer = self.post_raw(json.dumps(payload).encode(), timestamp=timestamp, key=key)
        if answer.status == 200:
            self.fake.answered_over_http(payload, answer.body)
        return answer

    def post_raw(self, body: bytes, *, timestamp: int | None = None, key: SigningKey | None = None) -> Answer:
        """Any body, correctly signed: what a bug, an old client or an attacker with the key could send."""
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
                return Answer(response.status, _json_or_text(response.read()))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _json_or_text(error.read()))


def _json_or_text(body: bytes) -> dict[str, Any]:
    """The answer's JSON; a non-JSON answer (aiohttp's error page) as {"text": ...} for the assertion."""
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {"text": body.decode(errors="replace")}


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
