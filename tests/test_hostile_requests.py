"""Correctly signed requests that are odd, old or broken get a proper answer at once — never a 500,
never a hang, never a traceback in the log — and the process goes on serving good requests."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from nacl.signing import SigningKey

from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.helpers import wait_until
from tests.slack_harness import slack_env, start_http_app
from tests.web_harness import start_web

EPHEMERAL = 64
STALE_BUTTON = "This button no longer works — run /imagine again."
UNREADABLE = "This request could not be read: "
OUR_FAULT = "Something went wrong on my side"
ANSWER_WITHIN_SECONDS = 1.0


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


def _discord_corpus(fake: FakeDiscord) -> dict[str, tuple[dict[str, Any], str]]:
    """Signed interactions of odd shapes, each with what the answer must say (a private answer naming
    the request's fault); "400" where the body is not an interaction anyone can be answered in."""

    def command(*options: dict[str, Any], name: str = "imagine", **data: Any) -> dict[str, Any]:
        payload = fake.slash_command(name=name)
        payload["data"]["options"] = list(options)
        payload["data"].update(data)
        return payload

    def text(name: str, value: Any, kind: int = 3) -> dict[str, Any]:
        return {"name": name, "type": kind, "value": value}

    prompt = text("prompt", "a fox")
    picture = fake.attach(b"not really a png", "a.png")
    image = text("image", picture["id"], 11)
    no_target = fake.message_command("Describe image")
    no_target["data"].pop("resolved")
    other_target = fake.message_command("Describe image")
    other_target["data"]["target_id"] = "999"
    without_options = command()
    without_options["data"].pop("options")
    return {
        "a number as the prompt": (command(text("prompt", 5)), "“prompt” must be text"),
        "an object as the prompt": (command(text("prompt", {"a": 1})), "“prompt” must be text"),
        "a list as the prompt": (command(text("prompt", ["a"])), "“prompt” must be text"),
        "null as the prompt": (command(text("prompt", None)), "“prompt” must be text"),
        "text as the count": (command(prompt, text("count", "two", 4)), "“count” must be a whole number"),
        "a fraction as the count": (command(prompt, text("count", 2.5, 4)), "“count” must be a whole"),
        "true as the count": (command(prompt, text("count", True, 4)), "“count” must be a whole number"),
        "text as enhance": (command(prompt, text("enhance", "yes", 5)), "“enhance” must be true or false"),
        "text as strength": (command(prompt, text("strength", "a", 10)), "“strength” must be a number"),
        "a string as the prompt's type": (command({**prompt, "type": 4}), "not of the type"),
        "options that are an object": (command(options={"prompt": "x"}), "options are not a list"),
        "options that are a string": (command(options="prompt"), "options are not a list"),
        "an option that is a string": (command(options=["prompt"]), "has no name"),
        "an option without a name": (command({"type": 3, "value": "x"}), "has no name"),
        "an option named by a number": (command(text(7, "x")), "has no name"),  # type: ignore[arg-type]
        "the same option twice": (command(prompt, prompt), "“prompt” is given twice"),
        "thousands of options": (command(*[prompt] * 5000), "5,000 options"),
        "no options at all": (command(), "no “prompt”"),
        "no options key": (without_options, "no “prompt”"),
        "an option the command lacks": (command(prompt, text("bogus", "y")), "“bogus”"),
        "a subcommand it does not have": (command({"name": "sub", "type": 1, "options": "x"}), "“sub”"),
        "an image with no resolved data": (command(prompt, image), "not in the request"),
        "resolved data that is a list": (command(prompt, image, resolved=[1]), "resolved data"),
        "resolved attachments in a list": (
            command(prompt, image, resolved={"attachments": [picture]}),
            "resolved attachments",
        ),
        "resolved without the named attachment": (
            command(prompt, text("image", "123", 11), resolved={"attachments": {picture["id"]: picture}}),
            "not in the request",
        ),
        "an attachment without its fields": (
            command(prompt, image, resolved={"attachments": {picture["id"]: {"id": picture["id"]}}}),
            "incomplete",
        ),
        "/blend with no pictures": (command(name="blend"), "“image1”, “image2”"),
        "/describe without its picture": (command(image, name="describe"), "not in the request"),
        "/quota with an option": (command(prompt, name="quota"), "/quota does not take"),
        "a command type that is text": (command(prompt, type="one"), "type is not a number"),
        "a message command without resolved": (no_target, "target is not in the request"),
        "a message command on another message": (other_target, "target is not in the request"),
        "a cancel of a job nobody has": (
            fake.press_under_new_message(f"imagine:cancel:img-{'0' * 32}"),
            "I don't know that job",
        ),
        "a press of a button its message lacks": (
            fake.interaction(3, {"custom_id": f"imagine:cancel:img-{'0' * 32}", "component_type": 2}),
            STALE_BUTTON,
        ),
        "a press without a component type": (fake.interaction(3, {"custom_id": "imagine:x"}), "400"),
        "a select whose values are text": (
            fake.interaction(3, {"custom_id": "imagine:settings:aspect", "component_type": 3, "values": "x"}),
            "400",
        ),
        "a form whose components are text": (
            fake.interaction(5, {"custom_id": "imagine:refine:x", "components": "x"}),
            "400",
        ),
        "a form field whose value is a number": (
            fake.interaction(
                5,
                {"custom_id": "imagine:refine:x", "components": [{"type": 1, "components": [{"value": 5}]}]},
            ),
            "400",
        ),
    }


def test_discord_answers_a_corpus_of_odd_interactions_with_their_fault(discord_fake, processes, redis):
    key = SigningKey.generate()
    client = start_http_frontend(processes, discord_env(discord_fake, key), key, discord_fake)
    frontend = processes.started[-1]
    for what, (payload, expected) in _discord_corpus(discord_fake).items():
        started = time.monotonic()
        answer = client.post(payload)
        took = time.monotonic() - started
        assert took < ANSWER_WITHIN_SECONDS, (what, took)
        if expected == "400":
            assert answer.status == 400, (what, answer)
            continue
        assert (answer.status, answer.type, answer.ephemeral) == (200, 4, True), (what, answer)
        assert expected in answer.content and OUR_FAULT not in answer.content, (what, answer.content)
    typing = discord_fake.interaction(
        4, {"name": "imagine", "options": [{"name": "model", "type": 3, "value": 5, "focused": True}]}
    )
    answer = client.post(typing)  # autocomplete of a value that is not text: no choices, no error
    assert (answer.status, answer.type, answer.body["data"]["choices"]) == (200, 8, [])

    assert redis.keys("rq:job:*") == []  # not one of them became a job
    good = client.post(discord_fake.slash_command(prompt="a good fox"))
    assert (good.status, good.type) == (200, 5)
    log = processes.log_of(frontend)
    assert "Traceback" not in log and frontend.poll() is None, log
    assert log.count("cannot be read") >= 30  # each a warning line naming the request's fault


def _slack_corpus(fake: FakeSlack) -> dict[str, dict[str, Any]]:
    """Signed Slack payloads whose shape our listeners cannot read: each is answered 400 with the reason."""
    reply = fake.reply(fake.new_ts(), "more")
    refine_view = {"callback_id": "imagine:refine-modal", "private_metadata": "{}"}
    blend_view = {"callback_id": "imagine:blend-modal", "private_metadata": "C1"}

    def submitted(view: dict[str, Any], state: Any) -> dict[str, Any]:
        payload = fake.view_submission(view, "x")
        payload["view"]["state"] = state
        return payload

    def action(**changes: Any) -> dict[str, Any]:
        payload = fake.home_button("imagine:settings")
        payload.update(changes)
        return payload

    shortcut = fake.message_shortcut("imagine_describe", reply)
    many_files = [{"id": f"F{n}", "name": "a.png"} for n in range(5000)]
    return {
        "form values that are a list": submitted(refine_view, {"values": []}),
        "form values that are text": submitted(refine_view, {"values": {"instruction": "x"}}),
        "a form field that is a list": submitted(
            refine_view, {"values": {"instruction": {"instruction": []}}}
        ),
        "form metadata that is an object": fake.view_submission({**refine_view, "private_metadata": {}}, "x"),
        "refine metadata that is not JSON": fake.view_submission(
            {**refine_view, "private_metadata": "{"}, "x"
        ),
        "refine metadata without the job": fake.view_submission(
            {**refine_view, "private_metadata": json.dumps({"channel": "C1", "thread": "1.2"})}, "x"
        ),
        "a form without its view id": {**fake.view_submission(refine_view, "x"), "view": {"state": {}}},
        "a form with thousands of files": fake.file_form_submission(blend_view, many_files),
        "a message shortcut without a message": {k: v for k, v in shortcut.items() if k != "message"},
        "a message shortcut whose message is text": {**shortcut, "message": "hello"},
        "a message shortcut without a channel": {k: v for k, v in shortcut.items() if k != "channel"},
        "a press with no actions": action(actions=[]),
        "a press whose action has no id": action(actions=[{"type": "button"}]),
        "a press whose action id is a number": action(actions=[{"action_id": 5}]),
        "a press with thousands of actions": action(actions=[{"action_id": "imagine:x"}] * 5000),
        "a user that is text": {**shortcut, "user": "U1"},
    }


def _slack_event_corpus(fake: FakeSlack) -> dict[str, dict[str, Any]]:
    reply = fake.reply(fake.new_ts(), "more")
    return {
        "an event that is text": {**fake.event(reply), "event": "message"},
        "an event that is a list": {**fake.event(reply), "event": [reply]},
        "an event without a type": fake.event({k: v for k, v in reply.items() if k != "type"}),
        "an event whose text is a number": fake.event({**reply, "text": 5}),
        "an event whose files are text": fake.event({**reply, "files": "F1"}),
        "an event with thousands of files": fake.event({**reply, "files": [{"id": "F"}] * 5000}),
        "an event whose user is an object": fake.event({**reply, "user": {"id": "U1"}}),
    }


def test_slack_answers_a_corpus_of_odd_payloads_with_their_fault(slack_fake, processes, redis):
    sender = start_http_app(processes, slack_env(slack_fake), slack_fake)
    frontend = processes.started[-1]
    bodies = {
        what: urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        for what, payload in _slack_corpus(slack_fake).items()
    }
    events = {what: json.dumps(body).encode() for what, body in _slack_event_corpus(slack_fake).items()}
    for what, body in [*bodies.items(), *events.items()]:
        content_type = "application/json" if what in events else "application/x-www-form-urlencoded"
        started = time.monotonic()
        answer = sender.post_raw(body, content_type)
        assert time.monotonic() - started < ANSWER_WITHIN_SECONDS, what
        assert answer.status == 400, (what, answer.status, answer.text)
        assert answer.json()["error"], what  # the reason, in words

    good = sender.command("a good fox")
    assert good.status == 200
    wait_until(lambda: slack_fake.parent("a good fox"), what="the good command's status message")
    # The status message is posted as the thread opens, just before the job is queued.
    wait_until(lambda: redis.keys("rq:job:*"), what="the good command's job")
    log = processes.log_of(frontend)
    assert "Traceback" not in log and frontend.poll() is None, log
    assert log.count("a signed request bolt could not read") == len(bodies) + len(events)
    assert "will be ignored" not in log and "will be unused" not in log  # bolt's notes on the token


def _raw_http(url: str, request: bytes) -> tuple[int, bytes]:
    """One request sent byte for byte (no client library cleans it), and the status and body back."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _web_request(
    url: str,
    path: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    extra: bytes = b"",
    cookie: str,
    csrf: str,
) -> bytes:
    return (
        (
            f"POST {path} HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\nConnection: close\r\n"
            "X-Imagine: 1\r\n"
            f"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode()
        + extra
        + b"\r\n"
        + body
    )


def _web_corpus() -> dict[str, dict[str, Any]]:
    """Requests of a logged-in page whose bodies or headers are broken: each answered 4xx (or a private
    answer naming the fault), never a 500."""
    lone = b'"\\ud800"'
    multipart = "multipart/form-data; boundary=imagine-b"
    part = b'--imagine-b\r\nContent-Disposition: form-data; name="text"\r\n\r\na fox\r\n'
    return {
        "a prompt with a lone surrogate": {"path": "/api/say", "body": b'{"text": ' + lone + b"}"},
        "a thread with a lone surrogate": {
            "path": "/api/say",
            "body": b'{"text": "a", "thread": ' + lone + b"}",
        },
        "a key with a lone surrogate": {"path": "/api/say", "body": b"{" + lone + b': "a", "text": "a"}'},
        "a press with a lone surrogate": {"path": "/api/press", "body": b'{"id": ' + lone + b"}"},
        "settings with a lone surrogate": {"path": "/api/settings", "body": b'{"style": ' + lone + b"}"},
        "settings of the wrong types": {"path": "/api/settings", "body": b'{"style": 5, "count": "x"}'},
        "settings that are a list": {"path": "/api/settings", "body": b"[1, 2]"},
        "a body that is not UTF-8": {"path": "/api/say", "body": b'{"text": "\xff\xfe"}'},
        "deeply nested JSON": {"path": "/api/press", "body": b"[" * 100_000 + b"]" * 100_000},
        "a JSON number too large": {"path": "/api/press", "body": b'{"id": 1' + b"0" * 5000 + b"}"},
        "NaN for the thread": {"path": "/api/say", "body": b'{"text": "a", "thread": NaN}'},
        "multipart without its boundary": {"path": "/api/say", "body": part, "type": "multipart/form-data"},
        "multipart whose boundary is absent": {"path": "/api/say", "body": b"hello there", "type": multipart},
        "multipart cut off mid-part": {"path": "/api/say", "body": part[:-9], "type": multipart},
        "multipart part without a disposition": {
            "path": "/api/describe",
            "body": b"--imagine-b\r\nContent-Type: image/png\r\n\r\nxx\r\n--imagine-b--\r\n",
            "type": multipart,
        },
        "multipart with a surrogate in a name": {
            "path": "/api/say",
            "body": b'--imagine-b\r\nContent-Disposition: form-data; name="\xed\xa0\x80"\r\n\r\n'
            b"a\r\n--imagine-b--\r\n",
            "type": multipart,
        },
        "multipart of an unknown transfer encoding": {
            "path": "/api/describe",
            "body": b'--imagine-b\r\nContent-Disposition: form-data; name="picture"; filename="a.png"\r\n'
            b"Content-Transfer-Encoding: rot13\r\n\r\nxx\r\n--imagine-b--\r\n",
            "type": multipart,
        },
        "a control character in a header": {
            "path": "/api/say",
            "body": b'{"text": "a"}',
            "extra": b"X-Note: a\x01b\r\n",
        },
        "a control character in the token": {"path": "/api/say", "body": b'{"text": "a"}', "csrf": "a\x7fb"},
        "a NUL in the cookie": {"path": "/api/say", "body": b'{"text": "a"}', "cookie": "imagine=\x00"},
    }


def test_the_web_page_answers_a_corpus_of_broken_requests_with_their_fault(processes, redis, config_file):
    url = start_web(processes, redis, config_file, "")
    frontend = processes.started[-1]
    session = urllib.request.urlopen(f"{url}/api/session", timeout=5)
    cookie = session.headers["Set-Cookie"].split(";", 1)[0]
    csrf = json.loads(session.read())["csrf"]
    for what, case in _web_corpus().items():
        request = _web_request(
            url,
            case["path"],
            case["body"],
            content_type=case.get("type", "application/json"),
            extra=case.get("extra", b""),
            cookie=case.get("cookie", cookie),
            csrf=case.get("csrf", csrf),
        )
        started = time.monotonic()
        status, body = _raw_http(url, request)
        assert time.monotonic() - started < ANSWER_WITHIN_SECONDS, what
        assert 400 <= status < 500 or (status == 200 and json.loads(body)["private"]), (what, status, body)
        assert OUR_FAULT.encode() not in body, what
    status, body = _raw_http(
        url, _web_request(url, "/api/say", b'{"text": "a good fox"}', cookie=cookie, csrf=csrf)
    )
    assert status == 200 and json.loads(body)["taken"], body
    log = processes.log_of(frontend)
    assert "Traceback" not in log and frontend.poll() is None, log
