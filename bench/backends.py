"""diffusers backend: per-image time against the same pipeline called directly, and the batch speed-up.

    .venv/bin/python bench/backends.py [--shape tiny|sd15] [--size 128] [--steps 10] [--repeats 5]

Builds a randomly initialised pipeline of the given shape in a temporary folder (no download), loads
it through the backend exactly as a worker does, then times, per image (median of --repeats):
  direct    the pipeline's own __call__ with one seeded generator
  backend   DiffusersBackend.generate for one image (seeds, size mapping, generator set-up)
and count=4 in one batched call against four count=1 calls. On CUDA it runs in float16.
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
from shared.config import load_config  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.fakes.tiny_sd import build_pipeline  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.diffusers import DiffusersBackend  # noqa: E402


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


if __name__ == "__main__":
    main()
