"""Starting `imagine web` with a placeholder worker for the web tests (HTTP and browser)."""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import redis as redis_lib

from bot.web.access import hash_password
from tests.helpers import Processes


def start_web(
    processes: Processes,
    redis: redis_lib.Redis,
    config_file: Callable[[str], Path],
    config: str,
    *,
    host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> str:
    """The page's URL once it answers, with a worker serving its jobs; `config` is TOML (may be empty).
    The URL always reaches it through 127.0.0.1, whichever `host` it listens on."""
    env = {**({"IMAGINE_CONFIG": str(config_file(config))} if config else {}), **(env or {})}
    processes.worker(env, redis)
    return processes.serving("web", env=env, what="imagine web", host=host, port=port)


def user_line(name: str, password: str) -> str:
    """One user's line under `[web.users]`, as `imagine web-password` prints it."""
    return f'{name} = "{hash_password(password)}"\n'


Message = dict


class Page:
    """What the page's script does, from Python: a browser's cookies, the session's CSRF token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cookies = http.cookiejar.CookieJar()
        self._open = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies)).open
        self.csrf: str | None = None
        self.session = self.get_json("/api/session")
        self.csrf = self.session["csrf"]

    def get_json(self, path: str) -> dict:
        status, body, _ = self.get(path)
        assert status == 200, body
        return json.loads(body)

    def login(self, name: str, password: str) -> tuple[int, dict]:
        status, answer = self.post("/api/login", {"name": name, "password": password})
        if status == 200:
            self.csrf = answer["csrf"]
        return status, answer

    def post(self, path: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        token = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-Imagine": "1", **token, **(headers or {})},
            method="POST",
        )
        try:
            with self._open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def upload(self, path: str, pictures: list[bytes], **fields: str) -> dict:
        """A multipart action, as the page sends a prompt with pictures (or a picture to describe)."""
        boundary = "imagine-test-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        for n, data in enumerate(pictures):
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="picture"; filename="p{n}.png"\r\n'
                "Content-Type: image/png\r\n\r\n"
            )
            parts.append(head.encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            self.url + path,
            data=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "X-Imagine": "1",
                "X-CSRF-Token": self.csrf or "",
            },
            method="POST",
        )
        with self._open(request, timeout=20) as response:
            return json.loads(response.read())

    def say(self, text: str, thread: str | None = None) -> dict:
        status, answer = self.post("/api/say", {"text": text, **({"thread": thread} if thread else {})})
        assert status == 200, answer
        return answer

    def press(self, button: str, thread: str | None) -> dict:
        status, answer = self.post("/api/press", {"id": button, "thread": thread})
        assert status == 200, answer
        return answer

    def feed_until(self, found: Callable[[list[Message]], object], timeout: float = 20) -> list[Message]:
        """The feed from the start, read until `found(messages)` holds."""
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        with self._open(self.url + "/api/events", timeout=timeout) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    messages.append(json.loads(line.removeprefix("data: ")))
                    if found(messages):
                        return messages
                if time.monotonic() > deadline:
                    break
        raise AssertionError(f"the feed never showed what was awaited: {messages}")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with self._open(request, timeout=10) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)
