"""Day one for an operator, README in hand: every long-running role serves its metrics, typos and a
Redis that is not there are one line naming the setting and the fix, settings in the environment
apply, and with no Redis at all every `imagine` process shares this machine's own."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from shared import keys
from shared.imaging.images import read_metadata
from tests.discord_harness import discord_env
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import BAD_KEY
from tests.fakes.slack_api import FakeSlack
from tests.helpers import free_port, imagine_command, wait_until
from tests.slack_harness import slack_env


def run_imagine(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        imagine_command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    """The line a failed command ended on (after any log lines of a long-running role), no traceback."""
    lines = result.stderr.strip().splitlines()
    assert lines and "Traceback" not in result.stderr, result.stderr
    assert lines[-1].startswith("imagine: "), result.stderr
    return lines[-1]


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def serves_metrics(port: int) -> bool:
    try:
        return "imagine_queue_depth" in scrape(port)
    except OSError:
        return False


def test_every_long_running_role_serves_its_metrics(processes, redis):
    key = SigningKey.generate()
    with FakeDiscord() as discord, FakeSlack() as slack:
        roles = {
            "worker": (["worker", "--backend", "placeholder"], {}),
            "web": (["web", "--port", str(free_port())], {}),
            "discord": (["discord", "--http", "--port", str(free_port())], discord_env(discord, key)),
            "slack": (["slack", "--http", "--port", str(free_port())], slack_env(slack)),
        }
        ports = {}
        for role, (args, env) in roles.items():
            ports[role] = free_port()
            processes.start(*args, "--metrics-port", str(ports[role]), extra_env=env)
        for role, port in ports.items():
            wait_until(lambda port=port: serves_metrics(port), timeout=30, what=f"{role}'s metrics")
            assert "imagine_refusals" in scrape(port) or role == "worker", role


def test_typos_and_a_missing_redis_are_one_line_naming_the_setting(process_env, tmp_path):
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    try:
        busy = run_imagine(
            process_env, tmp_path, "worker", "--burst", "--metrics-port", str(taken.getsockname()[1])
        )
        assert busy.returncode == 1 and "--metrics-port" in one_line(busy) and "in use" in one_line(busy)
    finally:
        taken.close()
    loud = run_imagine(process_env, tmp_path, "worker", "--log-level", "LOUD")
    assert loud.returncode == 2 and "Traceback" not in loud.stderr and "'LOUD' is not one of" in loud.stderr

    no_scheme = run_imagine({**process_env, "REDIS_URL": "localhost:6379"}, tmp_path, "health")
    line = one_line(no_scheme)
    assert no_scheme.returncode == 1 and "REDIS_URL" in line and "redis://HOST:PORT/DB" in line

    gone = f"redis://127.0.0.1:{free_port()}/0"
    down = run_imagine({**process_env, "REDIS_URL": gone}, tmp_path, "health")
    assert down.returncode == 1 and gone in down.stderr and "set REDIS_URL" in down.stderr
    worker = run_imagine({**process_env, "REDIS_URL": gone}, tmp_path, "worker")
    assert gone in one_line(worker) and "start it, or set REDIS_URL" in one_line(worker)


def test_an_empty_setting_in_the_env_file_is_unset(process_env, tmp_path, processes, redis, fake_openai):
    """compose passes `OPENAI_BASE_URL=` from .env.example as an empty string: it means OpenAI's own URL,
    and IMAGINE_IMAGE_MODEL given on the command line is the model the worker asks for."""
    (tmp_path / ".env").write_text("OPENAI_BASE_URL=\nIMAGINE_TEXT_MODEL=\nDISCORD_TOKEN=\n")
    env = {**process_env, **fake_openai.env(), "IMAGINE_IMAGE_MODEL": "gpt-image-2"}
    settings = run_imagine(
        {**process_env, "OPENAI_BASE_URL": ""},
        tmp_path,
        "--env-file",
        str(tmp_path / ".env"),
        "doctor",
    )
    assert "Traceback" not in settings.stderr and "default backend" in settings.stdout
    processes.start("worker", "--backend", "openai", extra_env=env)
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=30, what="the openai worker")
    result = run_imagine(
        env, tmp_path, "generate", "a fox", "--backend", "openai", "--out", str(tmp_path / "o")
    )
    assert result.returncode == 0, result.stderr
    [request] = fake_openai.image_requests()
    assert request.json()["model"] == "gpt-image-2"


def test_a_bad_openai_key_stops_the_worker_at_start_and_reaches_the_command_line(
    process_env, tmp_path, fake_openai
):
    env = {**process_env, **fake_openai.env(key=BAD_KEY)}
    worker = run_imagine(env, tmp_path, "worker", "--backend", "openai")
    line = one_line(worker)
    assert worker.returncode == 1 and "OPENAI_API_KEY was rejected by" in line and "(HTTP 401)" in line
    doctor = run_imagine({**process_env, "IMAGINE_BACKEND": "openai"}, tmp_path, "doctor")
    assert (
        doctor.returncode == 1
        and "✗ default backend: IMAGINE_BACKEND=openai needs OPENAI_API_KEY" in doctor.stdout
    )


def test_doctor_says_what_the_default_backend_is_and_whether_the_secret_it_reads_is_set(
    process_env, tmp_path, fake_openai
):
    env = {**process_env, **fake_openai.env(), "IMAGINE_BACKEND": "openai"}
    doctor = run_imagine(env, tmp_path, "doctor")
    assert "✓ default backend: openai (OpenAI's image models; OPENAI_API_KEY set)" in doctor.stdout
    assert "sk-test-1" not in doctor.stdout + doctor.stderr  # named, never shown


def test_an_image_server_that_does_not_answer_stops_the_worker_at_start_naming_it(
    process_env, tmp_path, config_file
):
    gone = f"http://127.0.0.1:{free_port()}"
    env = {**process_env, "IMAGINE_CONFIG": str(config_file(f'[a1111]\nservers = ["{gone}"]\n'))}
    worker = run_imagine(env, tmp_path, "worker", "--backend", "a1111")
    line = one_line(worker)
    assert worker.returncode == 1 and f"[a1111] servers: cannot reach {gone}" in line


def test_quota_show_takes_the_workspace_in_either_form(process_env, tmp_path, processes, redis):
    processes.start("worker", "--backend", "placeholder")
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=30, what="a worker")
    made = run_imagine(process_env, tmp_path, "generate", "a fox", "--user", "ann", "--out", str(tmp_path))
    assert made.returncode == 0, made.stderr
    plain = run_imagine(process_env, tmp_path, "quota", "show", "ann", "--workspace", "local").stdout
    prefixed = run_imagine(process_env, tmp_path, "quota", "show", "ann", "--workspace", "cli:local").stdout
    today = [line for line in plain.splitlines() if line.startswith("workspace")]
    assert "workspace today: 1 of 200" in today and today == [
        line for line in prefixed.splitlines() if line.startswith("workspace")
    ]


@pytest.fixture
def no_redis_env(process_env, tmp_path):
    """No REDIS_URL and (checked) nothing on localhost:6379: this machine's own Redis is what serves;
    stopped again at the end (it outlives the processes that started it)."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        if probe.connect_ex(("127.0.0.1", 6379)) == 0:
            pytest.skip("a Redis answers on localhost:6379, so this machine's own would not be used")
    env = {k: v for k, v in process_env.items() if k != "REDIS_URL"}
    data = Path(tempfile.mkdtemp(prefix="imx-"))  # short: a Unix socket's path has at most 107 bytes
    env["XDG_DATA_HOME"] = str(data)
    yield env
    run_imagine(env, tmp_path, "stop")
    shutil.rmtree(data, ignore_errors=True)


def test_without_redis_every_process_shares_this_machines_own(no_redis_env, tmp_path):
    env = no_redis_env
    first = run_imagine(
        env, tmp_path, "generate", "a lighthouse", "--user", "ann", "--out", str(tmp_path / "o")
    )
    assert first.returncode == 0, first.stderr
    assert (
        "using this machine's own Redis at" in first.stderr and "set REDIS_URL to share one" in first.stderr
    )
    [path] = first.stdout.splitlines()
    assert read_metadata(Path(path).read_bytes())["prompt"] == "a lighthouse"
    worker = subprocess.Popen(
        imagine_command("worker", "--backend", "placeholder"),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        health = lambda: json.loads(run_imagine(env, tmp_path, "health", "--json").stdout)  # noqa: E731
        report = wait_until(lambda: health()["healthy"] and health(), timeout=30, what="the worker in health")
        assert report["redis_local"] and any(w["alive"] for w in report["workers"])
        second = run_imagine(
            env, tmp_path, "generate", "a boat", "--user", "ann", "--out", str(tmp_path / "o")
        )
        assert second.returncode == 0, second.stderr
        shown = run_imagine(env, tmp_path, "quota", "show", "ann").stdout
        assert "images this hour: 2 of 10" in shown  # the quota outlived the first command
        doctor = run_imagine(env, tmp_path, "doctor").stdout
        assert "using this machine's own Redis" in doctor
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert "using this machine's own Redis" in worker.stderr.read().decode()
    stopped = run_imagine(env, tmp_path, "stop")
    assert "stopped this machine's own Redis" in stopped.stdout
    assert (Path(env["XDG_DATA_HOME"]) / "imagine-bot" / "redis" / "appendonlydir").is_dir()


def test_the_timeout_holds_on_this_machines_own_redis_and_the_job_is_kept(no_redis_env, tmp_path):
    env = {**no_redis_env, "IMAGINE_PLACEHOLDER_DELAY": "4"}
    started = time.monotonic()
    result = run_imagine(env, tmp_path, "generate", "slow", "--timeout", "1")
    assert time.monotonic() - started < 8  # the worker's 4 s image did not hold the command
    assert result.returncode == 1 and "keeps running" in result.stderr.strip().splitlines()[-1]


def test_a_second_web_page_on_the_same_port_is_refused_and_ctrl_c_stops_within_2_s(processes, redis):
    port = free_port()
    first = processes.start("web", "--port", str(port))
    wait_until(lambda: _answers(port), timeout=30, what="the first page")
    second = processes.start("web", "--port", str(port))
    assert second.wait(timeout=30) == 1
    assert f"port {port} is in use" in processes.log_of(second)
    feed = urllib.request.urlopen(_session_feed(port), timeout=10)  # a page holding its live feed
    try:
        started = time.monotonic()
        os.killpg(first.pid, signal.SIGINT)
        first.wait(timeout=10)
        assert time.monotonic() - started < 2.5
    finally:
        feed.close()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _session_feed(port: int) -> urllib.request.Request:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/session", timeout=5) as session:
        cookie = session.headers["Set-Cookie"].split(";", 1)[0]
    return urllib.request.Request(f"http://127.0.0.1:{port}/api/events", headers={"Cookie": cookie})
