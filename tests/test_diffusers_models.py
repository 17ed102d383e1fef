"""Bring your own Stable Diffusion: single checkpoint files, several models per worker and per
queue, LoRAs through diffusers' adapter API, NSFW marks, refusals, and parameters to reproduce an
image. Tiny random pipelines built in the test (no download); the single file is written with the
published key mapping (tests/fakes/single_file.py), since diffusers cannot write one."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("diffusers", reason="the gpu extra is not installed")
pytest.importorskip("peft", reason="the gpu extra is not installed")

from PIL import Image  # noqa: E402
from rq.job import Job  # noqa: E402

from bot.checking import check_request  # noqa: E402
from bot.core import ImagineCore  # noqa: E402
from shared import keys  # noqa: E402
from shared.drawing.choices import offered_loras, offered_models  # noqa: E402
from shared.drawing.request import LoraUse, RequestOptions  # noqa: E402
from shared.drawing.requester import Requester
from shared.errors import InvalidRequest  # noqa: E402
from shared.imaging.images import read_metadata  # noqa: E402
from shared.jobs.queue import SERIALIZER, job_id_for, lane, queue_name  # noqa: E402
from tests.fakes.single_file import write_single_file  # noqa: E402
from tests.fakes.tiny_sd import build_lora, build_pipeline  # noqa: E402
from tests.helpers import imagine_command, wait_until  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.diffusers.backend import DiffusersBackend  # noqa: E402
from workers.runtime import build_runtime  # noqa: E402
from workers.worker import serve  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Two tiny models (one also as a single .safetensors file) and two LoRAs, as an operator has them."""
    root = tmp_path_factory.mktemp("models")
    first = build_pipeline(root / "first", seed=0)
    second = build_pipeline(root / "second", seed=1)
    return {
        "first_folder": first,
        "first_file": write_single_file(first, root / "dreamshaper_tiny.safetensors"),
        "second_folder": second,
        "pixel": build_lora(first, root / "loras", seed=1),
        "ink": build_lora(first, root / "loras", seed=2),
    }


def config_text(files: dict[str, Path], extra: str = "") -> str:
    """The operator's config; `extra` joins [diffusers], or, when it opens a section, the end."""
    settings, tail = ("", extra) if extra.startswith("[") else (extra, "")
    return f"""
[diffusers]
steps = 2
warmup = false
{settings}
[diffusers.models.dream]
file = "{files["first_file"]}"
config = "{files["first_folder"]}"
description = "the single file"

[diffusers.models.second]
path = "{files["second_folder"]}"
description = "another model"

[diffusers.models.spicy]
path = "{files["second_folder"]}"
nsfw = true

[diffusers.loras.pixel]
file = "{files["pixel"]}"
trigger = "pixel art"
weight = 0.8
description = "pixel art"

[diffusers.loras.ink]
file = "{files["ink"]}"
families = ["sd15"]

[diffusers.loras.xl-only]
file = "{files["ink"]}"
families = ["sdxl"]
{tail}"""


@pytest.fixture
def settings_for(files, make_settings, config_file):
    return lambda extra="": make_settings(config_file(config_text(files, extra)), backend="diffusers")


def task(**fields) -> GenerationTask:
    values = {"prompt": "a fox", "width": 64, "height": 64, "seed": 3, "backend": "diffusers", **fields}
    return GenerationTask(**values)


def pixels(backend: DiffusersBackend, **fields) -> bytes:
    [image] = backend.generate(task(**fields)).images
    return image.image.tobytes()


def test_a_single_file_loads_through_the_users_path_as_the_folder_it_came_from(
    settings_for, files, make_settings, config_file
):
    settings = settings_for()
    from_file = DiffusersBackend(settings, models=["dream"])
    loaded = from_file.model("dream")
    assert loaded.family == "sd15" and loaded.native_edge == 64
    assert loaded.digest == hashlib.sha256(files["first_file"].read_bytes()).hexdigest()[:10]
    shortcut = make_settings(  # IMAGINE_DIFFUSERS_MODEL, the one-model shortcut, still works
        config_file("[diffusers]\nsteps = 2\nwarmup = false\n"), diffusers_model=str(files["first_folder"])
    )
    from_folder = DiffusersBackend(shortcut)
    assert pixels(from_file, model="dream") == pixels(from_folder)  # the same weights, converted back


def test_two_models_on_one_worker_each_from_its_own_queue(settings_for, redis):
    settings = settings_for("models_on_device = 1\n")
    runtime = build_runtime(settings, redis, "diffusers", models=["dream", "second"])
    core = ImagineCore(settings, redis)
    asked = {
        model: check_request(
            settings,
            RequestOptions(prompt="a fox", model=model, seed=4, size="64x64"),
            requester=Requester(platform="cli", workspace="local", channel="cli", user="alice"),
            event_id=f"two-{model}",
        )
        for model in ("dream", "second")
    }
    for request in asked.values():
        core.submit(request)
    assert redis.llen(f"rq:queue:{queue_name(lane('diffusers', 'dream'))}") == 1
    queues = [queue_name(lane("diffusers", m)) for m in ("dream", "second")]
    serve(runtime, queues, burst=True, name="two-models", logging_level="ERROR")
    done = {}
    for model, request in asked.items():
        [event] = [json.loads(f[b"event"]) for _, f in redis.xrange(keys.events(job_id_for(request)))][-1:]
        assert event["type"] == "done" and event["model"] == model
        done[model] = redis.get(event["images"][0]["key"])
    assert done["dream"] != done["second"]
    meta = read_metadata(done["dream"])
    assert meta["model"] == "dream" and meta["model_hash"] and meta["steps"] == 2
    # beyond models_on_device the least recently used went to RAM, kept for the next switch
    backend = runtime.backend
    assert [m.name for m in backend._loaded.values() if m.on_device] == ["second"]


def test_dropping_the_least_recently_used_model_reads_it_again_on_its_next_job(settings_for):
    backend = DiffusersBackend(settings_for('evict = "drop"\n'), models=["dream", "second"])
    first = pixels(backend, model="dream")
    pixels(backend, model="second")
    assert list(backend._loaded) == ["second"]  # dream was dropped
    assert pixels(backend, model="dream") == first


def test_two_workers_each_take_only_their_models_jobs_and_an_unserved_model_is_refused(
    settings_for, files, processes, redis, config_file
):
    path = config_file(config_text(files))
    env = {"IMAGINE_CONFIG": str(path), "IMAGINE_BACKEND": "diffusers"}
    workers = {
        m: processes.start("worker", "--backend", "diffusers", "--models", m, extra_env=env)
        for m in ("dream", "second")
    }
    settings = settings_for()
    core = ImagineCore(settings, redis)
    wait_until(
        lambda: core.served_models("diffusers") == ["dream", "second"], timeout=60, what="both workers"
    )
    who = Requester(platform="cli", workspace="local", channel="cli", user="bob", channel_nsfw=True)
    jobs = {}
    for model in ("dream", "second"):
        request = check_request(
            settings,
            RequestOptions(prompt="a hare", model=model, size="64x64"),
            requester=who,
            event_id=f"w-{model}",
        )
        jobs[model] = core.submit(request).job_id
    finished = wait_until(
        lambda: all(redis.exists(keys.delivered(j)) for j in jobs.values()) and jobs,
        timeout=60,
        what="both jobs",
    )
    for model, job_id in finished.items():
        job = Job.fetch(job_id, connection=redis, serializer=SERIALIZER)
        assert job.worker_name is not None and job.origin == queue_name(lane("diffusers", model))
    unserved = check_request(
        settings,
        RequestOptions(prompt="a hare", model="spicy", size="64x64"),
        requester=who,
        event_id="w-spicy",
    )
    with pytest.raises(InvalidRequest, match="No worker serves the model spicy") as refused:
        core.queued_text(unserved)
    assert "Models being served: dream, second" in str(refused.value)
    assert all(w.poll() is None for w in workers.values())


def test_a_lora_changes_the_image_and_never_reaches_the_next_job(settings_for):
    settings = settings_for()
    worker = DiffusersBackend(settings, models=["dream"])
    plain = pixels(worker, model="dream")
    with_lora = worker.generate(task(model="dream", loras=(LoraUse(name="ink", weight=1.0),)))
    assert with_lora.images[0].image.tobytes() != plain
    half = pixels(worker, model="dream", loras=(LoraUse(name="ink", weight=0.5),))
    assert half not in (plain, with_lora.images[0].image.tobytes())
    after = pixels(worker, model="dream")  # job B, after job A's LoRA on the same worker
    fresh = pixels(DiffusersBackend(settings, models=["dream"]), model="dream")  # job B on a fresh one
    assert after == fresh == plain
    assert with_lora.parameters["loras"] == [
        {
            "name": "ink",
            "weight": 1.0,
            "hash": hashlib.sha256(
                Path(settings.config.diffusers.loras["ink"].file).read_bytes()
            ).hexdigest()[:10],
        }
    ]


def test_trigger_words_join_the_prompt_and_the_parameters_line_reproduces_the_image(settings_for, redis):
    settings = settings_for()
    runtime = build_runtime(settings, redis, "diffusers", models=["dream"])
    core = ImagineCore(settings, redis)
    request = check_request(
        settings,
        RequestOptions(prompt="a fox", model="dream", lora=("pixel", "ink:0.5"), seed=9, size="64x64"),
        requester=Requester(platform="cli", workspace="local", channel="cli", user="carol"),
        event_id="params",
    )
    assert request.loras == (LoraUse(name="pixel", weight=0.8), LoraUse(name="ink", weight=0.5))
    core.submit(request)
    serve(runtime, [queue_name(lane("diffusers", "dream"))], burst=True, name="params", logging_level="ERROR")
    event = json.loads(redis.xrange(keys.events(job_id_for(request)))[-1][1][b"event"])
    data = redis.get(event["images"][0]["key"])
    line = Image.open(io.BytesIO(data)).text["parameters"]
    prompt, settings_line = line.splitlines()[0], line.splitlines()[-1]
    assert prompt == "a fox <lora:pixel:0.8> <lora:ink:0.5>"
    for part in (
        "Steps: 2",
        "Sampler: ",
        "CFG scale: 7.0",
        "Seed: 9",
        "Size: 64x64",
        "Model: dream",
        "Model hash: ",
        'Lora hashes: "pixel: ',
    ):
        assert part in settings_line


def test_bad_loras_and_models_are_refused_before_queueing_with_what_to_pick(settings_for):
    settings = settings_for()
    who = Requester(platform="discord", workspace="g", channel="c", user="u")

    def ask(**options) -> str:
        with pytest.raises(InvalidRequest) as refused:
            check_request(settings, RequestOptions(prompt="a fox", **options), requester=who, event_id="x")
        return str(refused.value)

    assert "There is no LoRA called “nope”. Choose one of: ink, pixel, xl-only" in ask(lora="nope")
    assert "at most 3" in ask(lora="pixel,ink,xl-only,pixel")
    assert "given twice" in ask(lora=("pixel", "pixel:0.2"))
    assert "not a LoRA weight" in ask(lora="pixel:lots")
    assert "only offered in channels marked NSFW" in ask(model="spicy")
    assert "There is no model called “sdxl-9”" in ask(model="sdxl-9")
    assert "has none configured" in ask(lora="pixel", backend="placeholder")
    nsfw = who.model_copy(update={"channel_nsfw": True})
    assert (
        check_request(
            settings, RequestOptions(prompt="a fox", model="spicy"), requester=nsfw, event_id="y"
        ).model
        == "spicy"
    )
    assert [n for n, _ in offered_models(settings.config, "diffusers", nsfw=False)] == ["dream", "second"]
    assert [n for n, _ in offered_models(settings.config, "diffusers", nsfw=True)] == [
        "dream",
        "second",
        "spicy",
    ]
    assert ("pixel", "pixel — pixel art") in offered_loras(settings.config, nsfw=False)


def test_a_lora_for_another_family_is_refused_before_queueing_or_by_the_worker(
    settings_for, files, make_settings, config_file
):
    declared = make_settings(
        config_file(
            config_text(files).replace(
                'description = "the single file"', 'description = "x"\nfamily = "sd15"'
            )
        ),
        backend="diffusers",
    )
    who = Requester(platform="cli", workspace="local", channel="cli", user="u")
    with pytest.raises(InvalidRequest, match="made for sdxl models; dream is sd15"):
        check_request(
            declared,
            RequestOptions(prompt="a fox", model="dream", lora="xl-only"),
            requester=who,
            event_id="f",
        )
    worker = DiffusersBackend(settings_for(), models=["dream"])  # family detected from the file
    with pytest.raises(InvalidRequest, match="made for sdxl models; dream is sd15"):
        worker.generate(task(model="dream", loras=(LoraUse(name="xl-only", weight=1.0),)))
    broken = settings_for(f'[diffusers.loras.broken]\nfile = "{files["first_file"]}"\n')
    worker = DiffusersBackend(broken, models=["dream"])
    with pytest.raises(InvalidRequest, match="could not be loaded into dream"):
        worker.generate(task(model="dream", loras=(LoraUse(name="broken", weight=1.0),)))
    with pytest.raises(InvalidRequest, match="could not be loaded into dream"):  # after one that loads
        worker.generate(
            task(model="dream", loras=(LoraUse(name="ink", weight=1.0), LoraUse(name="broken", weight=1.0)))
        )
    assert pixels(worker, model="dream") == pixels(DiffusersBackend(broken, models=["dream"]), model="dream")


def test_doctor_checks_every_model_and_lora_without_loading_them(settings_for, files):
    from workers.backends.diffusers.doctor import check as check_diffusers

    missing = (
        '[diffusers.models.gone]\nfile = "/nowhere/x.safetensors"\n'
        '[diffusers.loras.lost]\nfile = "/nowhere/l.safetensors"\n'
    )
    lines = {check.name: check for check in check_diffusers(settings_for(missing))}
    assert lines["diffusers model dream"].ok and "sd15" in lines["diffusers model dream"].detail
    assert lines["diffusers model dream configs"].detail == str(files["first_folder"])
    assert "needs about" in lines["diffusers model dream memory"].detail
    assert lines["diffusers model second"].ok
    assert not lines["diffusers model gone"].ok and "does not exist" in lines["diffusers model gone"].detail
    assert lines["diffusers LoRA pixel"].ok
    assert not lines["diffusers LoRA lost"].ok


def test_a_model_that_does_not_load_leaves_the_others_served_and_is_named_everywhere(
    files, processes, redis, config_file, process_env, tmp_path, make_settings
):
    broken = tmp_path / "broken-folder"  # a pipeline whose UNet was never copied over
    broken.mkdir()
    (broken / "model_index.json").write_text(
        json.dumps({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]})
    )
    path = config_file(config_text(files, f'[diffusers.models.broken]\npath = "{broken}"\n'))
    env = {"IMAGINE_CONFIG": str(path), "IMAGINE_BACKEND": "diffusers"}
    worker = processes.start(
        "worker", "--backend", "diffusers", "--models", "dream,broken,second", extra_env=env
    )

    def health() -> dict:
        result = subprocess.run(
            imagine_command("health", "--json"),
            env={**process_env, **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return json.loads(result.stdout)

    def lanes() -> dict[str, int]:
        return {q["backend"]: q["live_workers"] for q in health()["queues"] if q["live_workers"]}

    served = wait_until(lambda: len(lanes()) == 2 and lanes(), timeout=60, what="the worker's two lanes")
    assert served == {"diffusers.dream": 1, "diffusers.second": 1} and worker.poll() is None
    assert redis.keys("rq:job:*") == []  # no job was ever queued
    [warning] = [w for w in health()["warnings"] if "imagine-diffusers.broken" in w]
    assert "did not load on a worker" in warning and "broken-folder" in warning
    settings = make_settings(path, backend="diffusers")
    core = ImagineCore(settings, redis)
    who = Requester(platform="cli", workspace="local", channel="cli", user="bob")
    asked = check_request(
        settings, RequestOptions(prompt="a hare", model="broken", size="64x64"), requester=who, event_id="b-1"
    )
    with pytest.raises(InvalidRequest, match="could not be loaded on the image workers") as refused:
        core.queued_text(asked)
    assert "Models being served: dream, second" in str(refused.value) and "broken-folder" not in str(
        refused.value
    )
    from workers.backends.diffusers.doctor import check as check_diffusers

    [told] = [c for c in check_diffusers(settings) if c.name == "diffusers model broken on the workers"]
    assert not told.ok and "broken-folder" in told.detail
