"""Correctly signed requests that are odd, old or broken get a proper answer at once — never a 500,
never a hang, never a traceback in the log — and the process goes on serving good requests."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from nacl.signing import SigningKey

from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.helpers import wait_until
from tests.slack_harness import slack_env, start_http_app

EPHEMERAL = 64
STALE_BUTTON = "This button no longer works — run /imagine again."


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def discord_fake():
    with FakeDiscord() as server:
        yield server


@pytest.fixture
def slack_fake():
    with FakeSlack() as server:
        yield server


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(payload))
    target = copy
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return copy


def test_discord_answers_every_odd_interaction_and_keeps_serving(discord_fake, processes, redis):
    key = SigningKey.generate()
    env = discord_env(discord_fake, key)
    client = start_http_frontend(processes, env, key, discord_fake)
    frontend = processes.started[-1]
    command = discord_fake.slash_command(prompt="a fox")
    unknown_command = discord_fake.slash_command(name="dance", prompt="a fox")
    wrong_type = discord_fake.slash_command(prompt="a fox")
    wrong_type["data"]["options"].append({"name": "count", "type": 3, "value": "two"})
    press = discord_fake.interaction(3, {"custom_id": "imagine:sparkle:img-old", "component_type": 2})
    long_press = discord_fake.interaction(3, {"custom_id": "x" * 5000, "component_type": 2})
    modal = discord_fake.interaction(5, {"custom_id": "imagine:old-modal:1", "components": []})
    bad_bodies: dict[str, bytes] = {
        "not json": b"hello",
        "a json array": b"[1, 2, 3]",
        "an empty object": b"{}",
        "an unknown type": json.dumps({**command, "type": 99}).encode(),
        "a command without data": json.dumps(_without(command, "data")).encode(),
        "a guild interaction without member": json.dumps(_without(command, "member")).encode(),
        "deeply nested json": nested(100_000).encode(),
    }
    for what, body in bad_bodies.items():
        answer = client.post_raw(body)
        assert answer.status == 400, (what, answer)
    for what, payload in {
        "an unknown command": unknown_command,
        "an option of the wrong type": wrong_type,
    }.items():
        answer = client.post(payload)
        assert answer.status == 200 and answer.type == 4 and answer.ephemeral, (what, answer)
    for payload in (press, long_press, modal):  # before, no handler answered: 2.8 s, then a 500
        answer = client.post(payload)
        assert (answer.status, answer.type, answer.ephemeral) == (200, 4, True), answer
        assert answer.content == STALE_BUTTON

    good = client.post(discord_fake.slash_command(prompt="a good fox"))
    assert (good.status, good.type) == (200, 5)
    log = processes.log_of(frontend)
    assert "Traceback" not in log and frontend.poll() is None, log


def test_slack_answers_every_odd_request_and_keeps_serving(slack_fake, processes, redis):
    sender = start_http_app(processes, slack_env(slack_fake), slack_fake)
    frontend = processes.started[-1]
    command = slack_fake.slash_command("a fox")
    form = "application/x-www-form-urlencoded"
    bad: dict[str, tuple[bytes, str]] = {
        "a body that is not a form": (b"\x00\xff{not a form", form),
        "a command without user_id": (urllib.parse.urlencode(_without(command, "user_id")).encode(), form),
        "an events body that is not json": (b"{not json", "application/json"),
        "an events body that is a json array": (b"[1, 2]", "application/json"),
        "an interactive payload that is not json": (
            urllib.parse.urlencode({"payload": "{oops"}).encode(),
            form,
        ),
        "deeply nested json": (nested(100_000).encode(), "application/json"),
    }
    for what, (body, content_type) in bad.items():
        answer = sender.post_raw(body, content_type)
        assert answer.status == 400, (what, answer)

    good = sender.command("a good fox")
    assert good.status == 200
    parent = wait_until(lambda: slack_fake.parent("a good fox"), what="the good command's status message")
    old_button = sender.interactive(slack_fake.block_action(parent, "imagine:sparkle:img-old"))
    assert old_button.status == 200
    told = wait_until(lambda: slack_fake.ephemeral, what="a private answer to the old button")
    assert told[0]["text"] == STALE_BUTTON and told[0]["user"] == command["user_id"]
    log = processes.log_of(frontend)
    assert "Traceback" not in log and frontend.poll() is None, log
