"""`imagine slack --socket` against a Socket Mode websocket fake: envelopes in, acks out."""

from __future__ import annotations

import pytest

from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, CHANNEL, FakeSlack, SocketModeFake
from tests.helpers import wait_until


@pytest.fixture
def fake():
    with FakeSlack() as server, SocketModeFake() as socket:
        server.socket = socket
        yield server


def test_commands_and_replies_arrive_over_socket_mode(fake, processes, redis):
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.api_url}
    app = processes.start("slack", "--socket", extra_env=env)
    processes.worker(env, redis)
    socket = fake.socket
    assert socket is not None
    wait_until(
        lambda: socket.connected() or app.poll() is not None, timeout=20, what="a Socket Mode connection"
    )
    assert app.poll() is None, processes.log_of(app)

    envelope = socket.push("slash_commands", fake.slash_command("a fox in the snow"))
    wait_until(lambda: envelope in socket.acks, what="the command's ack")
    parent = wait_until(lambda: fake.parent("a fox in the snow"))
    wait_until(lambda: fake.image_posts(CHANNEL, parent.ts), what="images in the thread")

    bad = socket.push("slash_commands", fake.slash_command("a fox --zoom 3"))
    wait_until(lambda: bad in socket.acks)
    assert "There is no flag --zoom" in str(socket.acks[bad].get("payload"))

    reply = fake.reply(parent.ts, "at night")
    event = socket.push("events_api", fake.event(reply))
    wait_until(lambda: event in socket.acks)
    wait_until(lambda: len(fake.image_posts(CHANNEL, parent.ts)) == 2, what="the refined image")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-wrong"}, "SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)"),
        ({"SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN is not set"),
        ({"SLACK_APP_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN must be an app-level token starting with xapp-"),
        ({"SLACK_APP_TOKEN": "xapp-wrong"}, "SLACK_APP_TOKEN was rejected (invalid_auth)"),
    ],
)
def test_start_up_problems_say_what_to_fix(fake, processes, env, says):
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.api_url}
    process = processes.start("slack", "--socket", extra_env={**base, **env})
    assert process.wait(timeout=30) == 1
    output = processes.log_of(process)
    assert says in output and "Traceback" not in output
