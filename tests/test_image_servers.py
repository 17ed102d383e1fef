"""The image-server backends end to end: a real `imagine worker --backend X` process serving
`imagine generate`, configured by the config file alone, and `imagine doctor` against the same server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from shared.jobs.queue import queue_name
from shared.jobs.recovery import count_live_workers
from tests.fakes.a1111_api import FakeA1111
from tests.fakes.comfyui_api import FakeComfyUI
from tests.fakes.horde_api import FakeHorde
from tests.helpers import imagine_command, wait_until

ENGINES = {
    "a1111": (FakeA1111, lambda fake: f'[a1111]\nservers = ["{fake.url}"]\n'),
    "comfyui": (FakeComfyUI, lambda fake: f'[comfyui]\nservers = ["{fake.url}"]\npoll_seconds = 0.05\n'),
    "horde": (
        FakeHorde,
        lambda fake: f'[horde]\napi_url = "{fake.base}"\npoll_seconds = 0.1\ncontact = "ops@example.org"\n',
    ),
}


@pytest.mark.parametrize("backend", list(ENGINES))
def test_a_community_points_the_bot_at_its_server_by_config_alone(
    backend, process_env, processes, redis, config_file, tmp_path
):
    fake_class, section = ENGINES[backend]
    with fake_class() as fake:
        path = config_file(section(fake))
        env = {**process_env, "IMAGINE_CONFIG": str(path), "IMAGINE_BACKEND": backend}
        processes.start("worker", "--backend", backend, extra_env={"IMAGINE_CONFIG": str(path)})
        wait_until(lambda: count_live_workers(redis, queue_name(backend)) == 1, timeout=30, what="a worker")
        out = tmp_path / "out"
        result = subprocess.run(
            imagine_command("generate", "a fox in the snow", "--seed", "7", "--out", str(out)),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        [image] = [Path(line) for line in result.stdout.split()]
        with Image.open(image) as picture:
            assert picture.format == "PNG" and picture.size[0] >= 512
        doctor = subprocess.run(
            imagine_command("doctor"), env=env, capture_output=True, text=True, timeout=60
        ).stdout
        assert f"✓ {backend}" in doctor, doctor
