"""Operating it: `imagine health`, the metrics endpoint after real jobs, structured job logs."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request

from nacl.signing import SigningKey
from prometheus_client.parser import text_string_to_metric_families

from bot.core import ImagineCore
from shared import keys
from shared.ops.logs import user_hash
from tests.factories import image_request
from tests.fakes.discord_api import TOKEN as DISCORD_TOKEN
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import BOT_TOKEN as SLACK_BOT_TOKEN
from tests.fakes.slack_api import FakeSlack
from tests.helpers import answers_ok, free_port, imagine_command, wait_until


def health(process_env, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        imagine_command("health", *args),
        env={**process_env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_health_says_when_jobs_wait_without_a_worker_and_when_redis_is_down(
    process_env, redis, make_settings
):
    idle = health(process_env)  # nothing waits, but a request would wait forever
    assert idle.returncode == 1
    assert "no live worker serves the default backend 'placeholder' (IMAGINE_BACKEND)" in idle.stderr
    ImagineCore(make_settings(), redis).submit(image_request())
    result = health(process_env)
    assert result.returncode == 1
    assert "1 job(s) wait in imagine-placeholder and no worker is alive" in result.stderr
    assert "imagine worker --backend placeholder" in result.stderr
    down = health(process_env, env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert down.returncode == 1 and "Redis is unreachable" in down.stderr


def test_health_is_unhealthy_while_no_worker_serves_the_default_backend(process_env, redis, processes):
    processes.worker({}, redis)
    assert health(process_env).returncode == 0
    other = health(process_env, env={"IMAGINE_BACKEND": "openai"})
    assert other.returncode == 1
    assert "start one with `imagine worker --backend openai`" in other.stderr


def test_health_json_lists_live_workers_and_queues(process_env, redis, processes):
    processes.worker({}, redis)
    result = health(process_env, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] and report["redis"] == "ok"
    [worker] = report["workers"]
    assert worker["alive"] and worker["queues"] == ["imagine-placeholder"]
    placeholder = next(q for q in report["queues"] if q["backend"] == "placeholder")
    assert placeholder == {**placeholder, "depth": 0, "live_workers": 1}


def test_metrics_after_real_jobs_and_one_json_line_per_state_change(
    process_env, redis, processes, make_settings
):
    port = free_port()
    before = len(redis.keys(keys.worker_alive("*")))
    worker = processes.start("worker", "--backend", "placeholder", "--metrics-port", str(port))
    wait_until(lambda: len(redis.keys(keys.worker_alive("*"))) > before, timeout=20, what="the worker")
    core = ImagineCore(make_settings(), redis)
    for number in range(3):
        core.submit(image_request(f"m{number}", user=f"u{number}", prompt="a secret lighthouse"))
    wait_until(
        lambda: redis.llen("rq:queue:imagine-placeholder") == 0 and _done(port) == 3, what="3 jobs done"
    )

    families = {f.name: f for f in text_string_to_metric_families(_scrape(port))}
    generation = {
        s.name: s.value for s in families["imagine_generation_seconds"].samples if not s.labels.get("le")
    }
    assert generation["imagine_generation_seconds_count"] == 3
    waits = [s for s in families["imagine_queue_wait_seconds"].samples if s.name.endswith("_count")]
    assert waits[0].value == 3
    depth = {s.labels["queue"]: s.value for s in families["imagine_queue_depth"].samples}
    assert depth["imagine-placeholder"] == 0

    lines = [json.loads(line) for line in processes.log_of(worker).splitlines() if line.startswith("{")]
    states = [line for line in lines if line.get("logger") == "imagine.jobs"]
    assert sorted(line["state"] for line in states) == ["done"] * 3 + ["started"] * 3
    done = next(line for line in states if line["state"] == "done")
    assert {"job_id", "platform", "workspace", "user", "backend", "generation_s"} <= set(done)
    assert done["user"] in {user_hash(f"cli:u{number}") for number in range(3)}  # a hash, never the id
    assert "secret lighthouse" not in processes.log_of(worker)  # prompts only at debug level


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def _done(port: int) -> float:
    try:
        text = _scrape(port)
    except OSError:
        return 0
    for family in text_string_to_metric_families(text):
        if family.name == "imagine_jobs":
            return sum(
                s.value
                for s in family.samples
                if s.name == "imagine_jobs_total" and s.labels["state"] == "done"
            )
    return 0


def doctor(process_env, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        imagine_command("doctor"), env={**process_env, **env}, capture_output=True, text=True, timeout=60
    )


def test_doctor_says_what_is_right_and_what_to_fix(process_env, redis):
    with (
        FakeDiscord(message_content_intent=False) as discord_fake,
        FakeSlack() as slack_fake,
        FakeOpenAI() as openai_fake,
    ):
        env = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_BASE": discord_fake.api_base,
            "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
            "SLACK_API_URL": slack_fake.api_url,
            "OPENAI_API_KEY": "sk-test-1",
            "OPENAI_BASE_URL": openai_fake.base_url,
            "IMAGINE_TEXT_MODEL": "gpt-missing",
        }
        result = doctor(process_env, env)
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✓ redis: " in result.stdout and "✓ discord token: accepted: bot imagine-bot" in result.stdout
    assert any(line.startswith("✗ discord message-content intent: off →") for line in lines)
    assert "✓ slack bot token: accepted" in result.stdout and "✓ slack scopes: all granted" in result.stdout
    assert (
        "✓ openai key: accepted" in result.stdout
        and "✓ openai image model: gpt-image-2.6-sunburst is available" in result.stdout
    )
    assert "✗ openai text model: gpt-missing is not offered to this key" in result.stdout
    assert "sk-test-1" not in result.stdout + result.stderr and DISCORD_TOKEN not in result.stdout


def test_doctor_names_rejected_tokens(process_env, redis):
    with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        env = {
            "DISCORD_TOKEN": "wrong",
            "DISCORD_API_BASE": discord_fake.api_base,
            "SLACK_BOT_TOKEN": "xoxb-wrong",
            "SLACK_API_URL": slack_fake.api_url,
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        }
        result = doctor(process_env, env)
    assert result.returncode == 1
    assert "✗ discord token: rejected (401)" in result.stdout
    assert "✗ slack bot token: rejected (invalid_auth)" in result.stdout
    assert "✗ redis: " in result.stdout and "fix REDIS_URL" in result.stdout


def test_frontends_stop_cleanly_on_sigterm(processes, redis):
    """Compose stops containers with SIGTERM: each frontend stops taking requests and exits 0."""
    with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        key = SigningKey.generate().verify_key.encode().hex()
        discord_env = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_BASE": discord_fake.api_base,
            "DISCORD_PUBLIC_KEY": key,
        }
        slack_env = {
            "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack_fake.api_url,
        }
        for command, env in (("discord", discord_env), ("slack", slack_env)):
            url = processes.serving(command, "--http", env=env, what=f"imagine {command}")
            process = processes.started[-1]
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0, processes.log_of(process)
            assert not answers_ok(f"{url}/healthz")
