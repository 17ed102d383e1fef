"""REDIS_URL naming Redis Sentinels: the URL as operators write it, and a real master, replica and three
sentinels on loopback, through a SIGKILL of the master with a worker and the command line on it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from shared.errors import ConfigError
from shared.ops import sentinel
from shared.ops.redis_conn import connect, sentinels
from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import FakeDiscord
from tests.helpers import imagine_command, wait_until
from tests.sentinel_harness import SentinelTopology
from tests.web_harness import Page, start_web


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,sentinel-3:26379/imagine",
            ((("10.0.0.1", 26379), ("10.0.0.2", 26379), ("sentinel-3", 26379)), "imagine", 0, None, False),
        ),
        (
            "redis+sentinel://:s3cret@redis-sentinel:26379/mymaster/2",
            ((("redis-sentinel", 26379),), "mymaster", 2, "s3cret", False),
        ),
        (
            "rediss+sentinel://bot:p%40ss@[::1]:26380/imagine/1",
            ((("::1", 26380),), "imagine", 1, "p@ss", True),
        ),
    ],
)
def test_a_sentinel_url_names_its_sentinels_service_database_and_password(url, expected):
    address = sentinel.parse(url)
    got = (address.sentinels, address.service, address.db, address.password, address.tls)
    assert got == expected


@pytest.mark.parametrize(
    ("url", "told"),
    [
        ("redis+sentinel://10.0.0.1:26379", "the service name is missing"),
        ("redis+sentinel://10.0.0.1/imagine", "'10.0.0.1' is not host:port"),
        ("redis+sentinel://10.0.0.1:26379/imagine/zero", "is not /SERVICE or /SERVICE/DB"),
    ],
)
def test_a_broken_sentinel_url_says_what_is_wrong_without_its_password(url, told):
    with pytest.raises(ConfigError, match=told):
        connect(url.replace("://", "://:hunter2@"), check=False)
    with pytest.raises(ConfigError) as refused:
        connect(url.replace("://", "://:hunter2@"), check=False)
    assert "hunter2" not in str(refused.value)


@pytest.fixture
def topology():
    running = SentinelTopology().start()
    yield running
    running.stop()


def generate(env: dict[str, str], out: Path, prompt: str) -> subprocess.CompletedProcess:
    command = imagine_command("generate", prompt, "--size", "64x64", "--out", str(out), "--timeout", "60")
    return subprocess.run(command, env=env, cwd=out, capture_output=True, text=True, timeout=120)


def test_jobs_go_on_through_a_failover_of_the_master(topology, processes, process_env, tmp_path):
    env = {**process_env, "REDIS_URL": topology.url}
    view = sentinels(topology.url)
    assert view is not None and view.master == f"127.0.0.1:{topology.master.port}"
    assert view.replicas == [f"127.0.0.1:{topology.replica.port}"]
    processes.start("worker", "--backend", "placeholder", extra_env={"REDIS_URL": topology.url})
    client = connect(topology.url)
    wait_until(lambda: list(client.scan_iter("rq:worker:*")), timeout=30, what="the worker on the master")
    before = generate(env, tmp_path, "a fox before")
    assert before.returncode == 0, before.stderr

    topology.kill_master()
    seconds = topology.wait_for_failover()
    assert seconds < 30
    after = generate(env, tmp_path, "a fox after")  # the worker found the new master by itself
    assert after.returncode == 0, after.stderr
    assert Path(after.stdout.strip().splitlines()[-1]).is_file()
    health = subprocess.run(
        imagine_command("health"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert f"master 127.0.0.1:{topology.replica.port}" in health.stdout, health.stdout
    assert "sentinels 127.0.0.1:" in health.stdout


def test_a_request_while_no_master_is_known_is_told_the_bot_is_restarting_and_costs_nothing(
    topology, processes, config_file
):
    on_master = connect(topology.url)
    web = Page(start_web(processes, on_master, config_file, "", env={"REDIS_URL": topology.url}))
    assert web.say("a fox")["taken"]
    topology.kill_master()
    topology.replica.kill()  # no replica left to promote: no master will be known
    status, answer = web.post("/api/say", {"text": "a hare"})  # the page's session check meets it first
    told = "The bot is restarting; try again in a minute. Nothing was charged."
    assert (status, answer) == (503, {"error": told})


def test_a_discord_command_while_no_master_is_known_is_answered_in_time_not_failed(topology, processes):
    key = SigningKey.generate()
    with FakeDiscord() as fake:
        env = {**discord_env(fake, key), "REDIS_URL": topology.url}
        client = start_http_frontend(processes, env, key, fake)
        topology.kill_master()
        topology.replica.kill()
        answer = client.post(fake.slash_command(prompt="a fox"))
        # Discord wants its answer within 3 s, before the client has stopped looking for a master:
        # the command's own deadline answers, and nothing was taken
        assert (answer.status, answer.ephemeral) == (200, True)
        assert answer.content == (
            "Something went wrong on my side and the request was not taken; please try again."
        )
