"""Every family the loader names, from folders configured as the README says: tiny random SDXL, SD3
and Flux pipelines (tests/fakes/tiny_families.py) served by one worker beside each other, each drawing
text-to-image and image-to-image at the asked size, with a negative prompt and LoRAs that fit or not;
doctor names each folder's family and memory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytest.importorskip("diffusers", reason="the gpu extra is not installed")
pytest.importorskip("peft", reason="the gpu extra is not installed")

from PIL import Image  # noqa: E402

from shared.drawing.request import LoraUse  # noqa: E402
from shared.errors import InvalidRequest  # noqa: E402
from tests.fakes.tiny_families import build_family_lora, build_flux, build_sd3, build_sdxl  # noqa: E402
from tests.fakes.tiny_sd import build_lora, build_pipeline  # noqa: E402
from tests.helpers import imagine_command, wait_until  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.diffusers.backend import DiffusersBackend  # noqa: E402
from workers.backends.diffusers.doctor import check as check_diffusers  # noqa: E402

FAMILIES = {"xl": "sdxl", "sd3": "sd3", "flux": "flux-dev"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    built = {"xl": build_sdxl(root / "xl"), "sd3": build_sd3(root / "sd3"), "flux": build_flux(root / "flux")}
    loras = {
        f"{name}-lora": build_family_lora(folder, root / "loras", seed=5) for name, folder in built.items()
    }
    sd15 = build_pipeline(root / "sd15")
    return {**built, **loras, "sd15-lora": build_lora(sd15, root / "loras", seed=6)}


@pytest.fixture(scope="module")
def backend(folders, tmp_path_factory) -> DiffusersBackend:
    """One worker serving the three families, configured as the README's [diffusers.models.NAME]."""
    from shared.configuration.config import load_config
    from shared.configuration.settings import Settings

    config = tmp_path_factory.mktemp("config") / "imagine.toml"
    config.write_text(config_text(folders))
    settings = Settings(_env_file=None, config_path=config, backend="diffusers")
    settings = settings.model_copy(update={"config": load_config(config)})
    return DiffusersBackend(settings, models=list(FAMILIES))


def config_text(folders: dict[str, Path]) -> str:
    models = "".join(f'[diffusers.models.{name}]\npath = "{folders[name]}"\n' for name in FAMILIES)
    loras = "".join(
        f'[diffusers.loras.{name}]\nfile = "{folders[name]}"\n'
        for name in (*(f"{m}-lora" for m in FAMILIES), "sd15-lora")
    )
    return f"[diffusers]\nsteps = 2\nwarmup = false\nmodels_on_device = 3\n{models}{loras}"


def draw(backend: DiffusersBackend, model: str, **fields) -> Image.Image:
    values = {
        "prompt": "a red fox",
        "width": 64,
        "height": 48,
        "seed": 3,
        "backend": "diffusers",
        "model": model,
    }
    [image] = backend.generate(GenerationTask(**{**values, **fields})).images
    return image.image


@pytest.mark.parametrize("model", list(FAMILIES))
def test_each_family_draws_text_and_image_to_image_at_the_asked_size(backend, model):
    loaded = backend.model(model)
    assert loaded.family == FAMILIES[model]
    first = draw(backend, model)
    assert first.size == (64, 48)
    again = draw(backend, model, init_image=first, strength=0.6)
    assert again.size == (64, 48)  # Flux's and SD3's image-to-image are told the size too
    assert again.tobytes() != first.tobytes()


@pytest.mark.parametrize("model", list(FAMILIES))
def test_each_family_inpaints_through_its_own_pipeline_on_the_same_weights(backend, model):
    first = draw(backend, model)
    mask = Image.new("L", first.size, 0)
    mask.paste(255, (0, 0, first.width // 2, first.height))  # repaint the left half
    painted = draw(backend, model, init_image=first, mask=mask, strength=0.9)
    loaded = backend.model(model)
    assert loaded.inpaint is not None
    assert painted.size == first.size and painted.tobytes() != first.tobytes()
    shared = {id(c) for c in loaded.text2image.components.values()} & {
        id(c) for c in loaded.inpaint.components.values()
    }
    assert len(shared) >= 3  # the same weights: no second copy of the model


def test_sizes_follow_each_familys_grid(backend):
    assert draw(backend, "xl", width=72, height=56).size == (72, 56)  # a UNet: multiples of 8
    assert draw(backend, "flux", width=72, height=56).size == (80, 64)  # packed latents: of 16
    assert draw(backend, "sd3", width=72, height=56).size == (80, 64)


@pytest.mark.parametrize("model", ["sd3", "flux"])
def test_a_negative_prompt_changes_the_pixels_and_what_is_recorded_is_what_was_used(backend, model):
    plain = draw(backend, model)
    result = backend.generate(
        GenerationTask(
            prompt="a red fox", negative="blue", width=64, height=48, seed=3, backend="diffusers", model=model
        )
    )
    assert result.images[0].image.tobytes() != plain.tobytes()
    assert ("true_cfg" in result.parameters) == (model == "flux")  # Flux draws a negative with true CFG


@pytest.mark.parametrize("model", list(FAMILIES))
def test_a_lora_that_fits_changes_the_image_and_one_that_does_not_is_refused_by_name(backend, model):
    plain = draw(backend, model)
    with_lora = draw(backend, model, loras=(LoraUse(name=f"{model}-lora", weight=1.0),))
    assert with_lora.tobytes() != plain.tobytes()
    with pytest.raises(InvalidRequest, match="sd15-lora") as refused:
        draw(backend, model, loras=(LoraUse(name="sd15-lora", weight=1.0),))
    assert "Something went wrong" not in str(refused.value)
    assert draw(backend, model).tobytes() == plain.tobytes()  # nothing of either LoRA stays


def test_doctor_names_each_folders_family_and_its_own_memory_figure(folders, make_settings, config_file):
    settings = make_settings(config_file(config_text(folders)), backend="diffusers")
    checks = {c.name: c for c in check_diffusers(settings)}
    for name, family in FAMILIES.items():
        assert checks[f"diffusers model {name}"].ok
        assert f"a {family} pipeline" in checks[f"diffusers model {name}"].detail
        assert f"of {family} weights" in checks[f"diffusers model {name} memory"].detail
    figures = {checks[f"diffusers model {name} memory"].detail.split(" GiB")[0] for name in FAMILIES}
    assert len(figures) == 3, figures


def test_one_worker_process_serves_the_three_families_through_the_queue(
    folders, processes, process_env, config_file, tmp_path
):
    """As an operator runs it: `imagine worker --models xl,sd3,flux`, then `imagine generate` for
    each model, a Flux one with a negative prompt, and an SD3 one from the Flux picture."""
    env = {"IMAGINE_CONFIG": str(config_file(config_text(folders))), "IMAGINE_BACKEND": "diffusers"}
    worker = processes.start(
        "worker", "--backend", "diffusers", "--models", ",".join(FAMILIES), extra_env=env
    )
    wait_until(
        lambda: processes.log_of(worker).count("loaded diffusers model") == 3 or worker.poll() is not None,
        timeout=120,
        what="the worker's three models",
    )

    def generate(model: str, *options: str) -> Image.Image:
        out = tmp_path / model
        result = subprocess.run(
            imagine_command(
                "generate", "a red fox", "--model", model, "--size", "80x64", "--out", str(out), *options
            ),
            env={**process_env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        [path] = result.stdout.split()
        return Image.open(path)

    flux = generate("flux", "--negative", "blue", "--seed", "2")
    assert flux.size == (80, 64) and "Negative prompt: blue" in flux.info["parameters"]
    assert "True CFG scale: 4" in flux.info["parameters"]  # what drew the negative prompt is recorded
    xl = generate("xl")
    assert xl.size == (80, 64)
    sd3 = generate("sd3", "--image", str(tmp_path / "flux" / Path(flux.filename).name))
    assert sd3.size == (80, 64) and worker.poll() is None
