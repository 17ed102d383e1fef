"""diffusers backend: per-image time against the same pipeline called directly, and the batch speed-up.

    .venv/bin/python bench/backends.py [--shape tiny|sd15] [--size 128] [--steps 10] [--repeats 5]

Builds a randomly initialised pipeline of the given shape in a temporary folder (no download), loads
it through the backend exactly as a worker does, then times, per image (median of --repeats):
  direct    the pipeline's own __call__ with one seeded generator
  backend   DiffusersBackend.generate for one image (seeds, size mapping, generator set-up)
and count=4 in one batched call against four count=1 calls. On CUDA it runs in float16.

Then several models and LoRAs, as an operator configures them: a second model of the same shape,
the first written as a single .safetensors checkpoint and loaded from it, and a LoRA made with peft:
  switch    DiffusersBackend.model(name) when the job's model is not the one on the device
            (models_on_device = 1), for evict = "cpu" (moved between RAM and the device) and
            evict = "drop" (read from disk again), against no switch
  LoRA      one image with a LoRA against the same seed without (the adapter already loaded), and
            the first image that loads it

And pictures that steer, as `[diffusers.ip_adapter]` and `[diffusers.controlnet]` configure them
(an IP-Adapter and a ControlNet of the pipeline's shape, random weights):
  --sref    one image with a style reference against the same seed without: the adapter is put on
            the UNet for the job and taken off after it, so this is its whole per-image cost
  --control one image following a canny ControlNet against the same seed without
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import torch  # noqa: E402

from bench._common import table  # noqa: E402
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.drawing.request import LoraUse  # noqa: E402
from tests.fakes.single_file import write_single_file  # noqa: E402
from tests.fakes.tiny_sd import build_controlnet, build_ip_adapter, build_lora, build_pipeline  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.diffusers.backend import DiffusersBackend  # noqa: E402


def timed(call, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=["tiny", "sd15"], default="tiny")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = build_pipeline(Path(folder), args.shape)
        config = Path(folder) / "imagine.toml"
        config.write_text(f"[diffusers]\nsteps = {args.steps}\nguidance = 7.0\n")
        settings = Settings(_env_file=None, diffusers_model=str(model), config_path=config)
        settings = settings.model_copy(update={"config": load_config(config)})
        started = time.perf_counter()
        backend = DiffusersBackend(settings)
        load_seconds = time.perf_counter() - started
        pipe = backend.model(None).text2image  # the very pipeline the backend drives
        device = pipe.device

        def direct(count: int) -> None:
            generators = [torch.Generator(device=device.type).manual_seed(i) for i in range(count)]
            pipe(
                "a lighthouse",
                width=args.size,
                height=args.size,
                num_inference_steps=args.steps,
                guidance_scale=7.0,
                num_images_per_prompt=count,
                generator=generators,
            )

        def ours(count: int) -> None:
            backend.generate(
                GenerationTask(prompt="a lighthouse", width=args.size, height=args.size, count=count, seed=0)
            )

        direct_one = timed(lambda: direct(1), args.repeats)
        ours_one = timed(lambda: ours(1), args.repeats)
        ours_four_batched = timed(lambda: ours(4), max(1, args.repeats // 2))
        ours_four_single = timed(lambda: [ours(1) for _ in range(4)], max(1, args.repeats // 2))

    print(
        f"shape={args.shape} size={args.size}x{args.size} steps={args.steps} device={device} "
        f"dtype={pipe.dtype} load={load_seconds:.1f}s torch={torch.__version__}"
    )
    print(
        table(
            ["measure", "seconds per image", "ratio"],
            [
                ["pipeline called directly", f"{direct_one:.3f}", "1.00"],
                ["DiffusersBackend.generate", f"{ours_one:.3f}", f"{ours_one / direct_one:.3f}"],
                ["count=4, one batched call", f"{ours_four_batched / 4:.3f}", ""],
                ["4 x count=1", f"{ours_four_single / 4:.3f}", ""],
                ["batch speed-up (4 x 1 / batched 4)", "", f"{ours_four_single / ours_four_batched:.2f}x"],
            ],
        )
    )
    models_and_loras(args)
    steering(args)


def switch_times(backend: DiffusersBackend, repeats: int) -> tuple[float, float]:
    """Median seconds to make the other model the current one, and to ask for the current one."""
    names = iter(["b", "a"] * repeats)
    switch = timed(lambda: backend.model(next(names)), repeats * 2)
    return switch, timed(lambda: backend.model("a"), repeats)


def models_and_loras(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        first, second = (
            build_pipeline(root / "a", args.shape, seed=0),
            build_pipeline(root / "b", args.shape, seed=1),
        )
        single = write_single_file(first, root / "a.safetensors")
        lora = build_lora(first, root / "loras")
        rows = []
        for evict in ("cpu", "drop"):
            config = root / f"{evict}.toml"
            config.write_text(
                f"[diffusers]\nsteps = {args.steps}\nwarmup = false\nmodels_on_device = 1\n"
                f'evict = "{evict}"\n'
                f'[diffusers.models.a]\nfile = "{single}"\nconfig = "{first}"\n'
                f'[diffusers.models.b]\npath = "{second}"\n'
                f'[diffusers.loras.l]\nfile = "{lora}"\n'
            )
            settings = Settings(_env_file=None, config_path=config)
            settings = settings.model_copy(update={"config": load_config(config)})
            backend = DiffusersBackend(settings, models=["a", "b"])
            switch, same = switch_times(backend, args.repeats)
            rows.append([f'switch model, evict = "{evict}"', f"{switch:.4f}", f"{same:.4f}"])
        task = dict(prompt="a lighthouse", width=args.size, height=args.size, count=1, seed=0, model="a")
        with_lora = dict(task, loras=(LoraUse(name="l", weight=0.8),))
        started = time.perf_counter()
        backend.generate(GenerationTask(**with_lora))  # the first use loads the adapter
        first_use = time.perf_counter() - started
        plain = timed(lambda: backend.generate(GenerationTask(**task)), args.repeats)
        lora_image = timed(lambda: backend.generate(GenerationTask(**with_lora)), args.repeats)
    print()
    print(table(["measure", "seconds (median)", "no switch"], rows))
    print()
    print(
        table(
            ["measure", "seconds per image", "overhead"],
            [
                ["without LoRA", f"{plain:.3f}", ""],
                [
                    "with LoRA (adapter loaded)",
                    f"{lora_image:.3f}",
                    f"{(lora_image / plain - 1) * 100:+.1f} %",
                ],
                ["first image with the LoRA (loads it)", f"{first_use:.3f}", ""],
            ],
        )
    )


def steering(args: argparse.Namespace) -> None:
    from PIL import Image

    from shared.drawing.references import Control
    from shared.drawing.sources import SourceImage

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        model = build_pipeline(root / "m", args.shape)
        adapter, encoder = build_ip_adapter(model, root / "ip")
        controlnet = build_controlnet(model, root / "cn")
        config = root / "steer.toml"
        config.write_text(
            f"[diffusers]\nsteps = {args.steps}\n"
            f'[diffusers.models.m]\npath = "{model}"\n'
            f'[diffusers.ip_adapter]\nfile = "{adapter}"\nimage_encoder = "{encoder}"\n'
            f'[diffusers.controlnet]\ncanny = "{controlnet}"\n'
        )
        settings = Settings(_env_file=None, config_path=config)
        settings = settings.model_copy(update={"config": load_config(config)})
        backend = DiffusersBackend(settings)
        picture = Image.radial_gradient("L").convert("RGB")
        task = dict(prompt="a lighthouse", width=args.size, height=args.size, count=1, seed=0)
        styled = dict(task, reference_pictures=[("style", picture)], reference_weight=80)
        control = Control(kind="canny", image=SourceImage(key="bench"))
        followed = dict(task, control=control, control_picture=picture, control_weight=1.0)
        plain = timed(lambda: backend.generate(GenerationTask(**task)), args.repeats)
        with_style = timed(lambda: backend.generate(GenerationTask(**styled)), args.repeats)
        with_control = timed(lambda: backend.generate(GenerationTask(**followed)), args.repeats)
    print()
    print(
        table(
            ["measure", "seconds per image", "overhead"],
            [
                ["plain", f"{plain:.3f}", ""],
                [
                    "--sref (IP-Adapter on and off)",
                    f"{with_style:.3f}",
                    f"{(with_style / plain - 1) * 100:+.1f} %",
                ],
                [
                    "--control canny (ControlNet)",
                    f"{with_control:.3f}",
                    f"{(with_control / plain - 1) * 100:+.1f} %",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
