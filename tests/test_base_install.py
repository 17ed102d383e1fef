"""A base install — what `bash scripts/setup.sh` installs: the package with no extra, no torch — runs the
main job: a worker started on its own and `imagine generate` on the placeholder backend. Extras are
only needed by what names them, and a command that needs one says which."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from shared import keys
from tests.discord_harness import discord_env, start_http_frontend
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import CHANNEL, FakeSlack
from tests.helpers import ROOT, wait_until
from tests.slack_harness import slack_env, start_http_app

CHECKOUT_FILES = ("pyproject.toml", "README.md", "constraints.txt", "bot", "workers", "shared", "scripts")


@pytest.fixture(scope="module")
def base_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the README's first command installs, in a copy of the checkout: `bash scripts/setup.sh`
    with no options (from the package index, or pip's cache); returns the virtualenv's bin folder."""
    source = tmp_path_factory.mktemp("base") / "checkout"
    source.mkdir()
    for part in CHECKOUT_FILES:
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / part, source / part)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINE_", "VIRTUAL_ENV"))}
    setup = subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=source,
        env={**environment, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return source / ".venv/bin"


@pytest.fixture
def base_env(process_env: dict[str, str]) -> dict[str, str]:
    """The tests' Redis, and nothing of the checkout: the installed package is what runs."""
    return {k: v for k, v in process_env.items() if k != "PYTHONPATH"}


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen]]:
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def test_base_install_has_no_chat_sdk_and_no_torch(base_install: Path):
    modules = ("discord", "slack_sdk", "slack_bolt", "torch", "diffusers")
    probe = f"import importlib.util as u; print([m for m in {modules!r} if u.find_spec(m)])"
    found = subprocess.run([str(base_install / "python"), "-c", probe], capture_output=True, text=True)
    assert found.stdout.strip() == "[]", found.stderr


def test_base_install_generates_through_a_separately_started_worker(
    base_install: Path, base_env: dict[str, str], redis, tmp_path: Path, started
):
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen(
        [str(base_install / "imagine"), "worker", "--backend", "placeholder"],
        env=base_env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started.append(worker)

    def alive() -> bool:
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        return bool(redis.keys(keys.worker_alive("*")))

    wait_until(alive, timeout=30, what="the base-install worker to start")
    result = subprocess.run(
        [str(base_install / "imagine"), "generate", "a fox in the snow", "--out", str(tmp_path / "out")],
        env=base_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + (tmp_path / "worker.log").read_text()
    [path] = result.stdout.split()
    assert Path(path).read_bytes().startswith(b"\x89PNG")


def test_a_worker_without_chat_extras_or_tokens_serves_discord_and_slack(
    base_install: Path, base_env: dict[str, str], processes, redis, tmp_path: Path, started
):
    with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        key = SigningKey.generate()
        discord = start_http_frontend(processes, discord_env(discord_fake, key), key, discord_fake)
        slack = start_http_app(processes, slack_env(slack_fake), slack_fake)
        worker = subprocess.Popen(
            [str(base_install / "imagine"), "worker", "--backend", "placeholder"],
            env=base_env,  # no DISCORD_TOKEN, no SLACK_BOT_TOKEN, and neither SDK installed
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(worker)
        discord.post(discord_fake.slash_command(prompt="a fox from discord"))
        slack.command("a fox from slack")
        thread = wait_until(lambda: discord_fake.threads() and discord_fake.threads()[0], what="a thread")
        wait_until(lambda: discord_fake.image_posts_in(thread["id"]), timeout=30, what="Discord's images")
        parent = wait_until(lambda: slack_fake.parent("a fox from slack"), what="Slack's status message")
        wait_until(lambda: slack_fake.image_posts(CHANNEL, parent.ts), timeout=30, what="Slack's images")


@pytest.mark.parametrize(
    ("command", "extra"),
    [(["discord"], "discord"), (["slack"], "slack"), (["worker", "--backend", "diffusers"], "gpu")],
)
def test_base_install_names_the_extra_a_command_needs(
    base_install: Path, base_env: dict[str, str], tmp_path: Path, command: list[str], extra: str
):
    result = subprocess.run(
        [str(base_install / "imagine"), *command], env=base_env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert f"pip install 'imagine-bot[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_on_a_base_install_names_the_extra_a_configured_platform_needs(
    base_install: Path, base_env: dict[str, str], tmp_path: Path
):
    result = subprocess.run(
        [str(base_install / "imagine"), "doctor"],
        env={**base_env, "SLACK_BOT_TOKEN": "xoxb-a-token"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "✗ slack: slack_sdk is not installed → pip install 'imagine-bot[slack]'" in result.stdout
    assert "xoxb-a-token" not in result.stdout + result.stderr
