"""Running the Slack app for tests: `imagine slack --http`, signed requests, a worker."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers import Processes


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    @property
    def text(self) -> str:
        """What the member sees of an ack: bolt answers plain text, or JSON with a `text` field."""
        try:
            return str(self.json().get("text", ""))
        except ValueError:
            return self.body.decode()


class SlackSender:
    """Sends what Slack sends to `POST /slack/events`, signed with the signing secret."""

    def __init__(self, url: str, fake: FakeSlack) -> None:
        self.url = url
        self.fake = fake

    def _post(
        self, body: bytes, content_type: str, *, timestamp=None, secret=SIGNING_SECRET, headers=None
    ) -> Answer:
        all_headers = {
            "content-type": content_type,
            **FakeSlack.signed(body, timestamp=timestamp, secret=secret),
        }
        all_headers.update(headers or {})
        request = urllib.request.Request(
            f"{self.url}/slack/events", data=body, method="POST", headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read())

    def post_raw(self, body: bytes, content_type: str) -> Answer:
        """Any body, correctly signed: what a bug, an old client or an attacker with the secret could send."""
        return self._post(body, content_type)

    def command(self, text: str, **kwargs: Any) -> Answer:
        signing = {k: kwargs.pop(k) for k in ("timestamp", "secret") if k in kwargs}
        body = urllib.parse.urlencode(self.fake.slash_command(text, **kwargs)).encode()
        return self._post(body, "application/x-www-form-urlencoded", **signing)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> Answer:
        body = json.dumps(self.fake.event(event, event_id=event_id)).encode()
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self._post(body, "application/json", headers=headers)

    def interactive(self, payload: dict[str, Any]) -> Answer:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self._post(body, "application/x-www-form-urlencoded")


def slack_env(fake: FakeSlack, config_path=None) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
    }
    if config_path is not None:
        env["IMAGINE_CONFIG"] = str(config_path)
    return env


def start_http_app(processes: Processes, env: dict[str, str], fake: FakeSlack) -> SlackSender:
    url = processes.serving("slack", "--http", env=env, what="the Slack app to serve /healthz")
    return SlackSender(url, fake)
